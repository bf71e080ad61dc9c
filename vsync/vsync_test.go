package vsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/testenv"
	"github.com/git-vsync/git-vsync/vsync"
)

func ctx() context.Context { return context.Background() }

func TestOpenReadsPublishedVersion(t *testing.T) {
	d := mustDemo(t)
	if err := d.publish("20260101-000000", map[string]string{
		".env.dev":       "A=1\nexport ML=\"x\\ny\"\nA=2\n",
		"tls/server.key": "KEY-BYTES",
		".env.prod":      "P=not-this-env\n",
	}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FROM_ENV": "e", "A": "env-loses"}
	s, err := vsync.OpenWith(ctx(), d.token, d.key,
		vsync.WithGetenv(func(k string) string { return env[k] }),
		vsync.WithDefaults(map[string]string{"DEF": "d", "FROM_ENV": "default-loses"}))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"A": "2", "ML": "x\ny"} {
		if got, ok := s.Get(k); !ok || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", k, got, ok, want)
		}
	}
	if _, ok := s.Get("P"); ok {
		t.Error("Get read another env's file")
	}
	for k, want := range map[string]string{"A": "2", "FROM_ENV": "e", "DEF": "d"} {
		if got, ok := s.Source(k); !ok || got != want {
			t.Errorf("Source(%s) = %q, %v; want %q", k, got, ok, want)
		}
	}
	if _, ok := s.Source("NOWHERE"); ok {
		t.Error("Source found a key nobody has")
	}
	if b, err := s.File("tls/server.key"); err != nil || string(b) != "KEY-BYTES" {
		t.Errorf("File = %q, %v", b, err)
	}
	if _, err := s.File("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("File(nope) = %v, want fs.ErrNotExist", err)
	}
	if s.Version() != "20260101-000000" || s.Env() != "dev" {
		t.Errorf("Version %q Env %q", s.Version(), s.Env())
	}
	if got := strings.Join(s.Keys(), ","); got != "A,ML" {
		t.Errorf("Keys = %s", got)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, s) + fmt.Sprintf(f, *s)
		if strings.Contains(out, "x\ny") || strings.Contains(out, "KEY-BYTES") || strings.Contains(out, "=2") || !strings.Contains(out, "A: <redacted>") {
			t.Errorf("%s shows too much or too little: %s", f, out)
		}
	}
	//lint:ignore SA9005 the point is that marshalling shows no value
	if js, _ := json.Marshal(s); strings.Contains(string(js), "KEY-BYTES") {
		t.Errorf("json shows a value: %s", js)
	}

	if changed, err := s.Changed(ctx()); err != nil || changed {
		t.Fatalf("Changed = %v, %v before a push", changed, err)
	}
	if err := d.publish("20260102-000000", map[string]string{".env.dev": "A=3\n"}); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Changed(ctx()); err != nil || !changed {
		t.Fatalf("Changed = %v, %v after a push", changed, err)
	}

	// Close wipes: the bytes File handed out before are copies, the held ones are zero.
	held, _ := s.File("tls/server.key")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get("A"); ok {
		t.Error("Get after Close")
	}
	if _, err := s.File("tls/server.key"); !errors.Is(err, vsync.ErrClosed) {
		t.Errorf("File after Close: %v", err)
	}
	if string(held) != "KEY-BYTES" {
		t.Error("Close wiped a copy handed out")
	}

	// WithVersion pins the older version.
	old, err := vsync.OpenWith(ctx(), d.token, d.key, vsync.WithVersion("20260101-000000"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if v, _ := old.Get("A"); v != "2" {
		t.Errorf("pinned version: A=%q", v)
	}
}

func TestOpenFromEnvironment(t *testing.T) {
	d := mustDemo(t)
	if err := d.publish("20260101-000000", map[string]string{".env.dev": "A=1\n"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile, keyFile := filepath.Join(dir, "token"), filepath.Join(dir, "key")
	os.WriteFile(tokenFile, []byte(d.token+"\n"), 0o600)
	os.WriteFile(keyFile, []byte(d.key+"\n"), 0o600)
	cases := []struct {
		name string
		env  map[string]string
		want error
	}{
		{"vars", map[string]string{"VSYNC_CONFIG": d.token, "VSYNC_KEY": d.key}, nil},
		{"passphrase", map[string]string{"VSYNC_CONFIG": d.token, "VSYNC_PASSPHRASE": d.key}, nil},
		{"files", map[string]string{"VSYNC_CONFIG_FILE": tokenFile, "VSYNC_PASSPHRASE_FILE": keyFile}, nil},
		{"no config", map[string]string{"VSYNC_KEY": d.key}, vsync.ErrConfigMissing},
		{"not a token", map[string]string{"VSYNC_CONFIG": "hello", "VSYNC_KEY": d.key}, vsync.ErrConfigMissing},
		{"no key", map[string]string{"VSYNC_CONFIG": d.token}, vsync.ErrKeyMissing},
		{"wrong key", map[string]string{"VSYNC_CONFIG": d.token, "VSYNC_KEY": "wrong"}, vsync.ErrWrongPassphrase},
		{"key file is a folder", map[string]string{"VSYNC_CONFIG": d.token, "VSYNC_KEY_FILE": dir}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := vsync.Open(ctx(), vsync.WithGetenv(func(k string) string { return c.env[k] }))
			if c.name == "key file is a folder" {
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), d.key) || strings.Contains(err.Error(), d.token) {
					t.Errorf("error shows a secret: %v", err)
				}
				return
			}
			defer s.Close()
			if v, _ := s.Get("A"); v != "1" {
				t.Errorf("A = %q", v)
			}
		})
	}
}

