package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/keychain/keychaintest"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

const mib = 1 << 20

// bigVault gives a's dev vault a 12 MiB file of random bytes (a bundle of three
// 5 MiB parts, deflate cannot shrink it) and returns its content.
func bigVault(t *testing.T, a *clone, name string) string {
	t.Helper()
	b := make([]byte, 12*mib)
	rand.Read(b)
	a.write("dev", name, string(b))
	return string(b)
}

// multipartStore is faultyStore with parts of 5 MiB above 5 MiB; it returns the
// bucket's name too.
func multipartStore(t *testing.T, m *machine) (string, *testenv.FaultProxy, string) {
	t.Cleanup(store.SetMultipartSizes(5*mib, 5*mib))
	url, proxy := faultyStore(t, m)
	return url, proxy, url[strings.LastIndex(url, "/")+1:]
}

// versionRequests counts the requests on version objects in the proxy's log by
// method.
func versionRequests(log []string) map[string]int {
	n := map[string]int{}
	for _, l := range log {
		if strings.Contains(l, "/versions/") {
			n[strings.Fields(l)[0]]++
		}
	}
	return n
}

// TestPushMultipart: a large push goes up as a multipart upload (create, three
// parts, complete); the object is one ordinary version that a pull reads
// byte for byte, and that the SPEC's reader (RQE1, then RQEM0001, as the
// TypeScript tool reads it) opens like any other.
func TestPushMultipart(t *testing.T) {
	m := newMachine(t)
	url, proxy, _ := multipartStore(t, m)
	a, _ := setup(t, m, url)
	big := bigVault(t, a, "keystore.p12")
	n0 := len(proxy.Log())
	res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	if n := versionRequests(proxy.Log()[n0:]); n["POST"] != 2 || n["PUT"] != 3 {
		t.Fatalf("not a multipart upload of three parts: %v", proxy.Log())
	}
	objs := directBucket(t, a, proxy.URL)
	obj := objs["acme_web/dev/versions/"+res.TS+".enc"]
	if len(obj) != res.Bytes || objs["acme_web/dev/latest"] != res.TS {
		t.Fatalf("version object of %d bytes (pushed %d), latest %q", len(obj), res.Bytes, objs["acme_web/dev/latest"])
	}
	e, err := a.app.OpenEnv(a.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	aesKey, _, _, err := e.Key(bg)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := rqe1.Open(aesKey, []byte(obj))
	if err != nil {
		t.Fatalf("RQE1: %v", err)
	}
	if zip, err := rqem.Open(plain, res.TS); err != nil || !bytes.HasPrefix(zip, []byte("PK")) {
		t.Fatalf("RQEM0001: %v", err)
	}
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(b.vault("dev"), "keystore.p12"))
	if err != nil || string(got) != big {
		t.Fatalf("pulled %d bytes, %v", len(got), err)
	}
}

