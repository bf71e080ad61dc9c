package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
	"github.com/git-vsync/git-vsync/internal/envelope/vkt1"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/ledger"
	"github.com/git-vsync/git-vsync/internal/repo"
	"github.com/git-vsync/git-vsync/internal/state"
)

// KeystoreEntry is one (repo, env) this machine holds something of.
type KeystoreEntry struct {
	Repo      string `json:"repo"`
	Env       string `json:"env"`
	Config    bool   `json:"config"` // the config file reads
	ConfigErr string `json:"config_error,omitempty"`
	Key       bool   `json:"key"` // the keychain holds the key
	KeyErr    string `json:"key_error,omitempty"`
	Store     string `json:"store,omitempty"` // where the bundles are
	LastSync  string `json:"last_sync,omitempty"`
	SyncedBy  string `json:"synced_by,omitempty"` // "this clone" or "typescript ledger"
}

// KeystoreList lists every (repo, env) with a config on this machine: whether the
// config reads, whether the keychain has its key, its store and its last sync (of
// the clone the command runs in when it is that repository, else the TypeScript
// tool's ledger).
func (a *App) KeystoreList(ctx context.Context) ([]KeystoreEntry, error) {
	root, err := config.Root(a.Getenv)
	if err != nil {
		return nil, err
	}
	pairs, err := keystorePairs(root)
	if err != nil {
		return nil, err
	}
	var here *Workspace
	if w, err := a.Resolve("").Get(); err == nil { // the clone it runs in, whatever --repo says
		here = w
	}
	out := []KeystoreEntry{}
	for _, p := range pairs {
		e := KeystoreEntry{Repo: p[0], Env: p[1]}
		if c, err := config.Load(config.EnvPath(root, p[0], p[1])); err != nil {
			e.ConfigErr = oneLine(err)
		} else {
			e.Config, e.Store = true, StoreLabel(c)
		}
		switch _, err := a.Keychain.Get(ctx, keychain.Account(p[0], p[1])); {
		case err == nil:
			e.Key = true
		case !errors.Is(err, keychain.ErrNotFound):
			e.KeyErr = oneLine(err)
		}
		if here != nil && here.ID.Name == p[0] {
			if st, err := state.Load(here.Repo.StateDir(), p[1]); err == nil && st != nil {
				e.LastSync, e.SyncedBy = st.TS, "this clone"
			}
		}
		if e.LastSync == "" {
			if l, err := ledger.Load(ledger.Path(root, p[0], p[1])); err == nil && l != nil {
				e.LastSync, e.SyncedBy = l.TS, "typescript ledger"
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// keystorePairs lists (repo, env) of every config file below root, sorted.
func keystorePairs(root string) ([][2]string, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "check the permissions of "+root, "list the config folder")
	}
	var out [][2]string
	for _, de := range ents {
		if !de.IsDir() || repo.CheckName(de.Name()) != nil {
			continue
		}
		envs, err := config.ListEnvs(root, de.Name())
		if err != nil {
			continue
		}
		for _, env := range envs {
			out = append(out, [2]string{de.Name(), env})
		}
	}
	return out, nil
}

// KeystoreExportOptions are the flags of `keystore export`.
type KeystoreExportOptions struct {
	All        bool        // every (repo, env) with both halves
	Pairs      [][2]string // else these (repo, env)
	Profiles   bool        // also the saved profiles
	Out        string      // "" = ./<hostname>.keytree
	Passphrase string      // "" = generate one
	Force      bool        // replace an existing file
}

// KeystoreExportResult says what keystore export wrote.
type KeystoreExportResult struct {
	Path       string
	Passphrase string // generated; "" when the caller gave one
	Entries    []string
	Profiles   []string
	Skipped    []string // --all: pairs without both halves
}

// KeystoreExport writes both halves of the chosen (repo, env) pairs, and optionally
// the profiles, into a passphrase-sealed .keytree file (SPEC §14.2), mode 0600.
func (a *App) KeystoreExport(ctx context.Context, o KeystoreExportOptions) (*KeystoreExportResult, error) {
	if o.All == (len(o.Pairs) > 0) {
		return nil, fail.New(fail.Usage, "pass --all, or --repo R --env E (repeatable)", "choose what to export")
	}
	root, err := config.Root(a.Getenv)
	if err != nil {
		return nil, err
	}
	pairs := o.Pairs
	if o.All {
		if pairs, err = keystorePairs(root); err != nil {
			return nil, err
		}
	}
	res := &KeystoreExportResult{}
	pass, generated, err := exportPassphrase(o.Passphrase)
	if err != nil {
		return nil, err
	}
	res.Passphrase = generated
	p := vkt1.Payload{ExportedAt: a.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	for _, pr := range pairs {
		name := pr[0] + "/" + pr[1]
		c, err := config.Load(config.EnvPath(root, pr[0], pr[1]))
		if err == nil {
			var key string
			key, err = a.Keychain.Get(ctx, keychain.Account(pr[0], pr[1]))
			if err == nil {
				js, jerr := shareConfigJSON(c)
				if jerr != nil {
					return nil, fail.Wrap(fail.Failure, jerr, fail.HintBug, "encode the config of %s", name)
				}
				p.Entries = append(p.Entries, vkt1.Entry{Repo: pr[0], Env: pr[1], Config: js, Key: strings.TrimSpace(key)})
				res.Entries = append(res.Entries, name)
				continue
			}
		}
		if !o.All {
			if errors.Is(err, config.ErrNotFound) || errors.Is(err, keychain.ErrNotFound) {
				return nil, fail.New(fail.NotSetUp, "`git vsync keystore list` shows what this machine holds", "%s does not have both halves on this machine", name)
			}
			return nil, err
		}
		res.Skipped = append(res.Skipped, name+" ("+oneLine(err)+")")
	}
	if o.Profiles {
		named, warnings, err := a.ProfileList()
		if err != nil {
			return nil, err
		}
		res.Skipped = append(res.Skipped, warnings...)
		for _, np := range named {
			raw, _ := json.Marshal(struct {
				Name string `json:"name"`
				*config.Profile
			}{np.Name, np.Profile})
			p.Profiles = append(p.Profiles, vkt1.Profile{Name: np.Name, Raw: raw})
			res.Profiles = append(res.Profiles, np.Name)
		}
	}
	if len(p.Entries) == 0 && len(p.Profiles) == 0 {
		return nil, fail.New(fail.NotSetUp, "`git vsync keystore list` shows what this machine holds", "nothing to export: no env has both halves on this machine")
	}
	out := o.Out
	if out == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "vsync"
		}
		out = host + ".keytree"
	}
	out = a.abs(out)
	res.Path = out
	data, err := vkt1.Seal(pass, p)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "seal the keystore file")
	}
	if err := writeNewFile(out, data, o.Force); err != nil {
		return nil, err
	}
	return res, nil
}

