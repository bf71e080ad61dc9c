//go:build unix

package app

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/audit"
	"github.com/git-vsync/git-vsync/internal/store"
)

// TestHostileLocalFilesFailFast: a committed .vsync, the config, a key file, a
// share and a passphrase file that are /dev/zero (through a symlink) or a FIFO
// give a clear error at once, in commands and in hooks, instead of blocking or
// filling memory.
func TestHostileLocalFilesFailFast(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	quick := func(what string, f func() error, want string) {
		t.Helper()
		start := time.Now()
		err := f()
		if took := time.Since(start); took > time.Second {
			t.Fatalf("%s took %v", what, took)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: want an error with %q, got %v", what, want, err)
		}
	}
	for _, target := range []string{"/dev/zero", fifo} {
		pin := filepath.Join(a.dir, ".vsync")
		os.Remove(pin)
		os.Symlink(target, pin)
		quick(".vsync -> "+target, func() error { _, err := a.app.Status(bg, a.app.Resolve(""), false); return err }, "not a regular file")
		quick("push with .vsync -> "+target, func() error { _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); return err }, "not a regular file")
		a.log.Reset()
		start := time.Now()
		a.app.HookPostCheckout(bg, a.app.Resolve(""), []string{"x", "y", "1"})
		if took := time.Since(start); took > time.Second || !strings.Contains(a.log.String(), "not a regular file") {
			t.Fatalf("post-checkout with .vsync -> %s: %v %q", target, took, a.log.String())
		}
		os.Remove(pin)
		os.WriteFile(pin, []byte("repo=acme_web\n"), 0o644)

		m.env["VSYNC_KEY_FILE"] = target
		a.write("dev", "new", "x")
		quick("VSYNC_KEY_FILE="+target, func() error { _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); return err }, "key file")
		delete(m.env, "VSYNC_KEY_FILE")
		os.Remove(filepath.Join(a.vault("dev"), "new"))

		quick("share "+target, func() error {
			_, err := a.app.Import(bg, a.app.Resolve(""), "dev", target, "pass", ImportOptions{})
			return err
		}, "cannot read")
		quick("passphrase file "+target, func() error { _, err := a.app.ReadPassphraseFile(target); return err }, "cannot read")

		cfg := filepath.Join(m.ConfigDir(), "acme_web", "env_dev")
		good, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(cfg)
		os.Symlink(target, cfg)
		quick("config -> "+target, func() error { _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); return err }, "not a regular file")
		os.Remove(cfg)
		os.WriteFile(cfg, good, 0o600)

		// import and init read the config of the env they set up first (it
		// blocked on a FIFO, and SIGTERM did not end the wait).
		stg := filepath.Join(m.ConfigDir(), "acme_web", "env_stg")
		os.Symlink(target, stg)
		quick("import's config -> "+target, func() error { _, err := a.app.readHalves(bg, m.ConfigDir(), "acme_web", "stg"); return err }, "read the existing config")
		os.Remove(stg)
	}
}

// TestHostileStoreAnswersBounded: `latest` and audit.csv over their limits are
// refused from their announced length (file store: the size; S3: Content-Length),
// and a body longer than announced is cut off while it is read.
func TestHostileStoreAnswersBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, _ := setup(t, m, storeURL)
		e, err := a.app.OpenEnv(a.app.Resolve(""), "dev")
		if err != nil {
			t.Fatal(err)
		}
		putObject(t, a, e.AuditKey(), []byte(strings.Repeat("x", 4096)))
		if _, _, err := store.GetLimited(bg, e.Store, e.AuditKey(), 4095); !isTooLarge(err) {
			t.Fatalf("want ErrTooLarge, got %v", err)
		}
		if body, _, err := store.GetLimited(bg, e.Store, e.AuditKey(), 4096); err != nil || len(body) != 4096 {
			t.Fatalf("at the limit: %d %v", len(body), err)
		}
		_ = audit.MaxLogSize
	})
}

func isTooLarge(err error) bool {
	return err != nil && strings.Contains(err.Error(), store.ErrTooLarge.Error())
}
