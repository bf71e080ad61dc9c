package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestListManyFiles: a vault large enough to be stated by several goroutines lists
// every file with its own size and stat key, in path order, and a background
// listing (StartListing) scans exactly like ScanKnown.
func TestListManyFiles(t *testing.T) {
	dir := t.TempDir()
	const n = 700
	for i := 0; i < n; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%7))
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d", i)), []byte(strings.Repeat("x", i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	es, err := listEntries(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != n+7 {
		t.Fatalf("%d entries, want %d", len(es), n+7)
	}
	seen := map[string]bool{}
	for i, e := range es {
		if i > 0 && es[i-1].Path >= e.Path {
			t.Fatalf("not in path order: %q then %q", es[i-1].Path, e.Path)
		}
		if e.Dir {
			continue
		}
		var k int
		fmt.Sscanf(filepath.Base(e.Path), "f%04d", &k)
		if e.st.size != int64(k) || e.st.mtime == 0 {
			t.Fatalf("%s: size %d, want %d (mtime %d)", e.Path, e.st.size, k, e.st.mtime)
		}
		if key := e.statKey(); key != "" && seen[key] {
			t.Fatalf("%s: stat key %q seen twice", e.Path, key)
		} else {
			seen[key] = true
		}
	}
	racy := time.Now().Add(time.Hour)
	want, err := ScanForChanges(dir, nil, racy)
	if err != nil {
		t.Fatal(err)
	}
	got, err := StartListing(dir).ScanForChanges(nil, racy)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("background listing differs: %v", err)
	}
	for _, f := range got {
		if f.SHA256 != "" {
			t.Fatalf("%s: a file the last sync did not list was read", f.Path)
		}
	}
	// Known files whose stat is not trusted are read; the others are not.
	known := []Known{{Path: "d1/f0001", SHA256: "kept", Stat: es[indexOf(es, "d1/f0001")].statKey()}, {Path: "d0/f0000", SHA256: "stale", Stat: "other"}} // out of order: sorted by the scan
	got, err = ScanForChanges(dir, known, racy)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		want := map[string]string{"d0/f0000": sha256Hex(""), "d1/f0001": "kept"}[f.Path]
		if f.SHA256 != want {
			t.Fatalf("%s: hash %q, want %q", f.Path, f.SHA256, want)
		}
	}
	if _, err := StartListing(filepath.Join(dir, "missing")).ScanForChanges(nil, racy); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing vault: %v", err)
	}
}

// statKey is the entry's recorded form of its stamp: "" for folders and where the
// platform gives no change time.
func (e *entry) statKey() string {
	if !e.keyed {
		return ""
	}
	return e.st.key()
}

func indexOf(es []*entry, p string) int {
	for i, e := range es {
		if e.Path == p {
			return i
		}
	}
	return -1
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestListingLocalOnly: the background listing names the local-only entries as
// LocalOnly does, from its one walk.
func TestListingLocalOnly(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.local", "sub/b.local", "sub/keep", ".env.dev.local", "keep"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := LocalOnly(dir)
	if err != nil || len(want) != 3 {
		t.Fatalf("LocalOnly: %v %v", want, err)
	}
	if got := StartListing(dir).LocalOnly(); !reflect.DeepEqual(got, want) {
		t.Fatalf("listing: %v, want %v", got, want)
	}
}