// exportPassphrase checks a passphrase the user chose, or generates one (returned
// as generated, to print once).
func exportPassphrase(given string) (pass, generated string, err error) {
	if given != "" {
		return given, "", CheckExportPassphrase(given)
	}
	pass, err = sls1.GeneratePassphrase()
	if err != nil {
		return "", "", fail.Wrap(fail.Failure, err, fail.HintSystem, "generate a passphrase")
	}
	return pass, pass, nil
}

// writeNewFile writes a sealed file (0600, atomically) with export's rules: never
// over a folder, over an existing file only with force.
func writeNewFile(out string, data []byte, force bool) error {
	if fi, err := os.Stat(out); err == nil {
		if fi.IsDir() {
			return fail.New(fail.Usage, "name a file inside it with --out", "--out %s is a folder", out)
		}
		if !force {
			return fail.New(fail.Refused, "choose another name with --out, or pass --force to replace it", "%s already exists", out)
		}
	}
	write := atomicfile.WriteNew
	if force {
		write = atomicfile.Write
	}
	if err := write(out, data, 0o600); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fail.New(fail.Refused, "choose another name with --out, or pass --force to replace it", "%s already exists", out)
		}
		return fail.Wrap(fail.Failure, pathCause(err), "check the folder and its permissions", "write %s", out)
	}
	return nil
}

// KeystoreImportOptions are the flags of `keystore import`.
type KeystoreImportOptions struct {
	Force bool // replace halves and profiles that differ (what is replaced is kept aside)
}

// KeystoreImportResult says, per (repo, env) and per profile, what import did.
type KeystoreImportResult struct {
	Added    []string
	Kept     []string // the same halves were here already
	Differs  []string // different halves here, kept (without --force)
	Replaced []string // different halves here, replaced (--force; the old ones kept aside)
	Warnings []string
}

type keystoreItem struct {
	name   string
	cfg    *config.File
	key    string
	halves *halves
}

// MaxKeytreeBytes bounds what keystore import reads.
const MaxKeytreeBytes = vkt1.MaxFile

