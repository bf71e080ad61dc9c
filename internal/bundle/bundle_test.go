package bundle

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/testenv"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// binary is 70 KiB of every byte value in a fixed pseudo-random order.
var binary = func() string {
	r := rand.New(rand.NewSource(1))
	b := make([]byte, 70<<10)
	for i := range b {
		b[i] = byte(i)
	}
	r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	return string(b)
}()

// sample is a vault with nested and empty folders, dotfiles, binary content and
// unicode names. Values "/" are folders.
var sample = map[string]string{
	".env.dev":                  "API_KEY=abc\nDB=postgres://u:p@h/db\n",
	".hidden/.inner":            "dot in dot",
	"tls/server.crt":            "-----BEGIN CERTIFICATE-----\n",
	"tls/private/server.key":    binary,
	"tls/empty/":                "/",
	"empty-top/":                "/",
	"a-b":                       "sorts before a/ as text",
	"a/z":                       "",
	"ünïcode/ключ-🔑.json":       `{"k":"v"}`,
	"deep/1/2/3/4/5/6/file.bin": binary[:1000],
}

func newVault(t testing.TB, tree map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "dev")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.WriteTree(t, dir, tree)
	return dir
}

func archive(t testing.TB, vaultDir, root string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, vaultDir, root); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func scan(t testing.TB, dir string) []vault.File {
	t.Helper()
	files, err := vault.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameFiles(t testing.TB, what string, got, want []vault.File) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// chtimesAll sets the modification time of everything below dir, dir included.
func chtimesAll(dir string, tm time.Time) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		os.Chtimes(p, tm, tm)
		return nil
	})
}

func TestWriteDeterministic(t *testing.T) {
	v1 := newVault(t, sample)
	v2 := newVault(t, sample) // another folder, other inode order
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	chtimesAll(v1, old)
	chtimesAll(v2, old)
	a := archive(t, v1, "infra/vault/dev")
	if b := archive(t, v1, "infra/vault/dev/"); !bytes.Equal(a, b) {
		t.Fatal("two writes of the same vault differ")
	}
	if b := archive(t, v2, "infra/vault/dev"); !bytes.Equal(a, b) {
		t.Fatal("the same content with the same times in another folder gives other bytes")
	}
	// Other times give other bytes, and the same content hashes.
	chtimesAll(v2, old.Add(time.Hour))
	var b bytes.Buffer
	f2, err := WriteScan(&b, v2, "infra/vault/dev")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b.Bytes()) {
		t.Fatal("the archive ignores modification times")
	}
	var b1 bytes.Buffer
	f1, _ := WriteScan(&b1, v1, "infra/vault/dev")
	sameFiles(t, "listings of the same content with other times", f2, f1)

	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(old) {
			t.Errorf("%s: modified %v, want the file's time %v", f.Name, f.Modified, old)
		}
		want := fs.FileMode(0o600)
		if strings.HasSuffix(f.Name, "/") {
			want = fs.ModeDir | 0o700
		} else if strings.HasSuffix(f.Name, "server.key") && f.Method != zip.Store {
			t.Errorf("%s: incompressible content with method %d, want stored", f.Name, f.Method)
		}
		if f.Mode() != want || f.CreatorVersion>>8 != 3 {
			t.Errorf("%s: mode %v creator %d", f.Name, f.Mode(), f.CreatorVersion>>8)
		}
	}
	want := []string{
		"infra/vault/dev/",
		"infra/vault/dev/.env.dev",
		"infra/vault/dev/.hidden/",
		"infra/vault/dev/.hidden/.inner",
		"infra/vault/dev/a/",
		"infra/vault/dev/a-b",
		"infra/vault/dev/a/z",
		"infra/vault/dev/deep/",
		"infra/vault/dev/deep/1/",
		"infra/vault/dev/deep/1/2/",
		"infra/vault/dev/deep/1/2/3/",
		"infra/vault/dev/deep/1/2/3/4/",
		"infra/vault/dev/deep/1/2/3/4/5/",
		"infra/vault/dev/deep/1/2/3/4/5/6/",
		"infra/vault/dev/deep/1/2/3/4/5/6/file.bin",
		"infra/vault/dev/empty-top/",
		"infra/vault/dev/tls/",
		"infra/vault/dev/tls/empty/",
		"infra/vault/dev/tls/private/",
		"infra/vault/dev/tls/private/server.key",
		"infra/vault/dev/tls/server.crt",
		"infra/vault/dev/ünïcode/",
		"infra/vault/dev/ünïcode/ключ-🔑.json",
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("entries:\n got %q\nwant %q", names, want)
	}
}

// fileTimes is path → modification time (to the second) of every file below dir.
func fileTimes(t testing.TB, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, _ := d.Info()
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = fi.ModTime().Truncate(time.Second)
		}
		return nil
	})
	return out
}

