package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/published"
)

// TestCorruptLatestHasAWayOut: a corrupt `latest` (garbage, or over 64 bytes) is
// exit 6 with a hint naming push --force, and push --force repairs it; pull --at
// works past it.
func TestCorruptLatestHasAWayOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, ts1 := setup(t, m, storeURL)
		// The last two have the timestamp's shape but are no clock's: the first
		// stopped every push ("invalid bundle timestamp", a bug's hint) because no
		// next second can be written after it.
		for i, garbage := range []string{"not a timestamp", strings.Repeat("9", 1<<20), "99991231-235959", "99999999-999999"} {
			putObject(t, a, "acme_web/dev/latest", []byte(garbage))
			_, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
			wantCode(t, err, fail.Integrity, "latest pointer for dev is corrupt")
			if !strings.Contains(fail.HintOf(err), "push dev --force") {
				t.Fatalf("hint %q does not name push --force", fail.HintOf(err))
			}
			_, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{})
			wantCode(t, err, fail.Integrity, "corrupt")
			// The hint's first way out lists the versions: it works past the pointer.
			if vs, err := a.app.Versions(bg, a.app.Resolve(""), "dev"); err != nil || len(vs) == 0 || vs[len(vs)-1].TS > ts1 {
				t.Fatalf("versions past a corrupt latest: %+v %v", vs, err)
			}
			if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{At: ts1, Force: true}); err != nil {
				t.Fatalf("pull --at past a corrupt latest: %v", err)
			}
			a.write("dev", ".env.dev", "REPAIRED="+garbage[:3]+"\n")
			res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Force: true})
			if err != nil {
				t.Fatalf("push --force does not repair: %v", err)
			}
			if got := bucket(t, a)["acme_web/dev/latest"]; got != res.TS {
				t.Fatalf("latest = %.40q, want %s", got, res.TS)
			}
			b := m.newClone("b" + strconv.Itoa(i))
			if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
				t.Fatal(err)
			}
			ts1 = res.TS
		}
	})
}

// TestPendingPullSettledReadOnly: a pull killed between its swap and its state
// commit never shows the pulled files as local edits in status or the pre-push
// hook, which settle the pending state without writing; the next locked command
// commits it.
func TestPendingPullSettledReadOnly(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(b.dir, ".git", "vsync")
	old, err := os.ReadFile(filepath.Join(stateDir, "dev.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	a.write("dev", ".env.dev", "API_TOKEN=v2\n")
	a.app.Now = func() time.Time { return time.Now().Add(time.Hour) }
	v2, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	// As if killed after the swap: the new state is still pending, the old one current.
	if err := os.Rename(filepath.Join(stateDir, "dev.state.json"), filepath.Join(stateDir, "dev.pending.json")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stateDir, "dev.state.json"), old, 0o600)

	rep, err := b.app.Status(bg, b.app.Resolve(""), false)
	if err != nil {
		t.Fatal(err)
	}
	es := rep.Envs[0]
	if es.Clean == nil || !*es.Clean || es.LocalTS == nil || *es.LocalTS != v2.TS {
		t.Fatalf("status shows %+v (changed %v), want clean at %s", es, es.Changed, v2.TS)
	}
	if err := b.app.HookPrePush(bg, b.app.Resolve(""), []string{"origin", "url"}, nil); err != nil {
		t.Fatalf("pre-push refuses: %v", err)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "dev.pending.json")); err != nil {
		t.Fatalf("status or pre-push wrote the state: %v", err)
	}
	res, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	if err != nil || !res.UpToDate {
		t.Fatalf("the next pull: %+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "dev.pending.json")); !os.IsNotExist(err) {
		t.Fatalf("the pending state was not committed: %v", err)
	}
}

// TestLeftoversReportedOnce: leftovers of an earlier swap that cannot be removed
// are warned about once, then skipped silently (vault.LeftoverError keeps them
// from blocking; see vault.TestRecoverUndeletableLeftover).
func TestLeftoversReportedOnce(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	e, err := a.app.OpenEnv(a.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	a.log.Reset()
	left := []string{filepath.Join(a.dir, "infra", "vault", ".dev.vsync-trash-x")}
	e.reportLeftovers(left)
	e.reportLeftovers(left)
	if n := strings.Count(a.log.String(), "could not remove"); n != 1 {
		t.Fatalf("warned %d times: %s", n, a.log.String())
	}
	e.reportLeftovers(append(left, left[0]+"2"))
	if n := strings.Count(a.log.String(), "could not remove"); n != 2 || !strings.Contains(a.log.String(), "x2") {
		t.Fatalf("a new leftover is not reported: %s", a.log.String())
	}
}

// TestOversizedVersionIsNotDownloaded: a version object larger than any bundle
// may be (a hostile store or a folder others write to) is refused from its
// length, before a byte of it is copied into the clone's temp folder.
func TestOversizedVersionIsNotDownloaded(t *testing.T) {
	m := newMachine(t)
	root := t.TempDir()
	_, ts := setup(t, m, "file://"+filepath.ToSlash(root)+"#team")
	obj := filepath.Join(root, "team", "acme_web", "dev", "versions", ts+".enc")
	if err := os.Truncate(obj, published.MaxBundle+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	b := m.newClone("b")
	_, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Integrity, "larger than")
	var used int64
	filepath.WalkDir(filepath.Join(b.dir, ".git", "vsync", "tmp"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				used += fi.Size()
			}
		}
		return nil
	})
	if used != 0 {
		t.Fatalf("%d bytes were downloaded", used)
	}
}

// TestAcceptedRollbackIsNotRefusedAgain: a `latest` that went back is refused
// by pull with the way to accept it, `pull --at <that version>`; once done, a
// plain pull is up to date instead of refusing again.
func TestAcceptedRollbackIsNotRefusedAgain(t *testing.T) {
	m := newMachine(t)
	a, ts1 := setup(t, m, fileStoreURL(t))
	a.write("dev", ".env.dev", "API_TOKEN=second\n")
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	putObject(t, a, "acme_web/dev/latest", []byte(ts1)) // someone restored an old pointer
	_, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Refused, "went back")
	if !strings.Contains(fail.HintOf(err), "pull dev --at "+ts1) {
		t.Fatalf("hint %q", fail.HintOf(err))
	}
	if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{At: ts1, Force: true}); err != nil {
		t.Fatal(err)
	}
	res, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{})
	if err != nil || !res.UpToDate {
		t.Fatalf("pull after the accepted rollback: %+v %v", res, err)
	}
}
