package keychain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
)

func mapenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestAccount(t *testing.T) {
	if got := Account("acme_web", "dev"); got != "acme_web/dev" {
		t.Fatalf("Account = %q", got)
	}
	if Service != "tools.vsync" {
		t.Fatalf("Service = %q", Service)
	}
}

func TestFromEnvOrder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte("from-file\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env   string
		vars        map[string]string
		key, source string
		ok          bool
	}{
		{"none", "dev", nil, "", "", false},
		{"per-env wins", "dev", map[string]string{"VSYNC_KEY_DEV": "per", "VSYNC_KEY": "all", "VSYNC_KEY_FILE": file}, "per", "VSYNC_KEY_DEV", true},
		{"dash to underscore", "eu-west", map[string]string{"VSYNC_KEY_EU_WEST": "eu"}, "eu", "VSYNC_KEY_EU_WEST", true},
		{"other env ignored", "dev", map[string]string{"VSYNC_KEY_PROD": "p"}, "", "", false},
		{"generic", "dev", map[string]string{"VSYNC_KEY": "all", "VSYNC_KEY_FILE": file}, "all", "VSYNC_KEY", true},
		{"file", "dev", map[string]string{"VSYNC_KEY_FILE": file}, "from-file", "VSYNC_KEY_FILE", true},
		{"blank is unset", "dev", map[string]string{"VSYNC_KEY_DEV": "  ", "VSYNC_KEY": "all"}, "all", "VSYNC_KEY", true},
		{"trimmed", "dev", map[string]string{"VSYNC_KEY": " k \n"}, "k", "VSYNC_KEY", true},
		{"blank file var is unset", "dev", map[string]string{"VSYNC_KEY_FILE": " "}, "", "", false},
		{"env named file keeps VSYNC_KEY_FILE a path", "file", map[string]string{"VSYNC_KEY_FILE": file}, "from-file", "VSYNC_KEY_FILE", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, source, ok, err := FromEnv(tc.env, mapenv(tc.vars))
			if err != nil {
				t.Fatal(err)
			}
			if key != tc.key || source != tc.source || ok != tc.ok {
				t.Fatalf("FromEnv = %q, %q, %v; want %q, %q, %v", key, source, ok, tc.key, tc.source, tc.ok)
			}
		})
	}
}

func TestFromEnvBadFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("SECRETCONTENT", 10000)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "absent"), dir, empty, big} {
		_, _, ok, err := FromEnv("dev", mapenv(map[string]string{"VSYNC_KEY_FILE": path}))
		if err == nil || ok {
			t.Fatalf("%s: want an error, got ok=%v", path, ok)
		}
		msg := err.Error()
		if !strings.Contains(msg, path) || !strings.Contains(msg, "VSYNC_KEY_FILE") {
			t.Errorf("error does not name the path and variable: %q", msg)
		}
		if strings.Contains(msg, "SECRETCONTENT") {
			t.Errorf("error leaks the content: %q", msg)
		}
		if fail.CodeOf(err) != fail.NotSetUp || fail.HintOf(err) == "" {
			t.Errorf("want a NotSetUp error with a hint, got code %d hint %q", fail.CodeOf(err), fail.HintOf(err))
		}
	}
}

func TestFromEnvDefaultsToOSGetenv(t *testing.T) {
	t.Setenv("VSYNC_KEY_STAGING", "os-key")
	key, source, ok, err := FromEnv("staging", nil)
	if err != nil || !ok || key != "os-key" || source != "VSYNC_KEY_STAGING" {
		t.Fatalf("FromEnv = %q, %q, %v, %v", key, source, ok, err)
	}
}

func TestKeys(t *testing.T) {
	a, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewKey()
	if len(a) != 44 || !ValidKey(a) || a == b {
		t.Fatalf("NewKey: %q %q", a, b)
	}
	for _, bad := range []string{
		"",
		a[:43],
		strings.Repeat("A", 44),           // 33 bytes, no padding
		strings.Repeat("A", 42) + "B=",    // non-canonical last character
		"!" + a[1:],                       // not base64
		strings.TrimRight(a, "=") + "AAA", // wrong length
		strings.ReplaceAll(a, "+", "-"),   // URL alphabet is not std; may equal a, see below
	} {
		if bad == a {
			continue
		}
		if ValidKey(bad) {
			t.Errorf("ValidKey(%q) = true", bad)
		}
	}
	if !ValidKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") {
		t.Error("ValidKey rejects the zero key")
	}
}

func TestTimeoutSetting(t *testing.T) {
	for in, want := range map[string]time.Duration{"": DefaultTimeout, "3s": 3 * time.Second, " 10 ": 10 * time.Second, "1.5": 1500 * time.Millisecond, "250ms": 250 * time.Millisecond} {
		got, err := parseTimeout(in)
		if err != nil || got != want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"soon", "-1s", "0", "1e9"} {
		if _, err := parseTimeout(in); err == nil || !strings.Contains(err.Error(), TimeoutEnv) {
			t.Errorf("parseTimeout(%q): want an error naming %s, got %v", in, TimeoutEnv, err)
		}
	}

	t.Setenv(TimeoutEnv, "7s")
	if d, _ := Timeout(context.Background()); d != 7*time.Second {
		t.Errorf("env timeout: %v", d)
	}
	if d, _ := Timeout(WithTimeout(context.Background(), time.Second)); d != time.Second {
		t.Errorf("WithTimeout must win over the env: %v", d)
	}
}

var testBackend = backend{name: "Test Keyring", stuck: "poke it"}

func TestBoundedTimesOut(t *testing.T) {
	ctx := WithTimeout(context.Background(), 100*time.Millisecond)
	start := time.Now()
	err := bounded(ctx, testBackend, func(context.Context) error { select {} })
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want ErrUnavailable and DeadlineExceeded, got %v", err)
	}
	if !strings.Contains(err.Error(), "Test Keyring") || !strings.Contains(err.Error(), "100ms") {
		t.Errorf("message does not name the backend and the time: %q", err)
	}
	if h := fail.HintOf(err); !strings.Contains(h, "poke it") || !strings.Contains(h, TimeoutEnv) || !strings.Contains(h, "VSYNC_KEY") {
		t.Errorf("hint %q", h)
	}

	// An earlier deadline of the caller wins over the per-call timeout.
	cctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = bounded(cctx, testBackend, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if time.Since(start) > 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller deadline: %v after %v", err, time.Since(start))
	}

	// A bad VSYNC_KEYCHAIN_TIMEOUT is reported before anything runs.
	t.Setenv(TimeoutEnv, "never")
	ran := false
	err = bounded(context.Background(), testBackend, func(context.Context) error { ran = true; return nil })
	if err == nil || ran || fail.CodeOf(err) != fail.Usage {
		t.Fatalf("bad timeout env: ran=%v err=%v", ran, err)
	}
}

func TestNativeName(t *testing.T) {
	if Native().Name() == "" {
		t.Fatal("Native().Name() is empty")
	}
}