func TestRoundTrip(t *testing.T) {
	src := newVault(t, sample)
	// Every file its own time: the archive carries each one, and Extract sets it.
	i := 0
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		i++
		tm := time.Date(2024, 5, 6, 7, 8, i, 500, time.UTC)
		os.Chtimes(p, tm, tm)
		return nil
	})
	var b bytes.Buffer
	scanned, err := WriteScan(&b, src, "infra/vault/dev")
	if err != nil {
		t.Fatal(err)
	}
	want := scan(t, src)
	sameFiles(t, "WriteScan", scanned, want)

	dest := filepath.Join(t.TempDir(), "stage")
	got, err := Extract(b.Bytes(), dest, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "Extract result", got, want)
	hashed, err := HashAt(bytes.NewReader(b.Bytes()), int64(b.Len()), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "HashAt", hashed, want)
	sameFiles(t, "Scan after Extract", scan(t, dest), want)
	if got, want := fileTimes(t, dest), fileTimes(t, src); !reflect.DeepEqual(got, want) || len(want) == 0 {
		t.Fatalf("times after Extract:\n got %v\nwant %v", got, want)
	}
	if runtime.GOOS != "windows" {
		filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			fi, _ := os.Lstat(p)
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = fs.ModeDir | 0o700
			}
			if fi.Mode() != want {
				t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
			}
			return nil
		})
	}

	entries, err := List(b.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("List: %d entries, want %d", len(entries), len(want))
	}
	for i, e := range entries {
		if e.Path != want[i].Path || e.Dir != want[i].Dir || e.Size != want[i].Size {
			t.Errorf("List[%d] = %+v, want %+v", i, e, want[i])
		}
	}
}

func TestExtractIntoExistingEmptyAndRefuseNonEmpty(t *testing.T) {
	data := archive(t, newVault(t, sample), "infra/vault/dev")
	dest := t.TempDir()
	if _, err := Extract(data, dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Extract(data, dest, Limits{}); err == nil {
		t.Fatal("Extract into a non-empty folder succeeded")
	}
}

func TestTeammateRoot(t *testing.T) {
	src := newVault(t, sample)
	want := scan(t, src)
	data := archive(t, src, "apps/web/infra/vault/dev")
	dest := filepath.Join(t.TempDir(), "dev")
	if _, err := Extract(data, dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "teammate archive", scan(t, dest), want)
}

func TestRootWithoutFolderEntry(t *testing.T) {
	cases := []struct {
		name string
		ents []zent
		want []vault.File
	}{
		{"single file", []zent{{name: "infra/vault/dev/.env.dev", body: "A=1"}},
			[]vault.File{{Path: ".env.dev", Size: 3, SHA256: sha("A=1")}}},
		{"common parent", []zent{
			{name: "apps/web/infra/vault/dev/sub/b", body: "b"},
			{name: "apps/web/infra/vault/dev/a", body: "a"},
		}, []vault.File{
			{Path: "a", Size: 1, SHA256: sha("a")},
			{Path: "sub", Dir: true},
			{Path: "sub/b", Size: 1, SHA256: sha("b")},
		}},
		{"top level file", []zent{{name: "x", body: "x"}},
			[]vault.File{{Path: "x", Size: 1, SHA256: sha("x")}}},
		{"folder entry that is not the root", []zent{
			{name: "v/sub/", dir: true},
			{name: "v/f", body: "f"},
		}, []vault.File{
			{Path: "f", Size: 1, SHA256: sha("f")},
			{Path: "sub", Dir: true},
		}},
		{"empty archive", nil, []vault.File{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "dev")
			got, err := Extract(buildZip(t, c.ents), dest, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			sameFiles(t, "Extract", got, c.want)
			sameFiles(t, "Scan", scan(t, dest), nilIfEmpty(c.want))
		})
	}
}

func nilIfEmpty(f []vault.File) []vault.File {
	if len(f) == 0 {
		return nil
	}
	return f
}

// TestInfoZipUnzip checks that Info-ZIP unzip reads what Write produces, without
// warnings, into the same files.
func TestInfoZipUnzip(t *testing.T) {
	unzip := testenv.NeedCommand(t, "unzip")
	src := newVault(t, sample)
	chtimesAll(src, time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC))
	tmp := t.TempDir()
	zipPath := filepath.Join(tmp, "b.zip")
	if err := os.WriteFile(zipPath, archive(t, src, "infra/vault/dev"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "top")
	cmd := exec.Command(unzip, "-q", zipPath, "-d", out)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if b, err := cmd.CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("unzip: %v\n%s", err, b)
	}
	cmd = exec.Command(unzip, "-tq", zipPath)
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, b)
	}
	sameFiles(t, "unzip", scan(t, filepath.Join(out, "infra", "vault", "dev")), scan(t, src))
	if got, want := fileTimes(t, filepath.Join(out, "infra", "vault", "dev")), fileTimes(t, src); !reflect.DeepEqual(got, want) {
		t.Fatalf("times after unzip:\n got %v\nwant %v", got, want)
	}
	if names := dirNames(t, out); !reflect.DeepEqual(names, []string{"infra"}) {
		t.Fatalf("unzip wrote %q at the top", names)
	}
}

