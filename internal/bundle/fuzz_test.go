package bundle

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary bytes to Extract: it must not panic, must write nothing
// outside destDir, must leave nothing behind when it fails, must create only regular
// files and folders, and what it reports must be what is on disk.
func FuzzExtract(f *testing.F) {
	small := map[string]string{".env.dev": "A=1\n", "tls/k.pem": "key", "tls/e/": "/", "ü/ф": "x"}
	f.Add(archive(f, newVault(f, small), "infra/vault/dev"))
	f.Add(archive(f, newVault(f, map[string]string{".env.dev": "A=1\n", "e/": "/"}), "apps/web/infra/vault/dev"))
	f.Add(buildZip(f, []zent{{name: "x/y/.env", body: "A=1"}}))
	f.Add(buildZip(f, nil))
	for _, c := range hostileCases(f) {
		if c.data != nil {
			f.Add(c.data)
		} else if len(c.ents) > 0 && len(c.ents[0].name) < 200 {
			f.Add(buildZip(f, c.ents))
		}
	}
	lim := Limits{MaxEntries: 64, MaxTotalBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		tmp := t.TempDir()
		dest := filepath.Join(tmp, "dest")
		files, err := Extract(data, dest, lim)

		// Nothing but dest may appear in tmp.
		names := dirNames(t, tmp)
		if err != nil {
			var he *HostileError
			if !errors.As(err, &he) {
				// Only file system errors remain (names the OS cannot hold).
				t.Logf("non-hostile error: %v", err)
			}
			if len(names) != 0 {
				t.Fatalf("failed Extract left %q behind", names)
			}
			return
		}
		if !reflect.DeepEqual(names, []string{"dest"}) {
			t.Fatalf("Extract wrote outside destDir: %q", names)
		}
		var onDisk []string
		filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if d.Type() != 0 && d.Type() != fs.ModeDir {
				t.Fatalf("Extract created %s of type %v", p, d.Type())
			}
			rel, _ := filepath.Rel(dest, p)
			if rel != "." {
				// "..A.." is a name inside dest; only ".." as a component leaves it.
				if !filepath.IsLocal(rel) {
					t.Fatalf("walk left dest: %s", p)
				}
				onDisk = append(onDisk, filepath.ToSlash(rel))
			}
			return nil
		})
		sort.Strings(onDisk)
		var reported []string
		var total int64
		for _, f := range files {
			reported = append(reported, f.Path)
			total += f.Size
		}
		if !reflect.DeepEqual(onDisk, reported) {
			t.Fatalf("reported %q, on disk %q", reported, onDisk)
		}
		if total > lim.MaxTotalBytes {
			t.Fatalf("limits crossed: %d bytes", total)
		}
		if _, err := os.Stat(dest); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzReadAt feeds arbitrary bytes to ReadAt (the in-memory reader of `run --remote`
// and the vsync package): it must not panic, must stay within the limits, and must
// accept exactly what Extract accepts, with the same contents.
func FuzzReadAt(f *testing.F) {
	f.Add(archive(f, newVault(f, map[string]string{".env.dev": "A=1\n", "tls/k.pem": "key", "e/": "/"}), "infra/vault/dev"))
	f.Add(buildZip(f, []zent{{name: "x/y/.env", body: "A=1"}}))
	for _, c := range hostileCases(f) {
		if c.data != nil {
			f.Add(c.data)
		}
	}
	lim := Limits{MaxEntries: 64, MaxTotalBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := ReadAt(strings.NewReader(string(data)), int64(len(data)), lim)
		dest := filepath.Join(t.TempDir(), "dest")
		extracted, xerr := Extract(data, dest, lim)
		if err != nil {
			var he *HostileError
			if !errors.As(err, &he) {
				t.Fatalf("ReadAt error is not a HostileError: %v", err)
			}
			if xerr == nil {
				t.Fatalf("ReadAt refused (%v) what Extract accepted", err)
			}
			return
		}
		if xerr != nil {
			var he *HostileError
			if errors.As(xerr, &he) {
				t.Fatalf("Extract refused (%v) what ReadAt accepted", xerr)
			}
			return // a name this OS cannot hold
		}
		var total int64
		n := 0
		for _, x := range extracted {
			if !x.Dir {
				n++
			}
		}
		if n != len(files) {
			t.Fatalf("ReadAt gave %d files, Extract %d", len(files), n)
		}
		for _, f := range files {
			total += int64(len(f.Data))
			disk, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(f.Path)))
			if err != nil || string(disk) != string(f.Data) {
				t.Fatalf("%s: ReadAt and Extract disagree (%v)", f.Path, err)
			}
		}
		if total > lim.MaxTotalBytes {
			t.Fatalf("ReadAt returned %d bytes, over the limit", total)
		}
	})
}
