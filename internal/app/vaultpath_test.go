package app

import (
	"os"
	"path/filepath"
	"reflect"
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

// TestCommittedSwapFolderIsNotAdopted: a branch that commits a folder named like
// the old vault of an interrupted swap (infra/vault/.dev.vsync-old-X, forced past
// .gitignore) must not become the vault when the clone has none, nor have its
// files deleted when it has one: pull and the post-checkout hook refuse, naming it.
func TestCommittedSwapFolderIsNotAdopted(t *testing.T) {
	m := newMachine(t)
	setup(t, m, fileStoreURL(t))
	b := m.newClone("b")
	planted := filepath.Join(b.dir, "infra", "vault", ".dev.vsync-old-0123456789ab")
	if err := os.MkdirAll(planted, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(planted, ".env.dev"), []byte("DB_URL=postgres://attacker.example/steal\n"), 0o644)
	// Tracked, as after a checkout of the branch that committed it.
	gitRun(t, b.dir, "add", "-f", "infra/vault/.dev.vsync-old-0123456789ab/.env.dev")

	_, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Refused, "git tracks it")
	if _, err := os.Lstat(b.vault("dev")); !os.IsNotExist(err) {
		t.Fatalf("the planted folder became the vault: %v", err)
	}
	b.app.HookPostCheckout(bg, b.app.Resolve(""), []string{"x", "y", "1"})
	if !strings.Contains(b.log.String(), "git tracks it") {
		t.Fatalf("post-checkout said %q", b.log.String())
	}
	if _, err := os.Lstat(b.vault("dev")); !os.IsNotExist(err) {
		t.Fatalf("the hook made the planted folder the vault: %v", err)
	}
	// With a vault in place, its files are not deleted either.
	gitRun(t, b.dir, "rm", "-rq", "--cached", "infra/vault/.dev.vsync-old-0123456789ab")
	aside := filepath.Join(b.dir, "planted-aside")
	os.Rename(planted, aside)
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	os.Rename(aside, planted)
	gitRun(t, b.dir, "add", "-f", "infra/vault/.dev.vsync-old-0123456789ab/.env.dev")
	_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Force: true})
	wantCode(t, err, fail.Refused, "git tracks it")
	if _, err := os.Stat(filepath.Join(planted, ".env.dev")); err != nil {
		t.Fatalf("the tracked file was deleted: %v", err)
	}
}

// TestReadsAndRestoreCheckTheVaultPath: env/get/run and diff show a vault's
// values, so they refuse an `infra` a branch made a link as pull and push do; and
// restore, which writes secrets into the vault like pull, refuses a vault git
// does not ignore.
func TestReadsAndRestoreCheckTheVaultPath(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	b := m.newClone("b")
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(outside, "vault", "dev"), 0o700)
	os.WriteFile(filepath.Join(outside, "vault", "dev", ".env.dev"), []byte("PLANTED=1\n"), 0o600)
	if err := os.Symlink(outside, filepath.Join(b.dir, "infra")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	_, err := b.app.LoadSecrets(bg, b.app.Resolve(""), "dev", SecretsOptions{})
	wantCode(t, err, fail.Refused, "infra is a symbolic link")
	_, err = b.app.Diff(bg, b.app.Resolve(""), "dev", DiffOptions{Remote: true, ShowValues: true})
	wantCode(t, err, fail.Refused, "infra is a symbolic link")

	// Restore: a backup exists (pull --force kept one), then the branch stops
	// ignoring the vault.
	a.write("dev", ".env.dev", "LOCAL EDIT\n")
	if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	bs, _, err := a.app.Backups(bg, a.app.Resolve(""), "dev")
	if err != nil || len(bs) != 1 {
		t.Fatalf("backups: %+v %v", bs, err)
	}
	before := tree(t, a.vault("dev"))
	os.WriteFile(filepath.Join(a.dir, ".gitignore"), nil, 0o644)
	_, err = a.app.Restore(bg, a.app.Resolve(""), "dev", bs[0].ID, AuditOptions{})
	wantCode(t, err, fail.Refused, "git does not ignore it")
	sameTree(t, tree(t, a.vault("dev")), before)
}

// TestRenamedRepositoryIsRefused: a branch that changes the repository name in
// .vsync to another repository this machine syncs must not pull that one's
// secrets over this vault (the post-checkout hook) nor push this vault into its
// store, with or without a merge first.
func TestRenamedRepositoryIsRefused(t *testing.T) {
	m := newMachine(t)
	store := fileStoreURL(t)
	a, _ := setup(t, m, store) // acme_web
	api := m.newClone("api")
	os.WriteFile(filepath.Join(api.dir, ".vsync"), []byte("repo=acme_api\n"), 0o644)
	if _, err := api.app.Init(bg, api.app.Resolve(""), "dev", InitOptions{Store: store}); err != nil {
		t.Fatal(err)
	}
	api.write("dev", ".env.dev", "API_ONLY=1\n")
	if _, err := api.app.Push(bg, api.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	apiBucket := bucketAll(t, api)

	os.WriteFile(filepath.Join(a.dir, ".vsync"), []byte("repo=acme_api\n"), 0o644)
	before := tree(t, a.vault("dev"))
	a.app.HookPostCheckout(bg, a.app.Resolve(""), []string{"x", "y", "1"})
	if !strings.Contains(a.log.String(), "now named acme_api") {
		t.Fatalf("post-checkout said %q", a.log.String())
	}
	_, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{Merge: true})
	wantCode(t, err, fail.Refused, "holds the secrets of acme_web")
	a.write("dev", ".env.dev", "API_TOKEN=s3cr3t-value\nWEB_DB_PASSWORD=hunter2\n")
	_, err = a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Force: true})
	wantCode(t, err, fail.Refused, "holds the secrets of acme_web")
	if got := bucketAll(t, api); !reflect.DeepEqual(got, apiBucket) {
		t.Fatal("acme_api's store changed")
	}
	delete(before, ".env.dev")
	after := tree(t, a.vault("dev"))
	delete(after, ".env.dev")
	sameTree(t, after, before)
}

// TestMigrateFromThroughALinkedFolder: --migrate-from conf/.env.dev, where the
// branch made conf a link out of the repository, moves nothing (the file would
// have been removed outside the repository).
func TestMigrateFromThroughALinkedFolder(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("b")
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, ".env.dev"), []byte("HOME_SECRET=1\n"), 0o600)
	if err := os.Symlink(outside, filepath.Join(c.dir, "conf")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	_, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true, MigrateFrom: "conf/.env.dev"})
	wantCode(t, err, fail.Refused, "is not a real folder")
	if b, err := os.ReadFile(filepath.Join(outside, ".env.dev")); err != nil || string(b) != "HOME_SECRET=1\n" {
		t.Fatalf("the file outside moved: %q %v", b, err)
	}
	if _, err := os.Stat(c.vault("dev")); !os.IsNotExist(err) {
		t.Fatalf("init made the vault: %v", err)
	}
}
