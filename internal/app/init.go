package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/hooks"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/repo"
	"github.com/git-vsync/git-vsync/internal/store"
)

// InitOptions are the flags of `init`.
type InitOptions struct {
	Profile     string // a saved profile to copy the bucket from
	Store       string // a store URL (file:///dir, https://host/bucket, s3://bucket)
	Region      string
	VaultFolder string
	Audit       *bool
	NoGitignore bool
	NoHooks     bool // do not install the git hooks
	// MigrateFrom is a dotenv file (or a folder holding .env.<env>) to move into
	// the new vault as .env.<env>.
	MigrateFrom string
	// ForceNewKey starts the env over with a new key although the store already
	// holds versions of it (sealed with a key teammates have).
	ForceNewKey bool
	// AdoptKey writes a config around the key already in the keychain (the
	// config folder was lost), after checking that the key opens `latest`.
	AdoptKey bool
}

// InitResult says what init created.
type InitResult struct {
	Repo        string
	Env         string
	Store       string
	VaultDir    string
	Fingerprint string
	PinWritten  bool
	Gitignored  string        // the line added to .gitignore, if any
	Hooks       *hooks.Report // what installing the git hooks did (nil with NoHooks or on error)
	Warnings    []string
	// StoreLatest is the version the store already held (with ForceNewKey or AdoptKey).
	StoreLatest string
	Adopted     bool   // AdoptKey: the existing key was kept
	Migrated    string // the file moved into the vault (MigrateFrom)
}

