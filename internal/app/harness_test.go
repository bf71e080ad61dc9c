package app

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain/keychaintest"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// machine is one computer (testenv.Machine: HOME, XDG folders, variables) with an
// in-memory keychain shared by its clones, and one for its remembered keys.
type machine struct {
	*testenv.Machine
	t       *testing.T
	home    string
	kc      *keychaintest.Memory
	derived *keychaintest.Memory // App.Remembered
	env     map[string]string    // the Machine's Env
}

func newMachine(t *testing.T) *machine {
	tm := testenv.NewMachine(t)
	return &machine{Machine: tm, t: t, home: tm.Home, kc: &keychaintest.Memory{}, derived: &keychaintest.Memory{}, env: tm.Env}
}

// clone is one git clone on a machine.
type clone struct {
	*machine
	dir string
	log *bytes.Buffer
	app *App
}

// newClone makes a git repository pinned to repo name "acme_web".
func (m *machine) newClone(name string) *clone {
	m.t.Helper()
	dir := filepath.Join(m.home, name)
	gitRun(m.t, "", "init", "-q", dir)
	if err := os.WriteFile(filepath.Join(dir, ".vsync"), []byte("repo=acme_web\n"), 0o644); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/infra/vault/\n"), 0o644); err != nil {
		m.t.Fatal(err)
	}
	log := &bytes.Buffer{}
	return &clone{machine: m, dir: dir, log: log, app: &App{
		Dir: dir, Getenv: m.Getenv, Keychain: m.kc, Remembered: m.derived, Log: log, Now: time.Now, Version: "test",
	}}
}

func gitRun(t testing.TB, dir string, args ...string) {
	t.Helper()
	testenv.NeedCommand(t, "git")
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func (c *clone) vault(env string) string { return filepath.Join(c.dir, "infra", "vault", env) }

func (c *clone) write(env, rel, content string) {
	c.t.Helper()
	p := filepath.Join(c.vault(env), filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// tree returns path → content of every file below dir ("path/" for folders).
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if fi.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t testing.TB, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("trees differ:\n got %v\nwant %v", keys(got), keys(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Fatalf("trees differ at %s:\n got %v\nwant %v", k, keys(got), keys(want))
		}
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func wantCode(t testing.TB, err error, code fail.Code, msg string) {
	t.Helper()
	if fail.CodeOf(err) != code {
		t.Fatalf("want exit %d, got %d: %v", code, fail.CodeOf(err), err)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("want message containing %q, got %q", msg, err.Error())
	}
	if code != fail.OK && fail.HintOf(err) == "" {
		t.Fatalf("error without hint: %v", err)
	}
}

// backend is a store the sync tests run against.
type backend struct {
	name  string
	store func(t *testing.T, m *machine) string // returns an init --store URL, sets creds in m.env
}

var backends = []backend{
	{"file", func(t *testing.T, m *machine) string { return m.FileStore() }},
	{"versitygw", func(t *testing.T, m *machine) string { return m.S3Store() }},
}

// forEachBackend runs f against the file store and versitygw.
func forEachBackend(t *testing.T, f func(t *testing.T, m *machine, storeURL string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			m := newMachine(t)
			f(t, m, b.store(t, m))
		})
	}
}

var bg = context.Background()
