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

// TestGitignoreLinkIsNotFollowed: init adds the vault's line to .gitignore only when
// that is a regular file. A .gitignore that the branch made a link to a file
// outside the repository (git itself does not follow it) is refused with the line
// to add, nothing is written through it, and the vault stays refused until git
// ignores it.
func TestGitignoreLinkIsNotFollowed(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("b")
	outside := filepath.Join(t.TempDir(), "authorized_keys")
	if err := os.WriteFile(outside, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gi := filepath.Join(c.dir, ".gitignore")
	if err := os.Remove(gi); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, gi); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	res, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true})
	if err != nil {
		t.Fatal(err)
	}
	warned := strings.Join(res.Warnings, "\n")
	if !strings.Contains(warned, "is not a regular file") || !strings.Contains(warned, "/infra/vault/dev/") || res.Gitignored != "" {
		t.Fatalf("init warned %q, added %q", warned, res.Gitignored)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep\n" {
		t.Fatalf("init wrote through the link: %q", b)
	}
	c.write("dev", ".env.dev", "A=1\n")
	_, err = c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{})
	wantCode(t, err, fail.Refused, "git does not ignore it")
}

// TestInitRefusesALinkedVaultPath: init with `infra` a link the branch committed
// refuses before anything is written, so neither the vault folder nor a dotenv
// moved by --migrate-from ends up outside the repository.
func TestInitRefusesALinkedVaultPath(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("b")
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(c.dir, "infra")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	dotenv := filepath.Join(c.dir, ".env.dev")
	if err := os.WriteFile(dotenv, []byte("SECRET=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true, MigrateFrom: dotenv})
	wantCode(t, err, fail.Refused, "infra is a symbolic link")
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("init wrote outside the repository: %v", ents)
	}
	if b, err := os.ReadFile(dotenv); err != nil || string(b) != "SECRET=1\n" {
		t.Fatalf("the dotenv moved: %q, %v", b, err)
	}
	w, err := c.app.Resolve("").Get()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(w.ConfigPath("dev")); !os.IsNotExist(err) {
		t.Fatalf("init wrote the config: %v", err)
	}
}
