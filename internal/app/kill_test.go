package app

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/keychain/keychaintest"
)

// TestPullKillHelper is the child process of TestPullSurvivesKill: one forced pull.
func TestPullKillHelper(t *testing.T) {
	if os.Getenv("VSYNC_KILL_HELPER") != "1" {
		return // only a helper process
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
	run := func(delay time.Duration) (finished bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPullKillHelper$")
		cmd.Env = env
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
	start := time.Now()
	if !run(-1) {
		t.Fatal("the helper pull fails even without a kill")
	}
	full := time.Since(start)
	if !reflect.DeepEqual(tree(t, b.vault("dev")), treeV2) {
		t.Fatal("helper pull did not bring v2")
	}
	counts := map[string]int{}
	for i := 0; i < 25; i++ {
		reset()
		run(time.Duration(rand.Int64N(int64(full))))
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
		switch {
		case reflect.DeepEqual(got, treeV1):
			counts["old"]++
		case reflect.DeepEqual(got, treeV2):
			counts["new"]++
		default:
			t.Fatalf("after kill %d the vault is a mix of %d entries", i, len(got))
		}
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
