//go:build unix

package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// TestPushInterrupted: SIGINT or SIGTERM while push waits for the swap of
// `latest` exits 130 or 143, leaves no temp file and never a pointer to a
// missing version, whether the swap had reached the store or not.
func TestPushInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		fault   testenv.Fault
		applied bool
	}{
		{"sigint-applied", syscall.SIGINT, testenv.Stall, true},
		{"sigterm-unsent", syscall.SIGTERM, testenv.StallFirst, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := testenv.Versitygw(t)
			bucket := g.NewBucket(t)
			proxy := testenv.NewFaultProxy(t, g.Endpoint)
			h := newHookRepo(t, proxy.URL, bucket, g.Region, g.AccessKey, g.SecretKey)
			direct, err := store.Open(store.Config{Endpoint: g.Endpoint, Bucket: bucket, Region: g.Region, AccessKeyID: g.AccessKey, SecretAccessKey: g.SecretKey})
			if err != nil {
				t.Fatal(err)
			}
			latestKey := h.name + "/dev/latest"
			before, _, err := direct.Get(context.Background(), latestKey)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(h.top, "infra", "vault", "dev", ".env.dev"), []byte("SECRET=two\n"), 0o600)
			time.Sleep(1100 * time.Millisecond) // a new second: a distinct version

			proxy.Set(testenv.FaultRule{Method: "PUT", Path: "/latest", Fault: tc.fault})
			cmd := exec.Command("git-vsync", "push", "dev")
			cmd.Dir, cmd.Env = h.top, h.env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(strings.Join(proxy.Log(), "\n"), "/latest stall") {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("the push never reached the swap: %v\n%s", proxy.Log(), out.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			cmd.Process.Signal(tc.sig)
			err = cmd.Wait()
			proxy.Set()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(tc.sig) {
				t.Fatalf("exit %v, want %d\n%s", err, 128+int(tc.sig), out.String())
			}
			now, _, err := direct.Get(context.Background(), latestKey)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := direct.Get(context.Background(), h.name+"/dev/versions/"+string(now)+".enc"); err != nil {
				t.Fatalf("latest %s names a missing version: %v", now, err)
			}
			if changed := string(now) != string(before); changed != tc.applied {
				t.Fatalf("latest %s → %s, applied=%v\n%s", before, now, tc.applied, out.String())
			}
			infos, _ := direct.List(context.Background(), h.name+"/dev/versions/")
			if want := map[bool]int{true: 2, false: 1}[tc.applied]; len(infos) != want {
				t.Fatalf("%d versions in the store, want %d (orphan?)", len(infos), want)
			}
			tmp, _ := filepath.Glob(filepath.Join(h.top, ".git", "vsync", "tmp", "*"))
			if len(tmp) > 0 {
				t.Fatalf("temp files left: %v", tmp)
			}
			if !strings.Contains(out.String(), "git-vsync: error:") {
				t.Fatalf("no message:\n%s", out.String())
			}
		})
	}
}
