package app

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope/cfgtoken"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/ledger"
	"github.com/git-vsync/git-vsync/internal/repo"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// StatusReport is what `status` shows; its JSON form is the `--json` output.
type StatusReport struct {
	Repo       string      `json:"repo"`
	RepoSource string      `json:"repo_source"`
	VaultRoot  string      `json:"vault_root"`
	ConfigDir  string      `json:"config_dir"`
	Envs       []EnvStatus `json:"envs"`
	// Hooks is the state of each git-vsync hook: installed, outdated, missing or
	// foreign-only (null when the hooks folder cannot be found).
	Hooks map[string]string `json:"hooks"`
}

// EnvStatus is one env of the repository on this machine.
type EnvStatus struct {
	Env           string   `json:"env"`
	Config        bool     `json:"config"`
	ConfigFrom    string   `json:"config_source,omitempty"` // "file", or "env" for a runtime token
	ConfigError   string   `json:"config_error,omitempty"`
	ConfigHint    string   `json:"config_hint,omitempty"` // the next command when the config is missing or unreadable
	ConfigMissing bool     `json:"-"`                     // ConfigError says there is no config (not a broken one)
	Key           bool     `json:"key"`
	KeySource     *string  `json:"key_source"`
	KeyError      string   `json:"key_error,omitempty"`
	Vault         string   `json:"vault"`
	VaultExists   bool     `json:"vault_exists"`
	Store         string   `json:"store,omitempty"`
	LocalTS       *string  `json:"local_ts"`            // version the vault holds (last sync); null = never synced
	RemoteTS      *string  `json:"remote_ts,omitempty"` // with --remote: what `latest` names (null = nothing pushed)
	RemoteError   string   `json:"remote_error,omitempty"`
	Clean         *bool    `json:"clean"`   // vault unchanged since the last sync; null when it cannot be told
	Changed       []string `json:"changed"` // +added ~modified -removed paths, relative to the vault
	// LedgerTS is the version the TypeScript tool's ledger names when this clone has
	// no sync state of its own (push and pull adopt it when the vault matches).
	LedgerTS string `json:"typescript_ledger_ts,omitempty"`
	// LocalOnly are the vault's local-only entries (.vsyncignore, *.local,
	// .env.*.local): never pushed, kept by pulls, never counted as changes.
	LocalOnly []string `json:"local_only"`
}

// Status reports the identity and the halves of every env with a config, and the
// vault against the last sync. Only with remote does it ask the stores for `latest`.
func (a *App) Status(ctx context.Context, target *Target, remote bool) (*StatusReport, error) {
	w, err := target.Get()
	if err != nil {
		return nil, err
	}
	rep := &StatusReport{
		Repo: w.ID.Name, RepoSource: w.ID.Source, VaultRoot: w.Repo.MainTop,
		ConfigDir: w.ConfigRoot, Envs: []EnvStatus{},
	}
	if hs, err := hookStates(ctx, w.Repo); err == nil {
		rep.Hooks = hs
	}
	envs, err := config.ListEnvs(w.ConfigRoot, w.ID.Name)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "check the permissions of "+w.ConfigRoot, "read config folder")
	}
	envs = addTokenEnv(envs, a.Getenv)
	envs = addSyncedEnvs(envs, w)
	res := a.Resolver()
	type keyFound struct {
		src string
		err error
	}
	for _, env := range envs {
		es := EnvStatus{Env: env, Vault: w.Repo.VaultDir(config.DefaultVault(env))}
		// The keychain (a D-Bus round trip) is asked while the vault is checked.
		key := make(chan keyFound, 1)
		go func() {
			_, src, err := res.Lookup(ctx, w.ID.Name, env)
			key <- keyFound{src, err}
		}()
		if e, err := a.openEnvIn(w, env); err != nil {
			if errors.Is(err, config.ErrNotFound) {
				es.ConfigMissing = true
				err = a.explainNoConfig(w, env, err)
			}
			es.ConfigError = err.Error()
			es.ConfigHint = fail.HintOf(err)
		} else {
			es.Config = true
			es.ConfigFrom = e.ConfigSource
			es.Vault = e.VaultDir
			es.Store = StoreLabel(e.Config)
			a.syncStatus(ctx, e, remote, &es)
		}
		if fi, err := os.Stat(es.Vault); err == nil && fi.IsDir() {
			es.VaultExists = true
		}
		k := <-key
		switch {
		case k.err == nil:
			es.Key = true
			es.KeySource = &k.src
		case !errors.Is(k.err, keychain.ErrNotFound):
			es.KeyError = k.err.Error()
		}
		rep.Envs = append(rep.Envs, es)
	}
	return rep, nil
}

// StoreLabel names where an env's bundles are, without credentials.
func StoreLabel(c *config.File) string {
	return c.S3.Endpoint + " bucket " + c.S3.Bucket
}

// syncStatus fills the local/remote versions and the clean flag of one env.
func (a *App) syncStatus(ctx context.Context, e *EnvHandle, remote bool, es *EnvStatus) {
	// The vault is walked while the sync state is read and decoded.
	listing := vault.StartListing(e.VaultDir)
	st, err := e.StateSettled()
	if err == nil && st == nil {
		if l, lerr := ledger.Load(ledger.Path(e.ConfigRoot, e.ID.Name, e.Name)); lerr == nil && l != nil {
			es.LedgerTS = l.TS
		}
	}
	if err == nil {
		var changes []string
		if st, changes, err = e.changesListed(listing, st); err == nil {
			clean := len(changes) == 0
			es.Clean = &clean
			es.Changed = changes
		}
	}
	if err == nil && st != nil {
		es.LocalTS = &st.TS
	}
	if es.Changed == nil {
		es.Changed = []string{}
	}
	if es.LocalOnly = listing.LocalOnly(); es.LocalOnly == nil {
		es.LocalOnly = []string{}
	}
	if remote {
		ts, _, err := e.Latest(ctx)
		if err != nil {
			es.RemoteError = err.Error()
		} else {
			es.RemoteTS = &ts
			if ts == "" {
				es.RemoteTS = nil
			}
		}
	}
}

// addSyncedEnvs adds the envs this clone has synced (a state file) to envs: an env
// whose config was lost still shows, with the way back.
func addSyncedEnvs(envs []string, w *Workspace) []string {
	ents, err := os.ReadDir(w.Repo.StateDir())
	if err != nil {
		return envs
	}
	for _, de := range ents {
		env, ok := strings.CutSuffix(de.Name(), ".state.json")
		if ok && repo.ValidEnv(env) && !slices.Contains(envs, env) {
			envs = append(envs, env)
		}
	}
	slices.Sort(envs)
	return envs
}

// addTokenEnv adds the env of a VSYNC_CONFIG runtime token to the envs with a
// config file, so a CI job without config files still sees its env.
func addTokenEnv(envs []string, getenv func(string) string) []string {
	if getenv == nil {
		return envs
	}
	v := strings.TrimSpace(getenv("VSYNC_CONFIG"))
	if v == "" {
		return envs
	}
	t, err := cfgtoken.Decode(v)
	if err != nil || !repo.ValidEnv(t.Env) || slices.Contains(envs, t.Env) {
		return envs
	}
	envs = append(envs, t.Env)
	slices.Sort(envs)
	return envs
}