// DefaultStoreDir is the embedded default store: a folder on this machine.
func DefaultStoreDir(getenv func(string) string) (string, error) {
	if x := strings.TrimSpace(getenv("XDG_DATA_HOME")); x != "" {
		return filepath.Join(x, "git-vsync", "store"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		home = h
	}
	return filepath.Join(home, ".local", "share", "git-vsync", "store"), nil
}

// Init creates both halves of (repo, env), the vault folder and the pin. It never
// replaces an existing half.
func (a *App) Init(ctx context.Context, target *Target, env string, o InitOptions) (*InitResult, error) {
	if err := CheckEnv(env); err != nil {
		return nil, err
	}
	w, err := target.Get()
	if err != nil {
		return nil, err
	}
	cfgPath := w.ConfigPath(env)
	account := keychain.Account(w.ID.Name, env)
	if o.AdoptKey && o.ForceNewKey {
		return nil, fail.New(fail.Usage, "--adopt-key keeps the key in the keychain, --force-new-key makes a new one: pass one of them", "--adopt-key and --force-new-key exclude each other")
	}
	cfgExists := false
	if _, err := os.Stat(cfgPath); err == nil {
		cfgExists = true
	}
	oldKey, err := a.Keychain.Get(ctx, account)
	keyExists := err == nil
	if err != nil && !errors.Is(err, keychain.ErrNotFound) {
		return nil, err
	}
	switch {
	case cfgExists:
		what := "config " + cfgPath
		if keyExists {
			what += ", keychain entry " + keychain.Service + " " + account
		}
		return nil, fail.New(fail.Refused,
			"to join with a teammate's key use `git vsync import "+env+" FILE.share --force`; to replace the key use `git vsync rotate "+env+"`",
			"%s/%s is already set up on this machine (%s); init never replaces it", w.ID.Name, env, what)
	case keyExists && !o.AdoptKey:
		// The config is gone but the key is not: the one-step ways back.
		return nil, keyWithoutConfigError(w.ID.Name, env)
	case !keyExists && o.AdoptKey:
		return nil, fail.New(fail.NotSetUp, "import a share from a teammate: `git vsync import "+env+" FILE.share`",
			"--adopt-key: the keychain holds no key for %s/%s", w.ID.Name, env)
	}
	var c *config.File
	if o.AdoptKey {
		c, err = a.adoptConfig(w, env, o)
	} else {
		c, err = a.initConfig(o)
	}
	if err != nil {
		return nil, err
	}
	key := oldKey
	if !o.AdoptKey {
		if key, err = keychain.NewKey(); err != nil {
			return nil, err
		}
	}
	// Derived while the store is checked and the halves written, so that the first
	// push or pull reads it (remember.go); --adopt-key's check against the store
	// waits for this derivation instead of running its own.
	arrived := a.deriveArriving(account, key, c.Salt)
	defer arrived.wait()
	if o.VaultFolder != "" {
		vf := strings.Trim(filepath.ToSlash(o.VaultFolder), "/")
		if err := config.CheckVaultFolder(vf); err != nil {
			return nil, fail.Wrap(fail.Usage, err, "pass a folder relative to the repository top, e.g. apps/web/infra/vault/"+env, "invalid --vault-folder")
		}
		c.VaultFolder = vf
	}
	// A vault path through a link the branch committed (`infra` -> elsewhere) would
	// put the vault folder, and a migrated dotenv, outside the repository: refused
	// before anything is written, as pull and push refuse it.
	if err := (&EnvHandle{Workspace: w, Name: env, VaultRel: c.Vault(env)}).checkVaultParents(); err != nil {
		return nil, err
	}
	var mig *migration
	if o.MigrateFrom != "" {
		if mig, err = a.planMigration(o.MigrateFrom, w.Repo.Top, w.Repo.VaultDir(c.Vault(env)), env); err != nil {
			return nil, err
		}
	}
	st, err := a.openStore(c)
	if err != nil {
		return nil, err
	}
	res := &InitResult{Repo: w.ID.Name, Env: env, Store: st.String()}
	if dir, ok := store.FileDir(c.S3.Endpoint); ok {
		// A file store is a folder we may create, like a bucket we own.
		if err := os.MkdirAll(filepath.Join(dir, c.S3.Bucket), 0o700); err != nil {
			return nil, fail.Wrap(fail.Unreachable, err, "create the folder yourself or choose another --store", "create the store folder")
		}
	}
	// The store is checked before anything is written, so a typo costs nothing.
	switch err := store.ProbeConditional(ctx, st, store.EnvLayout(w.ID.Name, env).Probe()); {
	case errors.Is(err, store.ErrConditionalIgnored):
		res.Warnings = append(res.Warnings, "this store IGNORES conditional writes: two teammates pushing at once could overwrite each other. Use a store that honours If-Match/If-None-Match.")
	case err != nil:
		return nil, store.AsFail(err, "check the store")
	}
	// An env the store already holds belongs to the team: a second key would make
	// every version pushed with it unreadable for everyone else.
	e := &EnvHandle{Workspace: w, Name: env, Config: c, Store: st, app: a}
	latest, _, err := e.Latest(ctx)
	if err != nil {
		return nil, err
	}
	res.StoreLatest = latest
	switch {
	case latest != "" && o.AdoptKey:
		if err := a.checkKeyOpens(ctx, e, oldKey, latest); err != nil {
			return nil, err
		}
	case latest != "" && !o.ForceNewKey:
		return nil, fail.New(fail.Refused,
			"ask a teammate for a share (`git vsync export "+env+"` on their machine), then `git vsync import "+env+" FILE.share`; to start "+env+" over with a new key that no teammate has, `git vsync init "+env+" --force-new-key`",
			"the store %s already holds %s/%s (latest version %s); init would make a second key that cannot open it, nothing was written", st.String(), w.ID.Name, env, latest)
	case latest != "":
		res.Warnings = append(res.Warnings, fmt.Sprintf("--force-new-key: the store's versions up to %s stay sealed with the old key; once you push (`git vsync push %s --force`), teammates cannot open %s until they import a share from you (`git vsync export %s`, then on their machine `git vsync import %s FILE.share --force`)",
			latest, env, env, env, env))
	}
	tx := a.beginHalves(ctx)
	defer tx.rollback()
	if o.AdoptKey {
		res.Adopted = true
		// What was remembered belonged to the lost config's salt.
		tx.forgetRemembered(account)
	} else {
		if err := tx.setKey(account, key); err != nil {
			return nil, err
		}
	}
	if err := tx.saveConfig(cfgPath, c); err != nil {
		return nil, fail.Wrap(fail.Failure, err, "check the permissions of "+w.ConfigRoot, "write the config")
	}
	tx.commit()
	res.Fingerprint = sls1.Fingerprint(key)
	res.VaultDir = w.Repo.VaultDir(c.Vault(env))
	if err := os.MkdirAll(res.VaultDir, 0o700); err != nil {
		res.Warnings = append(res.Warnings, "could not create the vault folder: "+err.Error())
	}
	if mig != nil {
		if warn, err := mig.run(ctx, w.Repo); err != nil {
			res.Warnings = append(res.Warnings, "could not move "+mig.src+" into the vault ("+err.Error()+"); move it to "+mig.dst+" yourself")
		} else {
			res.Migrated = mig.src
			if warn != "" {
				res.Warnings = append(res.Warnings, warn)
			}
		}
	}
	if written, err := writePinIfAbsent(w); err != nil {
		res.Warnings = append(res.Warnings, "could not write .vsync: "+err.Error())
	} else {
		res.PinWritten = written
	}
	if !o.NoHooks {
		if rep, err := installHooksIn(ctx, w.Repo); err != nil {
			res.Warnings = append(res.Warnings, "could not install the git hooks ("+err.Error()+"); run `git vsync install` later")
		} else {
			res.Hooks = &rep
		}
	}
	if !o.NoGitignore {
		line, err := ensureIgnored(w.Repo, c.Vault(env))
		if err != nil {
			res.Warnings = append(res.Warnings, "could not update .gitignore: "+err.Error())
		}
		res.Gitignored = line
	}
	arrived.remember(ctx)
	return res, nil
}

// initConfig builds the disk half from --profile, --store or the default file store.
func (a *App) initConfig(o InitOptions) (*config.File, error) {
	salt, err := config.NewSalt()
	if err != nil {
		return nil, err
	}
	c, _ := config.ParseJSON([]byte(`{"version":1,"s3":{"bucket":"-"},"encryption":{"salt":"-"}}`))
	c.Salt = salt
	c.AuditEnabled = o.Audit
	switch {
	case o.Profile != "" && o.Store != "":
		return nil, fail.New(fail.Usage, "pass one of them", "--profile and --store exclude each other")
	case o.Profile != "":
		root, err := config.Root(a.Getenv)
		if err != nil {
			return nil, err
		}
		p, err := config.LoadProfile(root, o.Profile)
		if errors.Is(err, config.ErrNotFound) {
			return nil, fail.New(fail.NotSetUp, "list them with `git vsync profile list`, or add one with `git vsync profile add "+o.Profile+"`", "no profile %q", o.Profile)
		}
		if err != nil {
			return nil, fail.Wrap(fail.Failure, err, "`git vsync profile list` lists the profiles; `git vsync profile remove NAME` and `profile add` replace a broken one", "read profile")
		}
		c.S3 = config.S3{Endpoint: p.Endpoint, Region: p.Region, Bucket: p.Bucket, AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
		c.InitProfile = o.Profile
		return c, nil
	case o.Store != "":
		s3, err := storeConfig(o.Store, o.Region, a.Getenv)
		if err != nil {
			return nil, err
		}
		c.S3 = s3
		return c, nil
	}
	dir, err := DefaultStoreDir(a.Getenv)
	if err != nil {
		return nil, fail.Wrap(fail.NotSetUp, err, "pass --store", "find the default store folder")
	}
	c.S3 = config.S3{Endpoint: store.FileURL(dir), Bucket: "vsync"}
	return c, nil
}

// storeConfig turns a --store URL (store.ParseURL) into the "s3" object of a
// config. S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
// never from the command line.
func storeConfig(raw, region string, getenv func(string) string) (config.S3, error) {
	if region == "" {
		region = getenv("AWS_REGION")
	}
	if region == "" {
		region = "us-east-1"
	}
	loc, err := store.ParseURL(raw, region)
	if err != nil {
		// Not quoted: a refused URL may carry credentials (user:password@host).
		return config.S3{}, fail.Wrap(fail.Usage, err, store.URLHint, "invalid --store URL")
	}
	if loc.IsFile() {
		return config.S3{Endpoint: loc.Endpoint, Bucket: loc.Bucket}, nil
	}
	creds := config.S3{Endpoint: loc.Endpoint, Bucket: loc.Bucket, UseSSL: loc.UseSSL, Region: region,
		AccessKeyID: getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY")}
	// Both keys in the environment are copied into the config (static keys, as
	// the TypeScript tool needs them); neither leaves the config without keys, and
	// the AWS chain (profiles, SSO, instance role) supplies them at run time.
	if (creds.AccessKeyID == "") != (creds.SecretAccessKey == "") {
		return config.S3{}, fail.New(fail.NotSetUp, "export both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for this command, or neither to use the AWS chain (AWS_PROFILE, SSO, instance role)",
			"only one of the two S3 keys is set for %s", raw)
	}
	return creds, nil
}

// writePinIfAbsent writes .vsync with the identity in use when there is none.
func writePinIfAbsent(w *Workspace) (bool, error) {
	err := atomicfile.WriteNew(filepath.Join(w.Repo.Top, repo.PinFile), repo.FormatPin(w.ID.Name), 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// ensureIgnored adds the vault folder to the repository's .gitignore unless git
// already ignores it. It returns the line added ("" when none was needed). The
// .gitignore comes from the branch: only a regular file is appended to (never a
// link, which could name a file outside the repository, nor a FIFO or device), and
// only its last byte is read.
func ensureIgnored(r *repo.Repo, vaultRel string) (string, error) {
	if vaultIgnored(r, vaultRel) {
		return "", nil
	}
	line := "/" + strings.TrimSuffix(vaultRel, "/") + "/"
	p := filepath.Join(r.MainTop, ".gitignore")
	f, size, err := atomicfile.OpenAppend(p, 0o644)
	if errors.Is(err, atomicfile.ErrNotRegular) {
		return "", fmt.Errorf("%s is not a regular file (a link or a special file: nothing is written through it); make it one and add the line %s", p, line)
	}
	if err != nil {
		return "", err
	}
	add := line + "\n"
	if size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			f.Close()
			return "", err
		}
		if last[0] != '\n' {
			add = "\n" + add
		}
	}
	if _, err := f.WriteString(add); err != nil {
		f.Close()
		return "", err
	}
	return line, f.Close()
}

// keyWithoutConfigError is the error of every command that finds the key of
// (repoName, env) in the keychain but no config: the config folder was lost. Its
// hint names the commands that get back to a working state in one step.
func keyWithoutConfigError(repoName, env string) error {
	return &fail.Error{Code: fail.NotSetUp, Err: config.ErrNotFound,
		What: fmt.Sprintf("%s/%s has a key in this machine's keychain but no config (was the config folder deleted?)", repoName, env),
		Hint: "import a teammate's share: `git vsync import " + env + " FILE.share --force`; or, with the env's CI token in VSYNC_CONFIG (`git vsync export " + env + " --ci-token`), keep the key: `git vsync init " + env + " --adopt-key`"}
}

// adoptConfig is the config init --adopt-key writes around an existing key: the
// runtime token in the environment when there is one (it carries the salt that
// pairs with the key), else a new one from --profile, --store or the default.
func (a *App) adoptConfig(w *Workspace, env string, o InitOptions) (*config.File, error) {
	name, value := configTokenVar(env, a.Getenv)
	if value == "" {
		return a.initConfig(o)
	}
	if o.Profile != "" || o.Store != "" {
		return nil, fail.New(fail.Usage, "unset "+name+" to use --profile or --store (a new salt), or leave them out to use the token",
			"--adopt-key takes the store and the salt from %s; --profile and --store would replace them", name)
	}
	c, err := configFromToken(name, value, w.ID.Name, env)
	if err != nil {
		return nil, err
	}
	c.AuditEnabled = o.Audit
	return c, nil
}

// checkKeyOpens downloads version ts and checks that keyText (with the salt of
// e's config) opens it: init --adopt-key writes nothing that would not work.
func (a *App) checkKeyOpens(ctx context.Context, e *EnvHandle, keyText, ts string) error {
	aesKey, err := deriveAES(keyText, e.Config.Salt)
	if err != nil {
		return err
	}
	f, err := e.download(ctx, ts)
	if err != nil {
		return store.AsFail(err, "download version "+ts)
	}
	defer f.remove()
	if _, err := openBundle(aesKey, f.File, f.size, ts, e.Name); err != nil {
		if fail.CodeOf(err) != fail.Integrity {
			return err
		}
		return fail.Wrap(fail.Integrity, err,
			"the salt that pairs with the key lived in the lost config: set VSYNC_CONFIG to the env's CI token (`git vsync export "+e.Name+" --ci-token` on a teammate's machine, or your CI's secret) and run this again, or import a teammate's share: `git vsync import "+e.Name+" FILE.share --force`",
			"--adopt-key: the key in the keychain does not open the latest version %s with this config; nothing was written", ts)
	}
	return nil
}