// TestPushMultipartFaults: a part whose answer is lost is sent again; a
// CompleteMultipartUpload applied but answered with a 5xx is recognised; a
// part whose answer stalls past the response timeout, a part whose body the
// server stops reading (the watchdog ends it after one timeout of no
// progress), and Ctrl-C during the parts, abort the upload: no version,
// `latest` unchanged, no upload left, an error naming the next command, and
// that command works.
func TestPushMultipartFaults(t *testing.T) {
	cases := []struct {
		name     string
		rule     testenv.FaultRule
		cancel   bool // Ctrl-C once two parts went up
		wantCode fail.Code
		hint     string
		msg      string        // in the error
		timeout  string        // VSYNC_STORE_TIMEOUT, 1s if empty
		within   time.Duration // the push returns within this, 20s if 0
	}{
		{"reset-after-part", testenv.FaultRule{Method: "PUT", Path: "/versions/", Fault: testenv.ResetReply, Times: 1}, false, fail.OK, "", "", "", 0},
		{"5xx-after-complete", testenv.FaultRule{Method: "POST", Path: "/versions/", Fault: testenv.Fail5xx, After: 1, Times: 1}, false, fail.OK, "", "", "", 0},
		{"stall", testenv.FaultRule{Method: "PUT", Path: "/versions/", Fault: testenv.Stall, After: 1}, false, fail.Unreachable, "git vsync doctor", "", "", 0},
		{"ctrl-c", testenv.FaultRule{}, true, fail.Failure, "git vsync push dev", "", "", 0},
		{"stall-upload", testenv.FaultRule{Method: "PUT", Path: "/versions/", Fault: testenv.StallUpload, Bytes: 64 << 10, After: 1}, false, fail.Unreachable,
			"run `git vsync push dev` again; a store that is only slow needs a longer wait: VSYNC_STORE_TIMEOUT",
			"stopped reading the upload (no progress for 500ms)", "500ms", 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			url, proxy, bucket := multipartStore(t, m)
			m.env["VSYNC_STORE_TIMEOUT"] = "1s"
			if tc.timeout != "" {
				m.env["VSYNC_STORE_TIMEOUT"] = tc.timeout
			}
			if tc.within == 0 {
				tc.within = 20 * time.Second
			}
			a, ts1 := setup(t, m, url)
			before := directBucket(t, a, proxy.URL)
			big := bigVault(t, a, "keystore.p12")
			a.app.Now = func() time.Time { return time.Now().Add(time.Hour) }
			proxy.Set(tc.rule)
			n0 := len(proxy.Log())
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			if tc.cancel {
				go func() {
					for versionRequests(proxy.Log()[n0:])["PUT"] < 2 {
						time.Sleep(5 * time.Millisecond)
					}
					cancel()
				}()
			}
			start := time.Now()
			type pushed struct {
				res *PushResult
				err error
			}
			done := make(chan pushed, 1)
			go func() {
				res, err := a.app.Push(ctx, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
				done <- pushed{res, err}
			}()
			var p pushed
			select {
			case p = <-done:
			case <-time.After(2 * tc.within):
				t.Fatalf("the push hangs: %v", proxy.Log()[n0:])
			}
			res, err := p.res, p.err
			took := time.Since(start)
			log := proxy.Log()[n0:]
			proxy.Release() // a held upload ends: its client is gone
			proxy.Set()
			if took > tc.within {
				t.Fatalf("push took %v", took)
			}
			after := directBucket(t, a, proxy.URL)
			if left := testenv.Versitygw(t).PendingUploads(t, bucket); len(left) != 0 {
				t.Fatalf("uploads left: %v", left)
			}
			if tc.wantCode == fail.OK {
				if err != nil {
					t.Fatalf("push: %v\nproxy: %v", err, log)
				}
				if after["acme_web/dev/latest"] != res.TS || len(after["acme_web/dev/versions/"+res.TS+".enc"]) != res.Bytes || len(after) != len(before)+1 {
					t.Fatalf("after the push: latest %q, objects %v", after["acme_web/dev/latest"], keys(after))
				}
				if n := versionRequests(log); n["POST"] < 2 || n["POST"]+n["PUT"] <= 5 {
					t.Fatalf("not a multipart upload with a retry: %v", log)
				}
				b := m.newClone("b")
				if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(filepath.Join(b.vault("dev"), "keystore.p12")); string(got) != big {
					t.Fatal("the pulled file differs")
				}
				return
			}
			if tc.msg != "" && runtime.GOOS != "linux" && runtime.GOOS != "darwin" && strings.Contains(err.Error(), "sent no answer within") {
				// No TCP_NOTSENT_LOWAT: the kernel may take the whole part, and
				// the answer's wait runs out instead (bounded all the same).
				tc.msg, tc.hint = "", "git vsync doctor"
			}
			wantCode(t, err, tc.wantCode, tc.msg)
			if !strings.Contains(fail.HintOf(err), tc.hint) || !strings.Contains(err.Error(), "nothing was published") {
				t.Fatalf("error %q, hint %q", err, fail.HintOf(err))
			}
			if n := versionRequests(log); n["DELETE"] < 1 {
				t.Fatalf("the upload was not aborted: %v", log)
			}
			sameTree(t, after, before)
			if after["acme_web/dev/latest"] != ts1 {
				t.Fatal("latest moved")
			}
			res, err = a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
			if err != nil || res.Unchanged {
				t.Fatalf("the push again: %+v %v", res, err)
			}
		})
	}
}

// TestPushKillHelper is the child process of TestPushMultipartSurvivesKill.
func TestPushKillHelper(t *testing.T) {
	if os.Getenv("VSYNC_KILL_HELPER") != "push" {
		return // only a helper process
	}
	store.SetMultipartSizes(5*mib, 5*mib)
	a := &App{Dir: os.Getenv("VSYNC_KILL_DIR"), Getenv: os.Getenv, Keychain: &keychaintest.Memory{}, Log: io.Discard, Now: time.Now}
	if _, err := a.Push(bg, a.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}}); err != nil {
		fmt.Println("helper push:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestPushMultipartSurvivesKill: a push killed (SIGKILL) while its parts go up
// leaves an incomplete multipart upload, which is never a version: `latest`
// and the versions are as before, pull works, and the next push goes through.
func TestPushMultipartSurvivesKill(t *testing.T) {
	m := newMachine(t)
	url, proxy, bucket := multipartStore(t, m)
	a, ts1 := setup(t, m, url)
	key, err := m.kc.Get(bg, keychain.Account("acme_web", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	m.env["VSYNC_KEY_DEV"] = key
	before := directBucket(t, a, proxy.URL)
	bigVault(t, a, "keystore.p12")
	proxy.Set(testenv.FaultRule{Method: "PUT", Path: "/versions/", Fault: testenv.StallFirst, After: 1})
	cmd := exec.Command(os.Args[0], "-test.run=^TestPushKillHelper$")
	cmd.Env = append(m.Environ(), "VSYNC_KILL_HELPER=push", "VSYNC_KILL_DIR="+a.dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once the first part went up and the second is on its way.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(strings.Join(proxy.Log(), "\n"), "stall-first"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the helper never reached its second part: %s\n%v", out.String(), proxy.Log())
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	proxy.Set()
	left := testenv.Versitygw(t).PendingUploads(t, bucket)
	if len(left) != 1 || !strings.Contains(left[0], "/versions/") {
		t.Fatalf("uploads after the kill: %v", left)
	}
	after := directBucket(t, a, proxy.URL)
	sameTree(t, after, before)
	if after["acme_web/dev/latest"] != ts1 {
		t.Fatal("latest moved")
	}
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatalf("pull after the kill: %v", err)
	}
	a.app.Now = func() time.Time { return time.Now().Add(time.Hour) }
	res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
	if err != nil || res.Unchanged {
		t.Fatalf("push after the kill: %+v %v", res, err)
	}
	if got := directBucket(t, a, proxy.URL)["acme_web/dev/latest"]; got != res.TS {
		t.Fatalf("latest %s, pushed %s", got, res.TS)
	}
}
