package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/dotenv"
	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/cfgtoken"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/git"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/published"
	"github.com/git-vsync/git-vsync/internal/repo"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// SecretsOptions say where `run`, `env` and `get` read an env's keys from.
type SecretsOptions struct {
	Remote bool   // the store's latest version instead of the local vault
	At     string // this published version (implies Remote)
	Files  bool   // also read the other vault files (run --files-dir)
}

// Secrets are an env's keys and, when asked for, its other files, in memory only.
type Secrets struct {
	Env     string
	From    string // the vault folder, or "version <ts>" of the store
	Entries []dotenv.Entry
	Files   []bundle.File // the vault files other than .env.<env>, when asked for
}

// Wipe overwrites the files' contents. (Values are Go strings and cannot be.)
func (s *Secrets) Wipe() {
	if s != nil {
		bundle.Wipe(s.Files)
		s.Files, s.Entries = nil, nil
	}
}

// LoadSecrets reads the keys of <vault>/.env.<env>: from the local vault, or with
// Remote/At from a published version, straight from the store into memory. The
// remote source works outside any checkout when VSYNC_CONFIG(_<ENV>) holds a
// runtime token: the repository name then comes from the token (or --repo).
func (a *App) LoadSecrets(ctx context.Context, target *Target, env string, o SecretsOptions) (*Secrets, error) {
	if err := CheckEnv(env); err != nil {
		return nil, err
	}
	if o.At != "" && !rqem.ValidTS(o.At) {
		return nil, fail.New(fail.Usage, "timestamps look like 20260131-235959; `git vsync versions "+env+"` lists them", "invalid --at %q", o.At)
	}
	if o.Remote || o.At != "" {
		return a.loadPublished(ctx, target, env, o)
	}
	e, err := a.OpenEnv(target, env)
	if err != nil {
		return nil, err
	}
	return loadVault(e, o.Files)
}

// dotenvName is the file of an env's keys inside its vault.
func dotenvName(env string) string { return ".env." + env }

func loadVault(e *EnvHandle, withFiles bool) (*Secrets, error) {
	// env, get and run hand these values to a program or a terminal: not from
	// outside the repository through an `infra` that a branch made a link.
	if err := e.checkVaultParents(); err != nil {
		return nil, err
	}
	name := dotenvName(e.Name)
	path := filepath.Join(e.VaultDir, name)
	doc, err := dotenv.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail.New(fail.NotSetUp, "bring the published version with `git vsync pull "+e.Name+"`, or read it without a copy: `--remote`",
			"%s does not exist", path)
	}
	if err != nil {
		return nil, dotenvError(err, path)
	}
	s := &Secrets{Env: e.Name, From: e.VaultDir, Entries: doc.Entries()}
	if !withFiles {
		return s, nil
	}
	files, err := vault.List(e.VaultDir)
	if err != nil {
		return nil, fail.Wrap(fail.CodeOf(err), err, fail.HintOf(err), "read the vault %s", e.vaultName())
	}
	if err := bundle.DefaultLimits.Check(files); err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Dir || f.Path == name {
			continue
		}
		data, err := readVaultFile(e.VaultDir, f.Path, bundle.DefaultLimits.MaxTotalBytes)
		if err != nil {
			s.Wipe()
			return nil, fail.Wrap(fail.CodeOf(err), err, fail.HintOf(err), "read the vault file %s", f.Path)
		}
		s.Files = append(s.Files, bundle.File{Path: f.Path, Data: data})
	}
	return s, nil
}