// TestInfoZipArchive extracts an archive made by Info-ZIP zip -r from a repository top.
func TestInfoZipArchive(t *testing.T) {
	zipCmd := testenv.NeedCommand(t, "zip")
	top := t.TempDir()
	v := filepath.Join(top, "infra", "vault", "dev")
	testenv.WriteTree(t, v, sample)
	zipPath := filepath.Join(t.TempDir(), "teammate.zip")
	cmd := exec.Command(zipCmd, "-q", "-r", zipPath, "infra/vault/dev")
	cmd.Dir = top
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, b)
	}
	data, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "dev")
	got, err := Extract(data, dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := scan(t, v)
	sameFiles(t, "Extract of zip -r", got, want)
	sameFiles(t, "Scan after Extract of zip -r", scan(t, dest), want)
}

func TestWriteRefuses(t *testing.T) {
	t.Run("symlink", func(t *testing.T) {
		v := newVault(t, map[string]string{"real": "x"})
		if err := os.Symlink("real", filepath.Join(v, "link")); err != nil {
			t.Skipf("no symlinks: %v", err)
		}
		wantCode(t, Write(&bytes.Buffer{}, v, "infra/vault/dev"), fail.Refused, `"link"`)
	})
	t.Run("case duplicates", func(t *testing.T) {
		v := newVault(t, map[string]string{"Key.pem": "1"})
		if err := os.WriteFile(filepath.Join(v, "key.pem"), []byte("2"), 0o600); err != nil {
			t.Fatal(err)
		}
		if len(dirNames(t, v)) != 2 {
			t.Skip("case-insensitive file system")
		}
		wantCode(t, Write(&bytes.Buffer{}, v, "infra/vault/dev"), fail.Refused, `"key.pem"`)
	})
	t.Run("backslash", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no backslashes in Windows names")
		}
		v := newVault(t, map[string]string{`a\b`: "1"})
		wantCode(t, Write(&bytes.Buffer{}, v, "infra/vault/dev"), fail.Refused, `"a\\b"`)
	})
	t.Run("bad root", func(t *testing.T) {
		v := newVault(t, nil)
		for _, root := range []string{"", "/abs", "../up", `a\b`, "a//b"} {
			if err := Write(&bytes.Buffer{}, v, root); err == nil {
				t.Errorf("root %q accepted", root)
			}
		}
	})
	t.Run("missing", func(t *testing.T) {
		err := Write(&bytes.Buffer{}, filepath.Join(t.TempDir(), "nope"), "infra/vault/dev")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("want ErrNotExist, got %v", err)
		}
	})
}

func TestLimitsCheck(t *testing.T) {
	files := []vault.File{{Path: "a", Size: 600}, {Path: "b", Size: 600}}
	if err := (Limits{MaxEntries: 3, MaxTotalBytes: 1200}).Check(files); err != nil {
		t.Fatal(err)
	}
	wantCode(t, Limits{MaxEntries: 2}.Check(files), fail.Refused, "")
	wantCode(t, Limits{MaxTotalBytes: 1199}.Check(files), fail.Refused, "")
	if DefaultLimits.MaxEntries != 100_000 || DefaultLimits.MaxTotalBytes != 256<<20 {
		t.Fatal("DefaultLimits changed")
	}
}

func wantCode(t *testing.T, err error, code fail.Code, mention string) {
	t.Helper()
	var fe *fail.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("want a fail.Error with code %d, got %v", code, err)
	}
	if !strings.Contains(fe.What, mention) {
		t.Fatalf("message %q does not mention %s", fe.What, mention)
	}
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// treeListing describes everything below dir (paths, kinds, sizes), to check that a
// refused Extract changed nothing.
func treeListing(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			out = append(out, "error "+p)
			return nil
		}
		fi, _ := d.Info()
		out = append(out, p+" "+fi.Mode().String()+" "+string(rune('0'+fi.Size()%10)))
		return nil
	})
	sort.Strings(out)
	return out
}

// ListAt and ExtractAt read an archive from a file, not from memory.
func TestExtractAtFile(t *testing.T) {
	src := newVault(t, sample)
	data := archive(t, src, "infra/vault/dev")
	f, err := os.CreateTemp(t.TempDir(), "zip-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The archive sits inside a larger file, as the zip inside a bundle does.
	if _, err := f.Write(append(append([]byte("RQEM0001 header"), data...), "trailer"...)); err != nil {
		t.Fatal(err)
	}
	r := io.NewSectionReader(f, int64(len("RQEM0001 header")), int64(len(data)))
	want := scan(t, src)
	entries, err := ListAt(r, r.Size(), DefaultLimits)
	if err != nil || len(entries) != len(want) {
		t.Fatalf("ListAt: %d entries, %v", len(entries), err)
	}
	dest := filepath.Join(t.TempDir(), "stage")
	got, err := ExtractAt(r, r.Size(), dest, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "ExtractAt result", got, want)
	sameFiles(t, "Scan after ExtractAt", scan(t, dest), want)
	// A truncated archive is refused as before.
	if _, err := ListAt(r, r.Size()-10, DefaultLimits); fail.CodeOf(err) != fail.Integrity {
		t.Fatalf("truncated: %v", err)
	}
}
