//go:build linux || darwin || freebsd || netbsd

package vault

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// reuseFixture is a current vault of files written an hour ago (mode 0600), their
// sync state (size, hash, stat key) and a stage beside it.
type reuseFixture struct {
	dir, stage string
	known      []Known
	past       time.Time
}

func newReuseFixture(t *testing.T, files map[string]string) *reuseFixture {
	t.Helper()
	root := t.TempDir()
	f := &reuseFixture{dir: filepath.Join(root, "vault"), stage: filepath.Join(root, "stage"), past: time.Now().Add(-time.Hour)}
	for _, d := range []string{f.dir, f.stage} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, f.past, f.past)
	}
	stats, err := Stats(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		f.known = append(f.known, Known{Path: name, Size: int64(len(content)), SHA256: sum(content), Stat: stats[name]})
	}
	return f
}

// restat records the stat keys the files have now (as if the last sync had
// seen them so), so that only the property under test refuses a link.
func (f *reuseFixture) restat(t *testing.T) {
	t.Helper()
	stats, err := Stats(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.known {
		f.known[i].Stat = stats[f.known[i].Path]
	}
}

// reuse is the Reuse of the fixture as a pull makes it right after the sync:
// recorded hashes trusted for files modified before now.
func (f *reuseFixture) reuse() *Reuse { return NewReuse(f.dir, f.known, time.Now(), time.Now()) }

func rawSum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func sameInode(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Lstat(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Lstat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}

func nlink(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

// TestReuseLinksOnlyCertainMatches: a file whose recorded stat key and hash say
// it holds the entry's content is linked (it shares the inode, keeps its times);
// every other case is refused and leaves nothing in the stage.
func TestReuseLinksOnlyCertainMatches(t *testing.T) {
	f := newReuseFixture(t, map[string]string{
		"same": "content one", "other": "content two", "twice": "content three",
		"open": "content four", "link": "content five",
	})
	// The user linked "twice" elsewhere: its inode must not join the new vault.
	if err := os.Link(filepath.Join(f.dir, "twice"), filepath.Join(filepath.Dir(f.dir), "elsewhere")); err != nil {
		t.Fatal(err)
	}
	// A mode other than the vault's 0600 (linking would share it, or change it).
	if err := os.Chmod(filepath.Join(f.dir, "open"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.restat(t)
	// A symbolic link where the last sync saw a file.
	os.Remove(filepath.Join(f.dir, "link"))
	if err := os.Symlink("same", filepath.Join(f.dir, "link")); err != nil {
		t.Fatal(err)
	}
	r := f.reuse()

	if !r.Link("same", rawSum("content one"), filepath.Join(f.stage, "same")) {
		t.Fatal("a file recorded with the entry's content was not linked")
	}
	if !sameInode(t, filepath.Join(f.dir, "same"), filepath.Join(f.stage, "same")) {
		t.Fatal("the linked file does not share the vault file's inode")
	}
	if fi, _ := os.Stat(filepath.Join(f.stage, "same")); !fi.ModTime().Equal(f.past) || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the linked file has mode %v, time %v", fi.Mode(), fi.ModTime())
	}
	for _, c := range []struct{ name, content, why string }{
		{"other", "another content!", "a different content"},
		{"twice", "content three", "a file with a second name"},
		{"open", "content four", "a file of mode 0644"},
		{"link", "content one", "a symbolic link"},
		{"missing", "content one", "a path the last sync did not record"},
	} {
		dst := filepath.Join(f.stage, c.name)
		if r.Link(c.name, rawSum(c.content), dst) {
			t.Errorf("%s was linked", c.why)
		}
		if _, err := os.Lstat(dst); err == nil {
			t.Errorf("%s left %s in the stage", c.why, c.name)
		}
	}
	if n := nlink(t, filepath.Join(f.dir, "twice")); n != 2 {
		t.Errorf("the file linked elsewhere has %d names", n)
	}
	// Removing a stage name (a later Recover, an aborted swap) drops only that name.
	if err := os.RemoveAll(f.stage); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(f.dir, "same")); err != nil || string(b) != "content one" || nlink(t, filepath.Join(f.dir, "same")) != 1 {
		t.Fatalf("the vault file after the stage was removed: %q %v", b, err)
	}
}

// TestReuseHashesWhatItCannotTrust: a file whose stat key is not the recorded
// one — a same-size rewrite that even restores the modification time — is hashed,
// so it is linked exactly when its content is the entry's, whatever the record
// says; a recorded hash is not trusted for a file modified close to the record
// (racily clean), nor is a file hashed that changed within the last seconds.
func TestReuseHashesWhatItCannotTrust(t *testing.T) {
	f := newReuseFixture(t, map[string]string{"lied": "content AAA", "racy": "content BBB"})
	p := filepath.Join(f.dir, "lied")
	if err := os.WriteFile(p, []byte("content XXX"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, f.past, f.past) // same size, same mtime: only the change time moved
	// Its change time is recent: the hash of the file is not taken yet.
	if f.reuse().Link("lied", rawSum("content XXX"), filepath.Join(f.stage, "lied")) {
		t.Fatal("a file changed within the last seconds was hashed and linked")
	}
	// Later (now is an hour on), it is hashed: the recorded content is refused,
	// the actual one linked.
	later := NewReuse(f.dir, f.known, time.Now(), time.Now().Add(time.Hour))
	if later.Link("lied", rawSum("content AAA"), filepath.Join(f.stage, "lied")) {
		t.Fatal("a file whose stat key changed was linked on its recorded hash")
	}
	if !later.Link("lied", rawSum("content XXX"), filepath.Join(f.stage, "lied")) {
		t.Fatal("a file hashed to the entry's content was not linked")
	}

	// The record says "racy" holds "content ZZZ" (it does not): with the file
	// modified after the racy moment, the record is not trusted.
	for i := range f.known {
		if f.known[i].Path == "racy" {
			f.known[i].SHA256 = sum("content ZZZ")
		}
	}
	if NewReuse(f.dir, f.known, f.past, time.Now().Add(time.Hour)).Link("racy", rawSum("content ZZZ"), filepath.Join(f.stage, "racy")) {
		t.Fatal("the recorded hash of a racily clean file was trusted")
	}
	// (Before the racy moment the record is trusted without reading the file,
	// which is what makes linking cheap; the made-up hash shows it.)
	if !NewReuse(f.dir, f.known, time.Now(), time.Now()).Link("racy", rawSum("content ZZZ"), filepath.Join(f.stage, "racy")) {
		t.Fatal("a recorded hash with its stat key was not trusted")
	}
}

// TestReuseVerified: after the swap, a linked file gets the stat key it has
// then, once read and found to hold the recorded content; one changed since the
// link gets none, even when its size and modification time are as before.
func TestReuseVerified(t *testing.T) {
	f := newReuseFixture(t, map[string]string{"a": "content one", "b": "content two", "c": "content six"})
	r := f.reuse()
	for _, p := range []string{"a", "b"} {
		if !r.Link(p, rawSum(map[string]string{"a": "content one", "b": "content two"}[p]), filepath.Join(f.stage, p)) {
			t.Fatalf("%s not linked", p)
		}
	}
	// The swap: the old names go.
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(f.stage, "b")
	if err := os.WriteFile(pb, []byte("content TWO"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(pb, f.past, f.past)
	keys := r.Verified(f.stage, []File{
		{Path: "a", Size: 11, SHA256: sum("content one")},
		{Path: "b", Size: 11, SHA256: sum("content two")},
		{Path: "c", Size: 11, SHA256: sum("content six")},
	})
	stats, err := Stats(f.stage)
	if err != nil {
		t.Fatal(err)
	}
	if keys["a"] == "" || keys["a"] != stats["a"] {
		t.Errorf("linked, unchanged file: key %q, its stat key is %q", keys["a"], stats["a"])
	}
	if k, ok := keys["b"]; !ok || k != "" {
		t.Errorf("a linked file changed since: key %q (listed: %v)", k, ok)
	}
	if _, ok := keys["c"]; ok {
		t.Error("a file that was not linked got a key")
	}
}

// TestReuseOtherFileSystem: where the stage is on another file system the link
// fails (EXDEV), the file is left to be written, and linking stops there.
func TestReuseOtherFileSystem(t *testing.T) {
	f := newReuseFixture(t, map[string]string{"a": "content one", "b": "content two"})
	other, err := os.MkdirTemp("/dev/shm", "reuse")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(other)
	var a, b syscall.Stat_t
	if syscall.Stat(other, &a) != nil || syscall.Stat(f.dir, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the test's file system")
	}
	r := f.reuse()
	if r.Link("a", rawSum("content one"), filepath.Join(other, "a")) {
		t.Fatal("linked across file systems")
	}
	if r.Candidate("b", 11) {
		t.Fatal("still offering links after EXDEV")
	}
}
