package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Machine is one computer for a test: a HOME of its own with its XDG folders, the
// environment variables its programs see, and git set up as on a fresh machine
// (no system config, a fixed author). Every package's tests that need "a machine"
// start from NewMachine instead of assembling HOME and XDG_* themselves; a keychain
// is the test's own choice (keychaintest.Memory, or the real keyring through
// scripts/ci-env.sh), as are the store (FileStore, S3Store) and clones (Git).
type Machine struct {
	Home string
	// Env holds the machine's variables: Getenv answers only from it (what an App
	// under test sees); Environ lays it over the test process's environment (what a
	// child process sees). Tests add to it before starting what reads it.
	Env map[string]string

	t  testing.TB
	mu sync.Mutex
}

// NewMachine makes a machine in a fresh temporary folder (symlinks resolved, so
// paths compare equal to what git prints).
func NewMachine(t testing.TB) *Machine {
	t.Helper()
	home := t.TempDir()
	if r, err := filepath.EvalSymlinks(home); err == nil {
		home = r
	}
	m := &Machine{Home: home, t: t, Env: MachineEnv(home)}
	return m
}

// MachineEnv is the variables of a machine whose HOME is home: its XDG folders
// where a fresh account has them, no system git config, a fixed git author.
// NewMachine and the CLI's testscript Setup (which has no testing.TB) both build
// their machine from it, so the two are the same machine.
func MachineEnv(home string) map[string]string {
	return map[string]string{
		"HOME":                home,
		"XDG_CONFIG_HOME":     filepath.Join(home, ".config"),
		"XDG_DATA_HOME":       filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME":      filepath.Join(home, ".cache"),
		"XDG_STATE_HOME":      filepath.Join(home, ".local", "state"),
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME":     "Test",
		"GIT_AUTHOR_EMAIL":    "test@example.com",
		"GIT_COMMITTER_NAME":  "Test",
		"GIT_COMMITTER_EMAIL": "test@example.com",
	}
}

// ConfigDir is git-vsync's config folder on the machine ($XDG_CONFIG_HOME/vsync).
func (m *Machine) ConfigDir() string { return filepath.Join(m.Env["XDG_CONFIG_HOME"], "vsync") }

// Getenv answers from the machine's variables only (for App.Getenv).
func (m *Machine) Getenv(k string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.Env[k]
}

// Setenv sets one of the machine's variables; safe while an App reads them.
func (m *Machine) Setenv(k, v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Env[k] = v
}

// Environ is the test process's environment with the machine's variables over it,
// for child processes (git, git-vsync).
func (m *Machine) Environ() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !has(m.Env, k) {
			out = append(out, kv)
		}
	}
	for k, v := range m.Env {
		out = append(out, k+"="+v)
	}
	return out
}

// Git runs git in dir on the machine and returns its standard output; a failure
// fails the test. Without git the test skips (fails under CI=true).
func (m *Machine) Git(dir string, args ...string) string {
	m.t.Helper()
	git := NeedCommand(m.t, "git")
	cmd := exec.Command(git, args...)
	cmd.Dir = dir
	cmd.Env = m.Environ()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		m.t.Fatalf("git %v in %s: %v\n%s", args, dir, err, stderr.String())
	}
	return string(out)
}

// FileStore is the init --store URL of a fresh folder store ("file://…#team").
func (m *Machine) FileStore() string {
	return "file://" + filepath.ToSlash(m.t.TempDir()) + "#team"
}

// S3Store is the init --store URL of a fresh bucket on the shared versitygw, with
// its credentials set in the machine's AWS_* variables.
func (m *Machine) S3Store() string {
	m.t.Helper()
	srv := Versitygw(m.t)
	bucket := srv.NewBucket(m.t)
	m.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	m.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	return srv.Endpoint + "/" + bucket
}

func has(m map[string]string, k string) bool { _, ok := m[k]; return ok }
