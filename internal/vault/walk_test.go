package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

// TestStatChunkRefusesAReplacedEntry: a file that turns into a link, or goes
// away, between the listing of its folder and its lstat is refused or reported,
// never stated as the file it was.
func TestStatChunkRefusesAReplacedEntry(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, map[string]string{"sub/a": "x", "sub/b": "y", "sub/gone": "z"})
	abs := filepath.Join(dir, "sub")
	f, err := openFolder(abs)
	if err != nil {
		t.Fatal(err)
	}
	d := newOpenDir(f, abs, "sub")
	defer d.release()
	ents := func(names ...string) *chunk {
		c := &chunk{d: d}
		for _, n := range names {
			c.ents = append(c.ents, &entry{Path: "sub/" + n})
		}
		return c
	}
	c := ents("a", "b")
	if err := statChunk(c); err != nil || c.ents[0].st.size != 1 || c.ents[0].st.mtime == 0 || c.ents[0].keyed != haveStatKeys {
		t.Fatalf("plain files: %v %+v", err, c.ents[0])
	}
	if err := os.Remove(filepath.Join(abs, "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(abs, "b")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	wantRefused(t, statChunk(ents("a", "b")), `"sub/b" is a symbolic link`)
	if err := os.Remove(filepath.Join(abs, "gone")); err != nil {
		t.Fatal(err)
	}
	if err := statChunk(ents("gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file gone since the listing: %v", err)
	}
}

// TestWalkFilesAfterSubfolders: files that come after a subfolder in name order
// (the walk let go of their folder while it was below) are listed and stated,
// at every level of a deep tree.
func TestWalkFilesAfterSubfolders(t *testing.T) {
	dir := t.TempDir()
	tree := map[string]string{}
	p := ""
	for i := range 30 {
		tree[p+"b"] = strings.Repeat("x", i)
		tree[p+"c"] = "y"
		p += "a/"
	}
	testenv.WriteTree(t, dir, tree)
	es, err := listEntries(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, e := range es {
		if e.Dir {
			continue
		}
		files++
		if want := int64(len(tree[e.Path])); e.st.size != want || e.keyed != haveStatKeys || e.st.mtime == 0 {
			t.Fatalf("%s: size %d, want %d (%+v)", e.Path, e.st.size, want, e)
		}
	}
	if files != len(tree) {
		t.Fatalf("%d files listed, want %d", files, len(tree))
	}
}
