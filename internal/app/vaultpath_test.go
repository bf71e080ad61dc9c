package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// TestVaultPathMustStayInRepo: a vault path through a symlinked (or non-folder)
// component, or a vault git does not ignore, is refused by pull, push and the
// hooks (exit 3, naming the component) and nothing is written outside.
func TestVaultPathMustStayInRepo(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	outside := t.TempDir()

	b := m.newClone("b")
	if err := os.Symlink(outside, filepath.Join(b.dir, "infra")); err != nil {
		t.Fatal(err)
	}
	_, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Refused, "infra is a symbolic link")
	_, err = b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{})
	wantCode(t, err, fail.Refused, "infra is a symbolic link")
	b.app.HookPostCheckout(bg, b.app.Resolve(""), []string{"x", "y", "1"})
	if !strings.Contains(b.log.String(), "infra is a symbolic link") {
		t.Fatalf("post-checkout said %q", b.log.String())
	}
	err = b.app.HookPrePush(bg, b.app.Resolve(""), []string{"origin", "url"}, nil)
	if err == nil || !strings.Contains(err.Error(), "infra is a symbolic link") {
		t.Fatalf("pre-push: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("something was written outside the repository: %v", ents)
	}

	// A deeper component that is a file, not a folder.
	c := m.newClone("c")
	os.MkdirAll(filepath.Join(c.dir, "infra"), 0o755)
	os.WriteFile(filepath.Join(c.dir, "infra", "vault"), []byte("x"), 0o644)
	_, err = c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Refused, "infra/vault is not a folder")

	// Not ignored by git, or tracked: refused before anything is written.
	d := m.newClone("d")
	os.Remove(filepath.Join(d.dir, ".gitignore"))
	_, err = d.app.Pull(bg, d.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Refused, "git does not ignore it")
	if _, err := os.Stat(d.vault("dev")); !os.IsNotExist(err) {
		t.Fatalf("the vault was created: %v", err)
	}
	os.WriteFile(filepath.Join(d.dir, ".gitignore"), []byte("/infra/vault/\n"), 0o644)
	d.write("dev", "tracked", "x")
	gitRun(t, d.dir, "add", "-f", "infra/vault/dev/tracked")
	_, err = d.app.Pull(bg, d.app.Resolve(""), "dev", PullOptions{Force: true})
	wantCode(t, err, fail.Refused, "git does not ignore it")
	gitRun(t, d.dir, "rm", "-q", "--cached", "infra/vault/dev/tracked")
	if _, err := d.app.Pull(bg, d.app.Resolve(""), "dev", PullOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, d.vault("dev")), tree(t, a.vault("dev")))
}
