package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// faultyStore gives m a fresh versitygw bucket behind a fault-injecting proxy and
// returns the init --store URL and the proxy.
func faultyStore(t *testing.T, m *machine) (string, *testenv.FaultProxy) {
	srv := testenv.Versitygw(t)
	bucket := srv.NewBucket(t)
	m.env["AWS_ACCESS_KEY_ID"] = srv.AccessKey
	m.env["AWS_SECRET_ACCESS_KEY"] = srv.SecretKey
	p := testenv.NewFaultProxy(t, srv.Endpoint)
	return p.URL + "/" + bucket, p
}

// directBucket reads the bucket past the proxy: what the store really holds.
func directBucket(t *testing.T, c *clone, proxyURL string) map[string]string {
	t.Helper()
	srv := testenv.Versitygw(t)
	e, err := c.app.OpenEnv(c.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	e.Config.S3.Endpoint = strings.Replace(e.Config.S3.Endpoint, proxyURL, srv.Endpoint, 1)
	if e.Store, err = OpenStore(e.Config); err != nil {
		t.Fatal(err)
	}
	return storeObjects(t, e.Store, false)
}

// TestPushLostSwapAnswerKeepsVersion: whatever happens to the answer of the
// `latest` swap, push never deletes the version `latest` names. When the swap
// was applied and the store cannot be read back, the outcome is reported as
// unknown (exit 5) with `status --remote` as the next step.
func TestPushLostSwapAnswerKeepsVersion(t *testing.T) {
	const latestKey = "acme_web/dev/latest"
	cases := []struct {
		name string
		rule testenv.FaultRule
		// cancelAfter cancels the push (Ctrl-C) once the swap reached the proxy.
		cancel   bool
		wantCode fail.Code
		applied  bool // the swap reaches the server
	}{
		{"reset-then-down", testenv.FaultRule{Method: "PUT", Path: "/latest", Fault: testenv.ResetReply, ThenDown: true}, false, fail.Unreachable, true},
		{"5xx-then-down", testenv.FaultRule{Method: "PUT", Path: "/latest", Fault: testenv.Fail5xx, ThenDown: true}, false, fail.Unreachable, true},
		{"drop-once", testenv.FaultRule{Method: "PUT", Path: "/latest", Fault: testenv.DropReply, Times: 1}, false, fail.OK, true},
		{"5xx-always", testenv.FaultRule{Method: "PUT", Path: "/latest", Fault: testenv.Fail5xx}, false, fail.OK, true},
		{"stall-applied-ctrl-c", testenv.FaultRule{Method: "PUT", Path: "/latest", Fault: testenv.Stall}, true, fail.OK, true},
		{"stall-unsent-ctrl-c", testenv.FaultRule{Method: "PUT", Path: "/latest", Fault: testenv.StallFirst}, true, fail.Failure, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			url, proxy := faultyStore(t, m)
			a, ts1 := setup(t, m, url)
			before := directBucket(t, a, proxy.URL)
			a.write("dev", ".env.dev", "API_TOKEN=v2\n")
			a.app.Now = func() time.Time { return time.Now().Add(time.Hour) } // a distinct version
			proxy.Set(tc.rule)
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			if tc.cancel {
				go func() {
					for !strings.Contains(strings.Join(proxy.Log(), "\n"), "/latest stall") {
						time.Sleep(10 * time.Millisecond)
					}
					time.Sleep(100 * time.Millisecond)
					cancel()
				}()
			}
			start := time.Now()
			res, err := a.app.Push(ctx, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
			took := time.Since(start)
			proxy.Set()
			if took > 40*time.Second {
				t.Fatalf("push took %v", took)
			}
			after := directBucket(t, a, proxy.URL)
			if tc.wantCode == fail.OK {
				if err != nil {
					t.Fatalf("push: %v\nproxy: %v", err, proxy.Log())
				}
				if after[latestKey] != res.TS || after["acme_web/dev/versions/"+res.TS+".enc"] == "" {
					t.Fatalf("latest=%q, pushed %s, objects %v", after[latestKey], res.TS, keys(after))
				}
				// The push was recorded: the next push has nothing to do.
				again, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
				if err != nil || !again.Unchanged {
					t.Fatalf("second push: %+v %v", again, err)
				}
				return
			}
			wantCode(t, err, tc.wantCode, "")
			// Never a dangling pointer: `latest` names an object that exists.
			lt := after[latestKey]
			if after["acme_web/dev/versions/"+lt+".enc"] == "" {
				t.Fatalf("latest %s names a missing version; objects %v", lt, keys(after))
			}
			if tc.applied {
				if lt == ts1 {
					t.Fatalf("the swap should have been applied; proxy log %v", proxy.Log())
				}
				if !strings.Contains(err.Error(), "unknown") || !strings.Contains(fail.HintOf(err), "status --remote") {
					t.Fatalf("want an unknown outcome with a status --remote hint, got %v / %s", err, fail.HintOf(err))
				}
				// The store is back (here: reached past the proxy). The next push
				// recognises the earlier one by its bytes and needs no --force.
				e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
				e.Config.S3.Endpoint = strings.Replace(e.Config.S3.Endpoint, proxy.URL, testenv.Versitygw(t).Endpoint, 1)
				if err := e.Config.Save(e.ConfigPath("dev")); err != nil {
					t.Fatal(err)
				}
				again, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
				if err != nil || !again.Unchanged || again.TS != lt {
					t.Fatalf("push after an unknown outcome: %+v %v", again, err)
				}
				if !strings.Contains(a.log.String(), "went through") {
					t.Fatalf("no word about the settled push: %s", a.log.String())
				}
			} else {
				sameTree(t, after, before)
			}
		})
	}
}

// TestRacingPushersLosersGetRefused: 30 clones push at once; every round exactly
// one wins, every other exits 3 "remote advanced", and no orphan is left.
func TestRacingPushersLosersGetRefused(t *testing.T) {
	n, rounds := 30, 2
	if testing.Short() {
		n, rounds = 8, 1
	}
	m := newMachine(t)
	srv := testenv.Versitygw(t)
	bucketName := srv.NewBucket(t)
	m.env["AWS_ACCESS_KEY_ID"] = srv.AccessKey
	m.env["AWS_SECRET_ACCESS_KEY"] = srv.SecretKey
	a, _ := setup(t, m, srv.Endpoint+"/"+bucketName)
	clones := []*clone{a}
	for i := 1; i < n; i++ {
		c := m.newClone("c" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{Audit: AuditOptions{Disabled: true}}); err != nil {
			t.Fatal(err)
		}
		clones = append(clones, c)
	}
	for round := 0; round < rounds; round++ {
		before := bucket(t, a)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, c := range clones {
			c.write("dev", ".env.dev", "ROUND="+string(rune('a'+round))+" BY="+c.dir+"\n")
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
			}()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case fail.CodeOf(err) != fail.Refused:
				t.Fatalf("round %d: clone %d: exit %d: %v", round, i, fail.CodeOf(err), err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners", round, wins)
		}
		if after := bucket(t, a); len(after) != len(before)+1 {
			t.Fatalf("round %d: bucket grew by %d objects, want 1", round, len(after)-len(before))
		}
		for _, c := range clones {
			if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{Force: true, Audit: AuditOptions{Disabled: true}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestPullStalledDownload: a store that sends the headers of a version and
// then stops sending its body (holding the connection open) ends the pull
// after one response timeout of no progress, exit 5, with a hint naming the
// pull to run again; the vault, the sync state and the state folder (temp
// files, backups) are as before, and the pull run again works.
func TestPullStalledDownload(t *testing.T) {
	m := newMachine(t)
	url, proxy := faultyStore(t, m)
	m.env["VSYNC_STORE_TIMEOUT"] = "500ms"
	a, _ := setup(t, m, url)
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 2*mib)
	rand.Read(big)
	a.write("dev", "keystore.p12", string(big))
	a.app.Now = func() time.Time { return time.Now().Add(time.Hour) }
	res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := b.app.OpenEnv(b.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	vaults := filepath.Dir(b.vault("dev"))
	vaultBefore, stateBefore := tree(t, vaults), tree(t, e.Repo.StateDir())
	proxy.Set(testenv.FaultRule{Method: "GET", Path: "/versions/", Fault: testenv.StallDownload, Bytes: 256 << 10})
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the pull hangs on a stalled download")
	}
	took := time.Since(start)
	proxy.Release()
	proxy.Set()
	wantCode(t, err, fail.Unreachable, "stopped sending its answer (no progress for 500ms)")
	if h := fail.HintOf(err); !strings.Contains(h, "run `git vsync pull dev` again") || !strings.Contains(h, "VSYNC_STORE_TIMEOUT") {
		t.Fatalf("hint %q", h)
	}
	if took > 3*time.Second {
		t.Fatalf("the pull gave up after %s", took)
	}
	t.Logf("gave up in %s: %v", took.Round(time.Millisecond), err)
	sameTree(t, tree(t, vaults), vaultBefore)
	sameTree(t, tree(t, e.Repo.StateDir()), stateBefore)
	got, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	if err != nil || got.TS != res.TS {
		t.Fatalf("the pull again: %+v %v", got, err)
	}
	if f, _ := os.ReadFile(filepath.Join(b.vault("dev"), "keystore.p12")); !bytes.Equal(f, big) {
		t.Fatal("the pulled file differs")
	}
}