// readVaultFile reads a regular vault file of at most max bytes.
func readVaultFile(dir, rel string, max int64) ([]byte, error) {
	f, err := vault.Open(dir, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		clear(b)
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, err
}

// dotenvError explains a dotenv file that does not parse; the parser names the
// line, never the value.
func dotenvError(err error, path string) error {
	var de *dotenv.Error
	if errors.As(err, &de) {
		return fail.Wrap(fail.Failure, err, "fix that line (docs/dotenv.md has the syntax)", "%s does not parse", path)
	}
	return fail.Wrap(fail.Failure, err, fail.HintLocal, "read %s", path)
}

// remoteEnv is what reading a published version needs.
type remoteEnv struct {
	name   string
	st     store.Store
	layout store.Layout
	key    func(context.Context) ([]byte, error)
}

// openRemote opens the store of env: through the repository when there is one,
// else from the runtime token alone (CI, servers: no checkout).
func (a *App) openRemote(target *Target, env string) (*remoteEnv, error) {
	w, werr := target.Get()
	if werr == nil {
		e, err := a.openEnvIn(w, env)
		if err != nil {
			return nil, err
		}
		return &remoteEnv{name: env, st: e.Store, layout: e.Layout(), key: func(ctx context.Context) ([]byte, error) {
			k, _, _, err := e.Key(ctx)
			return k, err
		}}, nil
	}
	varName, value := configTokenVar(env, a.Getenv)
	if value == "" || !errors.Is(werr, git.ErrNotARepo) {
		return nil, werr
	}
	repoName := target.Flag
	if repoName == "" {
		// The token names its prefix <repo>/<env>/; configFromToken checks the env part.
		if t, err := cfgtoken.Decode(value); err == nil {
			repoName, _, _ = strings.Cut(t.Prefix, "/")
		}
	}
	c, err := configFromToken(varName, value, repoName, env)
	if err != nil {
		return nil, err
	}
	if repoName == "" {
		return nil, fail.New(fail.NotSetUp, "pass --repo NAME, or make the token again with `git vsync export "+env+" --ci-token`",
			"%s names no bucket prefix, and this folder is not a git repository", varName)
	}
	st, err := OpenStore(c)
	if err != nil {
		return nil, err
	}
	w = &Workspace{ID: repo.Identity{Name: repoName, Source: varName}, Getenv: a.Getenv}
	return &remoteEnv{name: env, st: st, layout: store.EnvLayout(repoName, env), key: func(ctx context.Context) ([]byte, error) {
		keyText, source, err := a.LoadKey(ctx, w, env)
		if err != nil {
			return nil, err
		}
		k, err := a.aesKey(ctx, keychain.Account(w.ID.Name, env), keyText, source, c.Salt)
		if err != nil {
			return nil, err
		}
		return k, nil
	}}, nil
}

func (a *App) loadPublished(ctx context.Context, target *Target, env string, o SecretsOptions) (*Secrets, error) {
	r, err := a.openRemote(target, env)
	if err != nil {
		return nil, err
	}
	ts := o.At
	if ts == "" {
		ts, _, err = published.Latest(ctx, r.st, r.layout)
		if errors.Is(err, published.ErrNoVersion) {
			return nil, fail.New(fail.NotSetUp, "push a first version with `git vsync push "+env+"`", "the store has no version of %s yet", env)
		}
		if envelope.KindOf(err) != "" {
			return nil, fail.Envelope(err, "ask whoever pushed last to push again; `git vsync versions "+env+"` lists what the store holds",
				"the store's latest pointer for %s is unusable", env)
		}
		if err != nil {
			return nil, store.AsFail(err, "read the latest version of "+env)
		}
	}
	aesKey, err := r.key(ctx)
	if err != nil {
		return nil, err
	}
	defer clear(aesKey)
	v, err := published.Fetch(ctx, r.st, r.layout, aesKey, ts)
	switch {
	case errors.Is(err, store.ErrNotFound) && o.At != "":
		return nil, fail.New(fail.Usage, "`git vsync versions "+env+"` lists the versions the store holds", "the store has no version %s of %s", ts, env)
	case errors.Is(err, store.ErrNotFound):
		return nil, fail.New(fail.Integrity, "`git vsync versions "+env+"` lists what the store holds; whoever pushed last can push again",
			"the latest pointer of %s names version %s, which is missing from the store", env, ts)
	case envelope.KindOf(err) != "":
		return nil, integrityError(err, env, ts)
	case err != nil:
		return nil, store.AsFail(err, "download version "+ts+" of "+env)
	}
	s := &Secrets{Env: env, From: "version " + ts}
	name := dotenvName(env)
	found := false
	for _, f := range v.Files {
		if f.Path != name {
			if o.Files {
				s.Files = append(s.Files, f)
			} else {
				clear(f.Data)
			}
			continue
		}
		found = true
		entries, err := dotenv.Parse(f.Data)
		clear(f.Data)
		if err != nil {
			s.Wipe()
			return nil, dotenvError(err, name+" of version "+ts)
		}
		s.Entries = entries
	}
	if !found {
		s.Wipe()
		return nil, fail.New(fail.NotSetUp, "add "+name+" to the vault and push it", "version %s of %s holds no %s", ts, env, name)
	}
	return s, nil
}