// Every other way a version can be unusable maps to a class too.
func TestOpenErrorClasses(t *testing.T) {
	d := mustDemo(t)
	if _, err := vsync.OpenWith(ctx(), d.token, d.key); !errors.Is(err, vsync.ErrNoVersion) {
		t.Errorf("empty store: %v", err)
	}
	if err := d.publish("20260101-000000", map[string]string{".env.dev": "A=1\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := vsync.OpenWith(ctx(), d.token, d.key, vsync.WithVersion("20250101-000000")); !errors.Is(err, vsync.ErrNoVersion) {
		t.Errorf("missing version: %v", err)
	}
	// A bundle sealed as another version (a replay under a new name).
	blob, err := os.ReadFile(filepath.Join(d.dir, "b", "demo", "dev", "versions", "20260101-000000.enc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.putRaw("20260202-000000", blob); err != nil {
		t.Fatal(err)
	}
	if _, err := vsync.OpenWith(ctx(), d.token, d.key); !errors.Is(err, vsync.ErrBundleCorrupt) || !strings.Contains(err.Error(), "sealed at") {
		t.Errorf("replayed bundle: %v", err)
	}
	// A hostile archive (a name escaping the vault).
	if err := d.put("20260303-000000", append([]byte("RQEM000120260303-000000"), zipWithName(t, "../evil")...)); err != nil {
		t.Fatal(err)
	}
	if _, err := vsync.OpenWith(ctx(), d.token, d.key); !errors.Is(err, vsync.ErrBundleCorrupt) {
		t.Errorf("hostile archive: %v", err)
	}
	// A broken latest pointer.
	if err := d.putRaw("20260404-000000", blob); err != nil {
		t.Fatal(err)
	}
	d.st.Put(ctx(), "demo/dev/latest", []byte("garbage"), storeCond())
	if _, err := vsync.OpenWith(ctx(), d.token, d.key); !errors.Is(err, vsync.ErrBundleCorrupt) {
		t.Errorf("bad pointer: %v", err)
	}
	// A token whose prefix is not <repo>/<env>/.
	if _, err := vsync.OpenWith(ctx(), "vsync-cfg-v1:", d.key); !errors.Is(err, vsync.ErrBundleCorrupt) {
		t.Errorf("empty token: %v", err)
	}
}

// The package's imports stay small: no CLI, git or keychain code.
func TestImportsStaySmall(t *testing.T) {
	goBin := testenv.NeedCommand(t, "go")
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/alecthomas/kong", "github.com/go-git/", "git-vsync/internal/keychain", "git-vsync/internal/cli",
			"git-vsync/internal/app", "git-vsync/internal/repo", "git-vsync/internal/config", "godbus", "wincred", "go-keychain"} {
			if strings.Contains(dep, bad) {
				t.Errorf("vsync imports %s", dep)
			}
		}
	}
}

// A *_FILE variable naming a FIFO is refused at once: opening one waits for a
// writer, and an app's start would hang.
func TestOpenRefusesAFIFO(t *testing.T) {
	d := mustDemo(t)
	fifo := filepath.Join(t.TempDir(), "key")
	testenv.Mkfifo(t, fifo)
	done := make(chan error, 1)
	go func() {
		_, err := vsync.Open(ctx(), vsync.WithGetenv(func(k string) string {
			return map[string]string{"VSYNC_CONFIG": d.token, "VSYNC_KEY_FILE": fifo}[k]
		}))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open blocked on the FIFO")
	}
}
