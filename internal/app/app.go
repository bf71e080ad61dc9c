// Package app holds the use cases of git-vsync (status, init, push, pull, …). It
// is driven by internal/cli, which only parses and prints, and it drives the parts
// (repo, config, keychain, envelope, bundle, store, state, audit).
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/repo"
	"github.com/git-vsync/git-vsync/internal/store"
)

// App is one invocation's world: where it runs, its environment and its keychain.
type App struct {
	Dir      string              // working folder
	Getenv   func(string) string // the process environment
	Environ  func() []string     // all of it, for `run` (nil: os.Environ)
	Keychain keychain.Keychain   // the OS keychain (or a test double)
	// Remembered holds the AES keys derived from Keychain's keys, under
	// keychain.DerivedService (remember.go); nil remembers nothing.
	Remembered keychain.Keychain
	Log        io.Writer // progress and warnings (stderr)
	Now        func() time.Time
	Version    string
	// Trace, when set, receives one line per store request (--verbose).
	Trace io.Writer
	// Progress, when set (a terminal, not --quiet), shows a progress line for
	// uploads and downloads over a few MB.
	Progress io.Writer
}

// New returns an App for the real process.
func New(version string, log io.Writer) *App {
	wd, _ := os.Getwd()
	return &App{
		Dir:        wd,
		Getenv:     os.Getenv,
		Keychain:   keychain.Native(),
		Remembered: keychain.NativeDerived(),
		Log:        log,
		Now:        time.Now,
		Version:    version,
	}
}

// Workspace is the repository a command works on and where its halves live.
type Workspace struct {
	Repo       *repo.Repo
	ID         repo.Identity
	ConfigRoot string
	Getenv     func(string) string // for the runtime config token; nil = none
	// stores shares S3 clients between the envs this command opens (the hook
	// probes them all at once): one transport and credential lookup per store.
	stores store.Clients
}

// Target is what one command works on, resolved once by Resolve and passed to
// every use case: the repository around a.Dir, its identity and the config root.
// When that fails, Err says why and the use case reports it where it did before;
// Flag (--repo as typed) and Repo (when one was found) stay for the commands
// that can work without a full workspace (a runtime token outside a checkout,
// import naming the repository from the share, completion).
type Target struct {
	Flag  string     // --repo as typed
	Repo  *repo.Repo // nil outside a repository
	W     *Workspace // nil when Err is set
	Err   error
	idErr error // the identity could not be told (Repo is set)
}

// Resolve opens the repository around a.Dir and resolves its identity, once per
// command (internal/cli calls it).
func (a *App) Resolve(repoFlag string) *Target {
	t := &Target{Flag: repoFlag}
	r, err := repo.Open(a.Dir, a.Getenv)
	if err != nil {
		t.Err = err
		return t
	}
	t.Repo = r
	id, err := r.Identity(repoFlag)
	if err != nil {
		t.Err, t.idErr = err, err
		return t
	}
	root, err := config.Root(a.Getenv)
	if err != nil {
		t.Err = err
		return t
	}
	t.W = &Workspace{Repo: r, ID: id, ConfigRoot: root, Getenv: a.Getenv}
	return t
}

// Get is the workspace, or why there is none.
func (t *Target) Get() (*Workspace, error) {
	return t.W, t.Err
}

// Identity is the repository's identity, or why it cannot be told (Repo set).
func (t *Target) Identity() (repo.Identity, error) {
	if t.W != nil {
		return t.W.ID, nil
	}
	if t.idErr != nil {
		return repo.Identity{}, t.idErr
	}
	return t.Repo.Identity(t.Flag)
}

// CheckEnv validates an env name given on the command line.
func CheckEnv(env string) error {
	if !repo.ValidEnv(env) {
		return fail.New(fail.Usage, "env names start with a lower-case letter, then letters, digits, '-' or '_' (e.g. dev, prod, stage-2)",
			"invalid env name %q", env)
	}
	return nil
}

// ConfigPath is the disk half of env.
func (w *Workspace) ConfigPath(env string) string {
	return config.EnvPath(w.ConfigRoot, w.ID.Name, env)
}

// LoadConfig reads the disk half of env, failing with exit 4 when it is absent.
func (w *Workspace) LoadConfig(env string) (*config.File, error) {
	c, _, err := w.LoadConfigSource(env)
	return c, err
}

// LoadConfigSource is LoadConfig that also says where the config came from: a
// runtime token in the environment (VSYNC_CONFIG_<ENV>, VSYNC_CONFIG) wins over the
// file, as a key in the environment wins over the keychain.
func (w *Workspace) LoadConfigSource(env string) (*config.File, string, error) {
	if name, value := configTokenVar(env, w.Getenv); value != "" {
		c, err := configFromToken(name, value, w.ID.Name, env)
		return c, ConfigSourceEnv, err
	}
	c, err := config.Load(w.ConfigPath(env))
	if errors.Is(err, config.ErrNotFound) {
		return nil, "", &fail.Error{Code: fail.NotSetUp, Err: config.ErrNotFound,
			What: fmt.Sprintf("no config for %s/%s on this machine", w.ID.Name, env),
			Hint: "run `git vsync init " + env + "` to create it, or `git vsync import " + env + " FILE.share` with a teammate's share (in CI: set VSYNC_CONFIG to `git vsync export " + env + " --ci-token`)"}
	}
	return c, ConfigSourceFile, err
}

// Resolver returns the key lookup of this invocation (environment first).
func (a *App) Resolver() *keychain.Resolver {
	return &keychain.Resolver{Chain: a.Keychain, Getenv: a.Getenv}
}

// LoadKey returns the key of (repo, env) and its source, failing with exit 4 when
// it is absent.
func (a *App) LoadKey(ctx context.Context, w *Workspace, env string) (key, source string, err error) {
	key, source, err = a.Resolver().Lookup(ctx, w.ID.Name, env)
	if errors.Is(err, keychain.ErrNotFound) {
		return "", "", fail.New(fail.NotSetUp,
			"import a share from a teammate: `git vsync import "+env+" FILE.share`, or set VSYNC_KEY",
			"no key for %s/%s in the keychain or the environment", w.ID.Name, env)
	}
	return key, source, err
}
