package app

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/backup"
	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/keychain/keychaintest"
)

// TestPullKillHelper is the child process of TestPullSurvivesKill: one forced pull.
func TestPullKillHelper(t *testing.T) {
	if os.Getenv("VSYNC_KILL_HELPER") != "1" {
		return // only a helper process
	}
	if at := os.Getenv("VSYNC_KILL_AT"); at != "" {
		swapPoint = func(p string) {
			if p == at {
				self, _ := os.FindProcess(os.Getpid())
				self.Kill() // SIGKILL: no deferred function runs
				select {}
			}
		}
	}
	a := &App{Dir: os.Getenv("VSYNC_KILL_DIR"), Getenv: os.Getenv, Keychain: &keychaintest.Memory{}, Log: io.Discard, Now: time.Now}
	if _, err := a.Pull(bg, a.Resolve(""), "dev", PullOptions{Force: true, Audit: AuditOptions{Disabled: true}}); err != nil {
		fmt.Println("helper pull:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestPullSurvivesKill kills a pulling process (SIGKILL) at random moments; the
// next command must find the old or the new vault, never a mix.
func TestPullSurvivesKill(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	for i := 0; i < 300; i++ {
		a.write("dev", fmt.Sprintf("d%d/f%03d", i%7, i), fmt.Sprintf("v1 %d %0900d", i, i))
	}
	v1, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	treeV1 := tree(t, a.vault("dev"))
	for i := 0; i < 300; i += 2 {
		os.Remove(filepath.Join(a.vault("dev"), fmt.Sprintf("d%d/f%03d", i%7, i)))
	}
	for i := 300; i < 450; i++ {
		a.write("dev", fmt.Sprintf("e%d/g%03d", i%5, i), fmt.Sprintf("v2 %d %0900d", i, i))
	}
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	treeV2 := tree(t, a.vault("dev"))

	key, err := m.kc.Get(bg, keychain.Account("acme_web", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	b := m.newClone("b")
	m.env["VSYNC_KEY_DEV"] = key
	reset := func() {
		t.Helper()
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{At: v1.TS, Force: true}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tree(t, b.vault("dev")), treeV1) {
			t.Fatal("reset to v1 failed")
		}
	}
	reset()
	env := append(m.Environ(), "VSYNC_KILL_HELPER=1", "VSYNC_KILL_DIR="+b.dir)
	run := func(delay time.Duration, extra ...string) (finished bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPullKillHelper$")
		cmd.Env = append(env, extra...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if delay < 0 {
			return cmd.Wait() == nil
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		return cmd.Wait() == nil
	}
	// The files v2 keeps as they were are linked from the replaced vault, not
	// written (vault.Reuse), so the kills below also meet a stage holding links
	// into the live vault.
	infoV1 := fileInfos(t, b.vault("dev"))
	start := time.Now()
	if !run(-1) {
		t.Fatal("the helper pull fails even without a kill")
	}
	full := time.Since(start)
	if !reflect.DeepEqual(tree(t, b.vault("dev")), treeV2) {
		t.Fatal("helper pull did not bring v2")
	}
	if n := sameFiles(infoV1, fileInfos(t, b.vault("dev"))); linksHere && n != 152 {
		t.Fatalf("the pull linked %d files, want the 152 that v2 keeps (150 and setup's 2)", n)
	}
	eb, err := b.app.OpenEnv(b.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	aesKey, _, _, err := eb.Key(bg)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	// Kills at random moments, then at the two moments between the flush of the
	// new vault (which also flushes the backup of the old one) and the swap, and
	// right after the swap (before the linked files' stat keys are taken again).
	const random = 25
	for i := 0; i < random+3; i++ {
		reset()
		before := newestBackup(t, eb)
		switch i {
		case random:
			run(-1, "VSYNC_KILL_AT=flushed")
		case random + 1:
			run(-1, "VSYNC_KILL_AT=published")
		case random + 2:
			run(-1, "VSYNC_KILL_AT=swapped")
		default:
			run(time.Duration(rand.Int64N(int64(full))))
		}
		// The next command repairs what the kill left, under the vault lock.
		e, err := b.app.OpenEnv(b.app.Resolve(""), "dev")
		if err != nil {
			t.Fatal(err)
		}
		release, err := e.LockVault(bg)
		if err != nil {
			t.Fatalf("after kill %d: %v", i, err)
		}
		st, err := e.State()
		if err != nil {
			t.Fatal(err)
		}
		_, changes, err := e.Changes(st)
		release()
		if err != nil {
			t.Fatal(err)
		}
		got := tree(t, b.vault("dev"))
		// A backup published by the killed pull holds the vault it was to replace.
		bk := newestBackup(t, eb)
		published := bk.ID != "" && bk.ID != before.ID
		if published {
			if bt := backupTree(t, e, aesKey, bk); !reflect.DeepEqual(bt, treeV1) {
				t.Fatalf("after kill %d the new backup %s holds %d entries, not the replaced vault", i, bk.ID, len(bt))
			}
		}
		switch {
		case reflect.DeepEqual(got, treeV1):
			counts["old"]++
		case reflect.DeepEqual(got, treeV2) && published:
			counts["new"]++
		case reflect.DeepEqual(got, treeV2):
			t.Fatalf("after kill %d the vault was replaced without a published backup of it", i)
		default:
			t.Fatalf("after kill %d the vault is a mix of %d entries", i, len(got))
		}
		switch {
		case i == random && published:
			t.Fatal("killed before publishing, yet a backup was published")
		case i == random+1 && (!published || !reflect.DeepEqual(got, treeV1)):
			t.Fatalf("killed once the backup was published (published: %v): want the old vault and the backup", published)
		case i == random+2 && !reflect.DeepEqual(got, treeV2):
			t.Fatal("killed right after the swap: want the new vault")
		}
		// Whatever the kill left in the stage were names of the live vault's
		// files: removing them left those files, each with its one name.
		oneNameEach(t, b.vault("dev"))
		// The sync state agrees with whichever vault survived: no phantom local edits.
		if len(changes) > 0 {
			t.Fatalf("after kill %d the vault looks edited: %s", i, summarize(changes))
		}
		leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(b.vault("dev")), ".dev.vsync-*"))
		if len(leftovers) > 0 {
			t.Fatalf("after kill %d: leftovers %v", i, leftovers)
		}
	}
	t.Logf("full pull %v; after kills: %v", full, counts)
}

// fileInfos is path → Lstat of every file below dir.
func fileInfos(t *testing.T, dir string) map[string]os.FileInfo {
	t.Helper()
	out := map[string]os.FileInfo{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out[p] = fi
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameFiles counts the paths of after that are the same file as in before.
func sameFiles(before, after map[string]os.FileInfo) int {
	n := 0
	for p, fi := range after {
		if b, ok := before[p]; ok && os.SameFile(b, fi) {
			n++
		}
	}
	return n
}

// newestBackup is the newest backup of e (none: the zero Backup).
func newestBackup(t *testing.T, e *EnvHandle) backup.Backup {
	t.Helper()
	bs, err := backup.List(e.backupRoot(), e.ID.Name, e.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 {
		return backup.Backup{}
	}
	return bs[0]
}

// backupTree is what backup b holds, as tree lists a vault.
func backupTree(t *testing.T, e *EnvHandle, aesKey []byte, b backup.Backup) map[string]string {
	t.Helper()
	r, err := e.openBackup(bg, aesKey, b.Path, b.ID)
	if err != nil {
		t.Fatalf("backup %s does not open: %v", b.ID, err)
	}
	defer r.Close()
	ar, err := bundle.OpenAt(r, r.Size(), bundle.DefaultLimits)
	if err != nil {
		t.Fatalf("backup %s: %v", b.ID, err)
	}
	out := map[string]string{}
	for _, f := range ar.Files() {
		if f.Dir {
			out[f.Path+"/"] = ""
			continue
		}
		var buf bytes.Buffer
		if _, err := ar.WriteFileTo(f.Path, &buf); err != nil {
			t.Fatal(err)
		}
		out[f.Path] = buf.String()
	}
	return out
}
