package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
)

func TestShareRestore(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	if bs, _, err := a.app.Backups(bg, a.app.Resolve(""), "dev"); err != nil || len(bs) != 0 {
		t.Fatalf("backups before: %v %v", bs, err)
	}
	a.write("dev", ".env.dev", "LOCAL EDIT\n")
	a.write("dev", "extra.txt", "x")
	edited := tree(t, a.vault("dev"))
	res, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{Force: true})
	if err != nil || res.Backup == "" {
		t.Fatalf("pull --force: %+v %v", res, err)
	}
	pulled := tree(t, a.vault("dev"))

	bs, _, err := a.app.Backups(bg, a.app.Resolve(""), "dev")
	if err != nil || len(bs) != 1 || bs[0].Files != 3 || !bs[0].Readable {
		t.Fatalf("backups: %+v %v", bs, err)
	}
	_, err = a.app.Restore(bg, a.app.Resolve(""), "dev", "20000101-000000", AuditOptions{})
	wantCode(t, err, fail.Usage, "no backup")

	// Survives a rotation: the backup was sealed with the old key.
	if _, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := a.app.Restore(bg, a.app.Resolve(""), "dev", bs[0].ID, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 3 || r.Backup == "" {
		t.Fatalf("restore result %+v", r)
	}
	sameTree(t, tree(t, a.vault("dev")), edited)

	// The restored files are local changes; the state is untouched.
	e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	st, _ := e.State()
	_, changes, err := e.Changes(st)
	if err != nil || len(changes) != 2 {
		t.Fatalf("changes after restore: %v %v", changes, err)
	}
	bs2, _, _ := a.app.Backups(bg, a.app.Resolve(""), "dev")
	if len(bs2) != 2 || bs2[0].ID != r.Backup {
		t.Fatalf("backups after restore %+v", bs2)
	}
	// The backup of the replaced vault brings the pulled version back.
	if _, err := a.app.Restore(bg, a.app.Resolve(""), "dev", r.Backup, AuditOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, a.vault("dev")), pulled)
}

// VSYNC_BACKUP_DIR moves the backups out of the config folder.
func TestBackupDirEnv(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	dir := filepath.Join(m.home, "elsewhere")
	m.env["VSYNC_BACKUP_DIR"] = dir + " "
	a.write("dev", ".env.dev", "LOCAL EDIT\n")
	res, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{Force: true})
	if err != nil || !strings.HasPrefix(res.Backup, filepath.Join(dir, "acme_web", "dev")+string(filepath.Separator)) {
		t.Fatalf("backup at %q (%v), want below %s", res.Backup, err, dir)
	}
	if _, err := os.Stat(filepath.Join(m.ConfigDir(), "backups")); !os.IsNotExist(err) {
		t.Fatalf("backups folder in the config folder: %v", err)
	}
	if bs, _, err := a.app.Backups(bg, a.app.Resolve(""), "dev"); err != nil || len(bs) != 1 || !bs[0].Readable {
		t.Fatalf("backups %+v %v", bs, err)
	}
	// Unset: the default folder, which holds none of them.
	m.env["VSYNC_BACKUP_DIR"] = ""
	if bs, _, err := a.app.Backups(bg, a.app.Resolve(""), "dev"); err != nil || len(bs) != 0 {
		t.Fatalf("backups without the variable %+v %v", bs, err)
	}
}
