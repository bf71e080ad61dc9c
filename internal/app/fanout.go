package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/git-vsync/git-vsync/internal/dotenv"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/fanout"
	"github.com/git-vsync/git-vsync/internal/store"
)

// SyncOptions are the flags of `sync`.
type SyncOptions struct {
	Targets      []string
	All          bool              // every target routed in the config
	Prune        bool              // delete owned names that left the vault
	Only         []string          // keys (globs) to include; empty = all
	Exclude      []string          // keys (globs) to leave out
	InlineSuffix []string          // KEY_FILE=path → KEY = the file's content
	FromLocal    bool              // use the vault as it is, even when it has unpushed edits
	Routing      map[string]string // "gh.repo" → value, from the routing flags
	Audit        AuditOptions

	// HTTP and Credentials reach the targets (tests: clients that trust their servers).
	HTTP        *http.Client
	Credentials map[string]any
}

// SyncRun is a planned fan-out: the plans of every target, ready to apply.
type SyncRun struct {
	Env       string
	Version   string // the synced version the keys come from; "" with --from-local
	FromLocal bool
	Plans     []*fanout.Plan

	e       *EnvHandle
	targets []fanout.Target
	opts    SyncOptions
}

// SyncTargetResult is what applying one target did.
type SyncTargetResult struct {
	Target string         `json:"target"`
	Where  string         `json:"where"`
	Result *fanout.Result `json:"result,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// maxInlineFile bounds a file inlined with --inline-file-suffix.
const maxInlineFile = 1 << 20

// SyncPlan reads the env's keys from the version this clone last synced (or the
// vault as it is with FromLocal), saves routing flags into the config, and plans
// every target. Nothing is written to any target.
func (a *App) SyncPlan(ctx context.Context, target *Target, env string, o SyncOptions) (*SyncRun, error) {
	if err := o.Audit.Check(); err != nil {
		return nil, err
	}
	for _, g := range append(append([]string{}, o.Only...), o.Exclude...) {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fail.New(fail.Usage, "use key names or globs such as 'STRIPE_*'", "bad key pattern %q", g)
		}
	}
	e, release, err := a.OpenLocked(ctx, target, env)
	if err != nil {
		return nil, err
	}
	secrets, version, err := a.syncSource(e, o)
	release()
	if err != nil {
		return nil, err
	}
	routes, err := a.syncRoutes(e, o)
	if err != nil {
		return nil, err
	}
	names := o.Targets
	if o.All {
		names = nil
		for _, n := range fanout.Names() {
			if _, ok := routes[n]; ok {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, fail.New(fail.Usage, "name a target and its routing, e.g. `git vsync sync "+env+" gh --gh-repo owner/name`",
				"no target is routed in the config of %s", env)
		}
	}
	if len(names) == 0 {
		return nil, fail.New(fail.Usage, "name targets ("+strings.Join(fanout.Names(), ", ")+") or pass --all",
			"no target given")
	}
	aesKey, _, _, err := e.Key(ctx)
	if err != nil {
		return nil, err
	}
	fe := &fanout.Origin{
		Repo: e.ID.Name, Name: env, Keys: fanout.NewKeys(aesKey),
		Ledger: &bucketLedger{e: e}, Getenv: a.Getenv, HTTP: o.HTTP, Log: a.Log,
	}
	run := &SyncRun{Env: env, Version: version, FromLocal: o.FromLocal, e: e, opts: o}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		te := *fe
		te.Credentials = o.Credentials[n]
		t, err := fanout.Open(n, routes[n], &te)
		if err != nil {
			var re *fanout.ErrRoute
			if errors.As(err, &re) {
				return nil, fail.Wrap(fail.Usage, err, "pass --"+re.Field.Flag+" once; it is saved in the config", "%s", n)
			}
			return nil, fail.Wrap(fail.Usage, err, "targets: "+strings.Join(fanout.Names(), ", "), "%s", n)
		}
		p, err := t.Plan(ctx, secrets, o.Prune)
		if err != nil {
			return nil, fail.Wrap(fail.Unreachable, err, "check the target's address and credentials", "plan %s", n)
		}
		run.targets = append(run.targets, t)
		run.Plans = append(run.Plans, p)
	}
	return run, nil
}

// SyncApply writes the plans. It refuses, before the first write to any target,
// when a plan holds a name or value a target cannot take. A target that fails
// part-way does not stop the others; the error then lists what failed.
func (a *App) SyncApply(ctx context.Context, run *SyncRun) ([]SyncTargetResult, error) {
	var bad []string
	for _, p := range run.Plans {
		for _, it := range p.Invalid() {
			bad = append(bad, p.Target+":"+it.Key)
		}
	}
	if len(bad) > 0 {
		return nil, fail.New(fail.Failure, "rename the keys, or leave them out with --exclude KEY",
			"nothing was written: the targets cannot take %s (see `git vsync sync %s --plan`)", strings.Join(bad, ", "), run.Env)
	}
	var out []SyncTargetResult
	var failedKeys []string
	for i, t := range run.targets {
		p := run.Plans[i]
		res, err := t.Apply(ctx, p)
		r := SyncTargetResult{Target: p.Target, Where: p.Where, Result: res}
		if err != nil {
			r.Error = err.Error()
			failedKeys = append(failedKeys, p.Target+" ("+err.Error()+")")
		}
		if res != nil {
			for _, f := range res.Failed {
				failedKeys = append(failedKeys, p.Target+":"+f.Name)
			}
			meta := map[string]any{
				"target": p.Target, "where": p.Where,
				"created": len(res.Created), "updated": len(res.Updated), "deleted": len(res.Deleted),
				"unchanged": res.Unchanged, "failed": len(res.Failed),
			}
			if run.FromLocal {
				meta["from_local"] = true
			}
			a.appendAudit(ctx, run.e, "sync", run.Version, run.opts.Audit, meta)
		}
		out = append(out, r)
	}
	if len(failedKeys) > 0 {
		return out, fail.New(fail.Failure, "fix the cause shown for each and run the same sync again (what succeeded is not written twice)",
			"sync of %s failed for %s", run.Env, strings.Join(failedKeys, ", "))
	}
	return out, nil
}

// syncSource returns the keys to publish and the version they belong to.
func (a *App) syncSource(e *EnvHandle, o SyncOptions) ([]fanout.Secret, string, error) {
	st, err := e.State()
	if err != nil {
		return nil, "", err
	}
	version := ""
	if !o.FromLocal {
		if st == nil || st.TS == "" {
			return nil, "", fail.New(fail.Refused, "run `git vsync pull "+e.Name+"` (or push) first, or pass --from-local to publish the vault as it is",
				"this clone never synced %s: there is no version to publish", e.Name)
		}
		_, changes, err := e.Changes(st)
		if err != nil {
			return nil, "", err
		}
		if len(changes) > 0 {
			return nil, "", fail.New(fail.Refused, "`git vsync push "+e.Name+"` first so the team can see what production gets, or pass --from-local",
				"the %s vault has changes since version %s: %s", e.Name, st.TS, summarize(changes))
		}
		version = st.TS
	}
	file := filepath.Join(e.VaultDir, ".env."+e.Name)
	doc, err := dotenv.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fail.New(fail.NotSetUp, "put the keys in "+e.vaultName()+".env."+e.Name,
			"the %s vault has no .env.%s", e.Name, e.Name)
	}
	if err != nil {
		return nil, "", fail.Wrap(fail.Failure, err, "fix the line it names", "read .env.%s", e.Name)
	}
	values := doc.Map()
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string][]byte{}
	from := map[string]string{}
	for _, k := range keys {
		name, val := k, []byte(values[k])
		for _, suf := range o.InlineSuffix {
			if suf != "" && strings.HasSuffix(k, suf) && len(k) > len(suf) {
				name = strings.TrimSuffix(k, suf)
				b, err := readInline(e.VaultDir, values[k])
				if err != nil {
					return nil, "", fail.Wrap(fail.Failure, err, "KEY"+suf+" names a file inside the vault folder, relative to it", "%s", k)
				}
				val = b
				break
			}
		}
		if prev, dup := from[name]; dup {
			return nil, "", fail.New(fail.Usage, "keep one of them", "%s and %s both give %s", prev, k, name)
		}
		from[name] = k
		out[name] = val
	}
	var secrets []fanout.Secret
	for _, name := range sortedKeys(out) {
		if len(o.Only) > 0 && !matchAny(o.Only, name) {
			continue
		}
		if matchAny(o.Exclude, name) {
			continue
		}
		secrets = append(secrets, fanout.Secret{Key: name, Value: out[name]})
	}
	return secrets, version, nil
}

// readInline reads a file named by a KEY_FILE value: inside the vault only (the
// version the team sees), a regular file, bounded.
func readInline(vaultDir, rel string) ([]byte, error) {
	rel = strings.TrimSpace(rel)
	clean := path.Clean(filepath.ToSlash(rel))
	if rel == "" || path.IsAbs(clean) || filepath.IsAbs(rel) || clean == ".." || strings.HasPrefix(clean, "../") || filepath.VolumeName(rel) != "" {
		return nil, errors.New("the file must be inside the vault folder")
	}
	p := filepath.Join(vaultDir, filepath.FromSlash(clean))
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, fmt.Errorf("the file it names: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("the file it names is not a regular file")
	}
	if fi.Size() > maxInlineFile {
		return nil, fmt.Errorf("the file it names is larger than %d bytes", maxInlineFile)
	}
	return os.ReadFile(p)
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// syncRoutes reads config sync.*, overlays the routing flags and saves the config
// when a flag changed it (the same keys as the TypeScript tool, so both read them).
func (a *App) syncRoutes(e *EnvHandle, o SyncOptions) (map[string]fanout.Route, error) {
	doc := map[string]map[string]json.RawMessage{}
	if len(e.Config.Sync) > 0 {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(e.Config.Sync, &raw); err != nil {
			return nil, fail.New(fail.NotSetUp, "fix or remove the config's sync object (routing flags rewrite it)", "the config's sync routing is not a JSON object")
		}
		for t, v := range raw {
			var obj map[string]json.RawMessage
			if json.Unmarshal(v, &obj) == nil && obj != nil {
				doc[t] = obj
			}
		}
	}
	changed := false
	for _, k := range sortedKeys(o.Routing) {
		v := o.Routing[k]
		t, field, ok := strings.Cut(k, ".")
		if !ok || v == "" {
			continue
		}
		b, _ := json.Marshal(v)
		if doc[t] == nil {
			doc[t] = map[string]json.RawMessage{}
		}
		if string(doc[t][field]) != string(b) {
			doc[t][field] = b
			changed = true
		}
	}
	routes := map[string]fanout.Route{}
	for t, obj := range doc {
		r := fanout.Route{}
		for k, v := range obj {
			var s string
			if json.Unmarshal(v, &s) == nil {
				r[k] = s
			}
		}
		routes[t] = r
	}
	if !changed {
		return routes, nil
	}
	if e.ConfigSource != ConfigSourceFile {
		a.warnf("the routing flags are used for this run only: the config comes from the environment (VSYNC_CONFIG)")
		return routes, nil
	}
	// Keep unknown members of sync (and of each target) exactly as they were.
	full := map[string]json.RawMessage{}
	if len(e.Config.Sync) > 0 {
		_ = json.Unmarshal(e.Config.Sync, &full)
	}
	for t, obj := range doc {
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		full[t] = b
	}
	b, err := json.Marshal(full)
	if err != nil {
		return nil, err
	}
	e.Config.Sync = b
	if err := e.Config.Save(e.ConfigPath(e.Name)); err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "save the routing into the config")
	}
	return routes, nil
}

// maxSyncLedger bounds a fan-out ledger read from the bucket: it holds a MAC per
// secret name, a few hundred KiB for the most names a target takes.
const maxSyncLedger = 4 << 20

// bucketLedger keeps the fan-out ledgers next to the audit log (store.Layout.SyncLedger).
type bucketLedger struct{ e *EnvHandle }

func (l *bucketLedger) Load(ctx context.Context, name string) ([]byte, string, error) {
	body, etag, err := store.GetLimited(ctx, l.e.Store, l.e.Layout().SyncLedger(name), maxSyncLedger)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	return body, etag, err
}

func (l *bucketLedger) Save(ctx context.Context, name string, body []byte, etag string) error {
	c := store.Cond{IfMatch: etag}
	if etag == "" {
		c = store.Cond{IfNoneMatch: true}
	}
	_, err := l.e.Store.Put(ctx, l.e.Layout().SyncLedger(name), body, c)
	if errors.Is(err, store.ErrPreconditionFailed) {
		return fanout.ErrConflict
	}
	return err
}
