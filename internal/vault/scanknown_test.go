package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/state"
)

func TestScanKnownTrustsOnlyAnUnchangedStat(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd":
	default:
		t.Skip("no stat keys on " + runtime.GOOS + ": every scan hashes")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a")
	if err := os.WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-10 * time.Second)
	os.Chtimes(p, past, past)
	stats, err := Stats(dir)
	if err != nil || stats["a"] == "" {
		t.Fatalf("no stat recorded: %v %v", stats, err)
	}
	known := []Known{{Path: "a", SHA256: "recorded-hash", Stat: stats["a"]}}
	now := time.Now()

	// Same stat, modified before the racy moment: the recorded hash is reused
	// (the file is not read, so the made-up hash comes back).
	got, err := ScanKnown(dir, known, now)
	if err != nil || got[0].SHA256 != "recorded-hash" {
		t.Fatalf("stat cache not used: %+v %v", got, err)
	}
	// Modified at or after the racy moment: always hashed.
	got, _ = ScanKnown(dir, known, past)
	if got[0].SHA256 == "recorded-hash" {
		t.Fatal("a racily clean file was trusted")
	}
	// A rewrite with the same size that even restores the modification time is
	// still seen (the change time moves).
	if err := os.WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, past, past)
	got, _ = ScanKnown(dir, known, now)
	if got[0].SHA256 == "recorded-hash" {
		t.Fatal("a same-size rewrite with a restored mtime went unseen")
	}
	plain, _ := Scan(dir)
	if got[0].SHA256 != plain[0].SHA256 {
		t.Fatal("ScanKnown and Scan disagree on a changed file")
	}
}

// TestEachStat: a listing hands every entry in path order with the stat keys
// Stats records, and says the keys do not vouch for the contents when a file
// was modified at or after the racy moment.
func TestEachStat(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd":
	default:
		t.Skip("no stat keys on " + runtime.GOOS)
	}
	dir := t.TempDir()
	past := time.Now().Add(-time.Minute)
	for _, p := range []string{"b", "a-c", "a/x"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o700)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(filepath.Join(dir, p), past, past)
	}
	stats, err := Stats(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	ok, err := StartListing(dir).EachStat(time.Now(), func(path string, dir bool, size int64, key []uint64) {
		if dir {
			got = append(got, path+"/")
			return
		}
		// The fields of the key the state records, as the state reads them.
		if want, ok := state.KeyFields(stats[path], nil); !ok || !reflect.DeepEqual(key, want) || size != int64(len(path)) {
			t.Errorf("%s: size %d key %v, Stats %q", path, size, key, stats[path])
		}
		got = append(got, path)
	})
	if !ok || err != nil || strings.Join(got, " ") != "a/ a-c a/x b" {
		t.Fatalf("EachStat: %v %v %q", ok, err, got)
	}
	os.Chtimes(filepath.Join(dir, "a-c"), time.Now(), time.Now())
	got = nil
	ok, err = StartListing(dir).EachStat(time.Now().Add(-time.Second), func(path string, _ bool, _ int64, _ []uint64) { got = append(got, path) })
	if ok || err != nil || strings.Join(got, " ") != "a" {
		t.Fatalf("a racily clean file: %v %v %q", ok, err, got)
	}
	if ok, err := StartListing(filepath.Join(dir, "gone")).EachStat(time.Now(), func(string, bool, int64, []uint64) {}); ok || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing vault: %v %v", ok, err)
	}
}
