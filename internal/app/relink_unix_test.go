//go:build linux || darwin || freebsd || netbsd

package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// inodes is path → inode of every file below dir.
func inodes(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Nlink != 1 {
			t.Errorf("%s has %d names", p, st.Nlink)
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = uint64(st.Ino)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// linksHere: vault.Reuse links on this platform.
const linksHere = true

// oneNameEach fails unless every file below dir has exactly one name.
func oneNameEach(t *testing.T, dir string) {
	t.Helper()
	inodes(t, dir)
}

// linkedFiles lists the files of after that kept their inode of before.
func linkedFiles(before, after map[string]uint64) []string {
	var out []string
	for p, ino := range after {
		if before[p] == ino {
			out = append(out, p)
		}
	}
	return out
}

// TestPullForceLinksUnchangedFiles: `pull --force` over a vault that differs from
// the version in one file links every other file from the vault it replaces
// (same inode, one name once the old vault is gone), writes the edited one again,
// keeps the edit in the backup, records stat keys that match the disk (the next
// check hashes nothing and finds the vault clean) and still sees a later
// same-size edit of a linked file that restores its modification time. Restoring
// the backup links the same way.
func TestPullForceLinksUnchangedFiles(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	for i := range 6 {
		a.write("dev", fmt.Sprintf("d/f%d", i), strings.Repeat(fmt.Sprint(i), 40<<10))
	}
	a.write("dev", "big", strings.Repeat("b", 1<<20+5))
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	key, err := m.kc.Get(bg, keychain.Account("acme_web", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	m.env["VSYNC_KEY_DEV"] = key
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	version := tree(t, b.vault("dev"))
	b.write("dev", "d/f0", strings.Repeat("E", 40<<10)) // a local edit, same size
	edited := tree(t, b.vault("dev"))
	before := inodes(t, b.vault("dev"))

	res, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, b.vault("dev")), version)
	after := inodes(t, b.vault("dev"))
	linked := linkedFiles(before, after)
	if len(linked) != len(after)-1 || after["d/f0"] == before["d/f0"] {
		t.Fatalf("linked %v of %d files; the edited d/f0 must be written again", linked, len(after))
	}
	e, err := b.app.OpenEnv(b.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	aesKey, _, _, err := e.Key(bg)
	if err != nil {
		t.Fatal(err)
	}
	bk := newestBackup(t, e)
	if bk.Path != res.Backup {
		t.Fatalf("backup %s, pull said %s", bk.Path, res.Backup)
	}
	sameTree(t, backupTree(t, e, aesKey, bk), edited)

	// The state records what is on disk: every stat key is the file's own.
	st, err := e.State()
	if err != nil {
		t.Fatal(err)
	}
	stats, err := vault.Stats(b.vault("dev"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Files {
		if !f.Dir && (f.Stat == "" || f.Stat != stats[f.Path]) {
			t.Errorf("%s: state records stat key %q, the file has %q", f.Path, f.Stat, stats[f.Path])
		}
	}
	if _, changes, err := e.Changes(st); err != nil || len(changes) > 0 {
		t.Fatalf("after pull --force: changes %v %v", changes, err)
	}
	// Every file has a key, so an up-to-date check compares one stat digest.
	if st.StatDigest == "" {
		t.Fatal("the state has no stat digest: every check would compare the files")
	}
	// A same-size edit of a linked file that restores its mtime still shows.
	p := filepath.Join(b.vault("dev"), "d/f3")
	fi, _ := os.Stat(p)
	b.write("dev", "d/f3", strings.Repeat("Z", 40<<10))
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if _, changes, err := e.Changes(st); err != nil || len(changes) != 1 || changes[0] != "~d/f3" {
		t.Fatalf("an edit of a linked file: changes %v %v", changes, err)
	}

	// Restoring the backup (the edited d/f0, the version elsewhere) links every
	// file it holds with the same content: all but d/f0 and d/f3.
	b.write("dev", "d/f3", version["d/f3"])
	before = inodes(t, b.vault("dev"))
	if _, err := b.app.Restore(bg, b.app.Resolve(""), "dev", bk.ID, AuditOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, b.vault("dev")), edited)
	after = inodes(t, b.vault("dev"))
	if linked := linkedFiles(before, after); len(linked) != len(after)-2 || after["d/f3"] == before["d/f3"] {
		t.Fatalf("restore linked %v of %d files", linked, len(after))
	}
}
