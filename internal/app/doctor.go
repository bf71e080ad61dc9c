package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/hooks"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// Check levels, from harmless to fatal.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Check is one finding of `doctor`.
type Check struct {
	Env    string `json:"env,omitempty"`
	Name   string `json:"check"`
	Level  string `json:"level"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
	code   fail.Code
}

// DoctorReport is every check, and the exit code of the worst failure.
type DoctorReport struct {
	Checks []Check `json:"checks"`
	Code   int     `json:"exit_code"`
}

// Doctor checks what push, pull and the hooks need, for one env or every env with a
// config: identity, both halves, the store (reachable, honouring conditional writes:
// SPEC §5.2), whether the latest version opens with this machine's key, the vault
// (present, ignored by git) and the hooks. It writes only a probe object, which it
// deletes again, and never changes the vault.
func (a *App) Doctor(ctx context.Context, target *Target, only string) (*DoctorReport, error) {
	rep := &DoctorReport{Checks: []Check{}}
	add := func(c Check) {
		rep.Checks = append(rep.Checks, c)
		if c.Level == CheckFail && (rep.Code == 0 || int(c.code) > rep.Code) {
			rep.Code = int(c.code)
		}
	}
	w, err := target.Get()
	if err != nil {
		return nil, err
	}
	add(Check{Name: "identity", Level: CheckOK, Detail: fmt.Sprintf("%s (from %s)", w.ID.Name, w.ID.Source)})
	if w.ID.Source == "origin" {
		rep.Checks[len(rep.Checks)-1] = Check{Name: "identity", Level: CheckWarn, Detail: fmt.Sprintf("%s (from the origin URL)", w.ID.Name),
			Hint: "commit a .vsync pin (repo=" + w.ID.Name + ") so clones with other remote URLs agree"}
	}
	envs := []string{only}
	if only == "" {
		envs, err = config.ListEnvs(w.ConfigRoot, w.ID.Name)
		if err != nil {
			return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "read the config folder")
		}
		envs = addTokenEnv(envs, a.Getenv)
		envs = addSyncedEnvs(envs, w)
		if len(envs) == 0 {
			add(Check{Name: "envs", Level: CheckWarn, Detail: "no env is set up on this machine",
				Hint: "`git vsync init dev`, or `git vsync import dev FILE.share`"})
		}
	} else if err := CheckEnv(only); err != nil {
		return nil, err
	}
	for _, env := range envs {
		a.doctorEnv(ctx, w, env, add)
	}
	if hs, err := hookStates(ctx, w.Repo); err != nil {
		add(Check{Name: "hooks", Level: CheckWarn, Detail: err.Error()})
	} else {
		var bad []string
		for _, name := range hooks.Names {
			if hs[name] != "installed" {
				bad = append(bad, name+" "+hs[name])
			}
		}
		if len(bad) == 0 {
			add(Check{Name: "hooks", Level: CheckOK, Detail: strings.Join(hooks.Names, ", ") + " installed"})
		} else {
			add(Check{Name: "hooks", Level: CheckWarn, Detail: strings.Join(bad, ", "), Hint: "`git vsync install`"})
		}
	}
	return rep, nil
}

func (a *App) doctorEnv(ctx context.Context, w *Workspace, env string, add func(Check)) {
	failed := func(name string, err error) {
		add(Check{Env: env, Name: name, Level: CheckFail, Detail: err.Error(), Hint: fail.HintOf(err), code: fail.CodeOf(err)})
	}
	e, err := a.openEnvIn(w, env)
	if errors.Is(err, config.ErrNotFound) {
		err = a.explainNoConfig(w, env, err)
	}
	if err != nil {
		failed("config", err)
		return
	}
	add(Check{Env: env, Name: "config", Level: CheckOK, Detail: "from " + e.ConfigSource + "; store " + e.Store.String()})

	keyText, keySrc, keyErr := a.LoadKey(ctx, w, env)
	if keyErr != nil {
		failed("key", keyErr)
	} else {
		c := Check{Env: env, Name: "key", Level: CheckOK, Detail: "from " + keySrc + " (" + a.Keychain.Name() + ")"}
		if keySrc == keychain.SourceEnv {
			c.Detail = "from the environment"
		}
		if !keychain.ValidKey(keyText) {
			c.Level, c.Hint = CheckWarn, "the key is not 44 characters of base64 as git-vsync makes them; it is used as given"
		}
		add(c)
	}
	a.doctorRemembered(ctx, w, env, add)

	start := time.Now()
	latest, _, err := e.Latest(ctx)
	if err != nil {
		failed("store", err)
		return
	}
	detail := "reachable, latest " + latest
	if latest == "" {
		detail = "reachable, nothing pushed yet"
	}
	add(Check{Env: env, Name: "store", Level: CheckOK, Detail: fmt.Sprintf("%s (%s)", detail, time.Since(start).Round(time.Millisecond))})

	switch err := store.ProbeConditional(ctx, e.Store, e.Layout().Probe()); {
	case errors.Is(err, store.ErrConditionalIgnored):
		add(Check{Env: env, Name: "conditional writes", Level: CheckWarn, Detail: "IGNORED by this store: concurrent pushes could overwrite each other",
			Hint: "use a store that honours If-None-Match / If-Match (AWS S3, MinIO, versitygw, R2)"})
	case errors.Is(err, store.ErrAccessDenied):
		// A least-privilege key (export --ci-token --profile): say what it can do.
		c := Check{Env: env, Name: "write access", Level: CheckWarn,
			Detail: "denied: these credentials can read but not write; cannot: push, rotate, audit entries",
			Hint:   "push from a machine with a read-write key of this bucket"}
		if e.ConfigSource == ConfigSourceEnv {
			c.Level, c.Detail = CheckOK, "read-only, as a CI token should be; can: pull, run --remote, env, get, versions; cannot: push, rotate, audit entries"
		}
		add(c)
	case err != nil:
		failed("conditional writes", store.AsFail(err, "probe conditional writes"))
	default:
		add(Check{Env: env, Name: "conditional writes", Level: CheckOK, Detail: "honoured (412 on a lost race)"})
	}

	switch _, err := e.Store.List(ctx, e.Layout().Versions()); {
	case errors.Is(err, store.ErrAccessDenied):
		add(Check{Env: env, Name: "list versions", Level: CheckWarn, Detail: "denied: `versions`, `pull --at` lookups and `rotate --purge-old` need it",
			Hint: "grant s3:ListBucket on the prefix " + e.Prefix() + " (`git vsync export " + env + " --ci-token` prints the policy)"})
	case err != nil:
		failed("list versions", store.AsFail(err, "list the versions of "+env))
	default:
		add(Check{Env: env, Name: "list versions", Level: CheckOK, Detail: "allowed"})
	}

	if latest != "" && keyErr == nil {
		if err := a.doctorOpenLatest(ctx, e, latest); err != nil {
			failed("latest version", err)
		} else {
			add(Check{Env: env, Name: "latest version", Level: CheckOK, Detail: latest + " opens with this key"})
		}
	}

	switch _, err := vault.List(e.VaultDir); {
	case err == nil:
		c := Check{Env: env, Name: "vault", Level: CheckOK, Detail: e.VaultDir}
		if !vaultIgnored(e.Repo, e.VaultRel) {
			c.Level, c.Detail = CheckWarn, e.VaultRel+" is not ignored by git: secrets could be committed"
			c.Hint = "add /" + strings.TrimSuffix(e.VaultRel, "/") + "/ to .gitignore"
		}
		add(c)
	case errors.Is(err, fs.ErrNotExist):
		add(Check{Env: env, Name: "vault", Level: CheckWarn, Detail: e.VaultDir + " does not exist", Hint: "`git vsync pull " + env + "`"})
	default:
		failed("vault", err)
	}
}

// doctorRemembered reports a remembered key whose key is gone from the keychain:
// the key was removed by hand (secret-tool, Keychain Access), and its AES key, which
// opens the env's versions as well, was left behind. Doctor changes nothing, so it
// names the command that removes it.
func (a *App) doctorRemembered(ctx context.Context, w *Workspace, env string, add func(Check)) {
	if a.Remembered == nil {
		return
	}
	account := keychain.Account(w.ID.Name, env)
	if _, err := a.Remembered.Get(ctx, account); err != nil {
		return
	}
	if _, err := a.Keychain.Get(ctx, account); !errors.Is(err, keychain.ErrNotFound) {
		return
	}
	add(Check{Env: env, Name: "remembered key", Level: CheckWarn,
		Detail: "the keychain has no key for " + account + " but still remembers its AES key (" + keychain.DerivedService + "), which opens the env's versions",
		Hint:   "if you removed the key on purpose, remove that too: `" + keychain.DerivedRemoveCommand(account) + "`"})
}

// doctorOpenLatest downloads the latest bundle (streamed through a temp file) and
// checks that it opens with this machine's key and carries the right seal.
func (a *App) doctorOpenLatest(ctx context.Context, e *EnvHandle, ts string) error {
	f, err := e.download(ctx, ts)
	if err != nil {
		return store.AsFail(err, "download version "+ts)
	}
	defer f.remove()
	aesKey, _, _, err := e.Key(ctx)
	if err != nil {
		return err
	}
	_, err = openBundle(aesKey, f.File, f.size, ts, e.Name)
	return err
}