// KeystoreImport restores the halves (and profiles) of a .keytree file. Everything in
// the file is decrypted and validated before anything is written; halves that differ
// from what this machine holds are kept unless Force.
func (a *App) KeystoreImport(ctx context.Context, file, passphrase string, o KeystoreImportOptions) (*KeystoreImportResult, error) {
	if passphrase == "" {
		return nil, fail.New(fail.Usage, "give the passphrase printed by `git vsync keystore export`", "the passphrase is empty")
	}
	root, err := config.Root(a.Getenv)
	if err != nil {
		return nil, err
	}
	data, err := atomicfile.ReadRegular(a.abs(file), MaxKeytreeBytes)
	if err != nil {
		if errors.Is(err, atomicfile.ErrTooLarge) {
			return nil, fail.New(fail.Integrity, "pass the .keytree file made by `git vsync keystore export`", "%s is larger than %d bytes: not a keystore file", file, MaxKeytreeBytes)
		}
		return nil, fail.Wrap(fail.Usage, pathCause(err), "pass the path of the .keytree file", "cannot read %s", file)
	}
	p, err := vkt1.Open(passphrase, data)
	if err != nil {
		return nil, shareError(err, file)
	}
	// Validate everything first.
	bad := func(what string, args ...any) error {
		return fail.New(fail.Integrity, "nothing was written; export the keystore again on the old machine", "%s: "+what, append([]any{file}, args...)...)
	}
	var items []keystoreItem
	seen := map[string]bool{}
	for i, e := range p.Entries {
		if repo.CheckName(e.Repo) != nil || !repo.ValidEnv(e.Env) {
			return nil, bad("entry %d names an invalid repository or env", i+1)
		}
		name := e.Repo + "/" + e.Env
		if seen[name] {
			return nil, bad("%s is listed twice", name)
		}
		seen[name] = true
		cfg, err := config.ParseJSON(e.Config)
		if err != nil {
			return nil, bad("the config of %s is invalid: %v", name, err)
		}
		items = append(items, keystoreItem{name: name, cfg: cfg, key: strings.TrimSpace(e.Key)})
	}
	profiles := map[string]*config.Profile{}
	for _, pr := range p.Profiles {
		if !config.ValidProfileName(pr.Name) || profiles[pr.Name] != nil {
			return nil, bad("a profile has an invalid or repeated name")
		}
		prof, err := config.ParseProfile(pr.Raw)
		if err != nil {
			return nil, bad("profile %s is invalid: %v", pr.Name, err)
		}
		profiles[pr.Name] = prof
	}
	res := &KeystoreImportResult{}
	for i := range items {
		it := &items[i]
		repoName, env, _ := strings.Cut(it.name, "/")
		if it.halves, err = a.readHalves(ctx, root, repoName, env); err != nil {
			return nil, err
		}
		if !keychain.ValidKey(it.key) {
			res.Warnings = append(res.Warnings, it.name+": the key is not a 44-character key as git-vsync makes them; it is used as given")
		}
	}
	// Then write.
	for _, it := range items {
		h := it.halves
		sameKey, sameCfg := h.same(it.cfg, it.key)
		switch {
		case h.oldKey != "" && h.cfgExists && sameKey && sameCfg:
			res.Kept = append(res.Kept, it.name)
			continue
		case (h.oldKey == "" || sameKey) && (!h.cfgExists || sameCfg):
			// Nothing here, or only one of the halves: the other one is added.
			res.Added = append(res.Added, it.name)
		case !o.Force:
			res.Differs = append(res.Differs, it.name)
			continue
		default:
			res.Replaced = append(res.Replaced, it.name)
		}
		if _, _, err := a.replaceHalves(ctx, h, it.cfg, it.key); err != nil {
			return res, err
		}
	}
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		label := "profile " + n
		old, err := config.LoadProfile(root, n)
		switch {
		case err == nil && reflect.DeepEqual(old, profiles[n]):
			res.Kept = append(res.Kept, label)
			continue
		case err == nil && !o.Force:
			res.Differs = append(res.Differs, label)
			continue
		case err == nil:
			res.Replaced = append(res.Replaced, label)
		default:
			res.Added = append(res.Added, label)
		}
		if err := config.SaveProfile(root, n, profiles[n]); err != nil {
			return res, fail.Wrap(fail.Failure, err, "check the permissions of "+filepath.Join(root, "profiles"), "save profile %s", n)
		}
	}
	return res, nil
}

// String summarises an import result in one line.
func (r *KeystoreImportResult) String() string {
	return fmt.Sprintf("%d added, %d kept, %d replaced, %d differ (kept)", len(r.Added), len(r.Kept), len(r.Replaced), len(r.Differs))
}
