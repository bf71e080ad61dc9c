package app

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/hooks"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/repo"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// SkipHooksEnv set to 1 makes every git-vsync hook do nothing.
const SkipHooksEnv = "VSYNC_SKIP_HOOKS"

// Hook settings in git config (SPEC §8).
const (
	DefaultHookTimeout = 3 * time.Second
	maxHookTimeout     = 10 * time.Minute
	// HookRunFactor bounds a whole post-checkout run, a pull's download
	// included, to this many times vsync.hookTimeout: a stalled store never
	// holds a checkout longer (default 3s → 15s).
	HookRunFactor = 5
)

// Values of git config vsync.prePush.
const (
	PrePushDefault = ""       // refuse when out of step; warn when the store is unreachable
	PrePushWarn    = "warn"   // only warn
	PrePushOff     = "off"    // no check
	PrePushStrict  = "strict" // also refuse when the store cannot be checked
)

// ---- install / uninstall ----

// hookRepo is the repository around a.Dir; install does not need an identity.
func (a *App) hookRepo() (*repo.Repo, error) {
	return repo.Open(a.Dir, a.Getenv)
}

// installHooksIn installs the hooks into the folder git runs them from for r.
func installHooksIn(ctx context.Context, r *repo.Repo) (hooks.Report, error) {
	dir, err := r.HooksDir(ctx)
	if err != nil {
		return hooks.Report{}, err
	}
	return hooks.Install(dir)
}

// hookStates is the state of each git-vsync hook in the folder git runs them from.
func hookStates(ctx context.Context, r *repo.Repo) (map[string]string, error) {
	dir, err := r.HooksDir(ctx)
	if err != nil {
		return nil, err
	}
	return hooks.StatesIn(dir), nil
}

// InstallHooks installs the git hooks of the repository around a.Dir.
func (a *App) InstallHooks() (hooks.Report, error) {
	r, err := a.hookRepo()
	if err != nil {
		return hooks.Report{}, err
	}
	rep, err := installHooksIn(context.Background(), r)
	if err != nil && fail.CodeOf(err) == fail.Failure && fail.HintOf(err) == "" {
		return rep, fail.Wrap(fail.Failure, err, "check that the hooks folder is writable", "install the git hooks")
	}
	return rep, err
}

// UninstallHooks removes what InstallHooks added.
func (a *App) UninstallHooks() (hooks.Report, error) {
	r, err := a.hookRepo()
	if err != nil {
		return hooks.Report{}, err
	}
	dir, err := r.HooksDir(context.Background())
	if err != nil {
		return hooks.Report{}, err
	}
	rep, err := hooks.Uninstall(dir)
	if err != nil {
		return rep, fail.Wrap(fail.Failure, err, "check that the hooks folder is writable", "remove the git hooks")
	}
	return rep, nil
}

// HooksDir is the hooks folder git uses for the repository around a.Dir.
func (a *App) HooksDir() (string, error) {
	r, err := a.hookRepo()
	if err != nil {
		return "", err
	}
	return r.HooksDir(context.Background())
}

// ---- settings ----

type hookSettings struct {
	envs    []string // from vsync.envs
	envsSet bool
	timeout time.Duration
	prePush string
}

// readHookSettings reads vsync.* from git config (internal/git: the config
// files themselves, no git process unless they use includes) and warns about
// values it cannot use. r nil (no repository) gives the defaults.
func (a *App) readHookSettings(ctx context.Context, r *repo.Repo) hookSettings {
	s := hookSettings{timeout: DefaultHookTimeout}
	if r == nil {
		return s
	}
	entries, err := r.Config(ctx, "vsync.")
	if err != nil {
		a.warnf("could not read git config (%s); using the default hook settings", oneLine(err))
		return s
	}
	for _, e := range entries {
		key, val := e.Key, e.Value
		switch strings.ToLower(key) {
		case "vsync.envs":
			s.envsSet = true
			s.envs = nil
			for _, f := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
				if !repo.ValidEnv(f) {
					a.warnf("git config vsync.envs: %q is not an env name; ignored", f)
					continue
				}
				s.envs = append(s.envs, f)
			}
		case "vsync.hooktimeout":
			d, ok := parseHookTimeout(val)
			if !ok {
				a.warnf("git config vsync.hookTimeout=%q is not a duration (e.g. 3s, 500ms, 2); using %s", val, DefaultHookTimeout)
				continue
			}
			s.timeout = d
		case "vsync.prepush":
			v := strings.ToLower(strings.TrimSpace(val))
			switch v {
			case PrePushWarn, PrePushOff, PrePushStrict:
				s.prePush = v
			default:
				a.warnf("git config vsync.prePush=%q is not one of warn, off, strict; using the default", val)
				s.prePush = PrePushDefault
			}
		}
	}
	return s
}

// parseHookTimeout accepts a Go duration ("3s", "1500ms") or a number of seconds.
func parseHookTimeout(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseFloat(v, 64)
		if nerr != nil || n != n { // NaN
			return 0, false
		}
		if n > maxHookTimeout.Seconds() {
			n = maxHookTimeout.Seconds()
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d <= 0 {
		return 0, false
	}
	return min(d, maxHookTimeout), true
}

// ---- probing the envs ----

// envProbe is what a hook learnt about one env: local state, and the store's
// latest pointer read under the hook timeout.
type envProbe struct {
	name      string
	explicit  bool // named by vsync.envs
	timeout   time.Duration
	w         *Workspace
	env       *EnvHandle
	skip      bool   // not set up on this machine: say nothing
	problem   string // cannot be checked, for a reason worth a warning
	latest    string
	latestErr error
	timedOut  bool
	st        *state.State
	stateRead bool // st was read (nil then means: never synced)
	changes   []string
	localErr  error
	unsafe    error // the vault path leaves the repository: never touched
}

func (p *envProbe) dirty() bool { return len(p.changes) > 0 }

// behind: the store has a version this clone has not seen.
func (p *envProbe) behind() bool {
	return p.latest != "" && (p.st == nil || p.latest > p.st.Seen)
}

// rolledBack: the store's pointer is older than what this clone last saw.
func (p *envProbe) rolledBack() bool {
	return p.latest != "" && p.st != nil && p.latest < p.st.Seen
}

// hookEnvs lists the envs a hook acts on: vsync.envs, or every env with a config.
func (a *App) hookEnvs(w *Workspace, s hookSettings) (names []string, explicit bool) {
	if s.envsSet {
		return s.envs, true
	}
	names, err := config.ListEnvs(w.ConfigRoot, w.ID.Name)
	if err != nil {
		a.warnf("cannot list the envs of %s: %s", w.ID.Name, oneLine(err))
	}
	return names, false
}

// probeEnvs checks every env at once; each check is bounded by the hook timeout.
func (a *App) probeEnvs(ctx context.Context, w *Workspace, names []string, explicit bool, timeout time.Duration) []*envProbe {
	out := make([]*envProbe, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			growStack(0)
			out[i] = a.probeEnv(ctx, w, n, explicit, timeout)
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// probeEnv reads the `latest` pointer (one small request) while it hashes the
// vault. It neither derives nor even looks up the key: an up-to-date env costs
// no keychain call (see keyMissing for the other cases).
func (a *App) probeEnv(ctx context.Context, w *Workspace, name string, explicit bool, timeout time.Duration) *envProbe {
	p := &envProbe{name: name, explicit: explicit, timeout: timeout, w: w}
	e, err := a.openEnvIn(w, name)
	if errors.Is(err, config.ErrNotFound) {
		p.skip = !explicit
		p.problem = "no config on this machine (git config vsync.envs lists it); run `git vsync import " + name + " FILE.share`"
		return p
	}
	if err != nil {
		p.problem = oneLine(err)
		return p
	}
	p.env = e
	if err := e.checkVaultParents(); err != nil {
		p.unsafe = err
		return p
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type latestRes struct {
		ts  string
		err error
	}
	latestCh := make(chan latestRes, 1)
	go func() {
		growStack(0)
		ts, _, err := e.Latest(cctx)
		latestCh <- latestRes{ts, err}
	}()
	listing := vault.StartListing(e.VaultDir) // walked while the state is decoded
	p.st, p.localErr = e.StateSettled()
	if p.localErr == nil {
		p.stateRead = true
		p.st, p.changes, p.localErr = e.changesListed(listing, p.st)
	}
	lr := <-latestCh
	p.latest, p.latestErr = lr.ts, lr.err
	if p.latestErr != nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		p.timedOut = true
	}
	return p
}

// keyMissing is called before a hook says or does anything about an env: an env
// whose key is not on this machine is not set up here, and a hook leaves it
// alone (with a warning when vsync.envs names it). Keychain failures other than
// "not found" do not count as missing.
func (a *App) keyMissing(ctx context.Context, p *envProbe) bool {
	kctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, _, err := a.Resolver().Lookup(keychain.WithTimeout(kctx, p.timeout), p.w.ID.Name, p.name)
	if err == nil || !errors.Is(err, keychain.ErrNotFound) {
		return false
	}
	if p.explicit {
		a.warnf("%s: no key on this machine (git config vsync.envs lists it); run `git vsync import %s FILE.share`", p.name, p.name)
	}
	return true
}

// storeProblem describes a failed check of the store in one line.
func (p *envProbe) storeProblem(timeout time.Duration) string {
	if p.timedOut {
		return "the store did not answer within " + timeout.String() + " (git config vsync.hookTimeout)"
	}
	if errors.Is(p.latestErr, store.ErrUnreachable) {
		return "the store is unreachable"
	}
	return oneLine(p.latestErr)
}

// ---- post-checkout ----

// HookPostCheckout runs after `git checkout`/`git switch`/`git clone` (SPEC §8):
// args are git's <previous HEAD> <new HEAD> <flag>. Only branch checkouts (flag
// 1) act: each env whose store has a newer version and whose vault is clean is
// pulled; everything else is at most a one-line warning. It never fails, never
// prompts and prints no secret.
func (a *App) HookPostCheckout(ctx context.Context, target *Target, args []string) {
	if a.Getenv(SkipHooksEnv) == "1" {
		return
	}
	flag := "1" // run by hand without arguments: act as on a branch checkout
	switch {
	case len(args) >= 3:
		flag = args[2]
	case a.Getenv("PRE_COMMIT_CHECKOUT_TYPE") != "":
		flag = a.Getenv("PRE_COMMIT_CHECKOUT_TYPE") // pre-commit passes no arguments
	}
	if strings.TrimSpace(flag) != "1" {
		return
	}
	a.syncAfterGit(ctx, target, "post-checkout")
}

// HookPostMerge runs after `git merge` and `git pull` (args: git's squash flag).
// The work tree moved as after a branch checkout, so it does what post-checkout
// does then.
func (a *App) HookPostMerge(ctx context.Context, target *Target, args []string) {
	if a.Getenv(SkipHooksEnv) == "1" {
		return
	}
	a.syncAfterGit(ctx, target, "post-merge")
}

// HookPostRewrite runs after `git rebase` (and `git pull --rebase`) with "rebase",
// and after `git commit --amend` with "amend", which moves no branch to other
// code and does nothing. stdin (the rewritten commits) is not read.
func (a *App) HookPostRewrite(ctx context.Context, target *Target, args []string) {
	if a.Getenv(SkipHooksEnv) == "1" {
		return
	}
	if len(args) > 0 && strings.TrimSpace(args[0]) != "rebase" {
		return
	}
	a.syncAfterGit(ctx, target, "post-rewrite")
}

// syncAfterGit is the work of the hooks that run after git changed the work tree
// (SPEC §8, post-checkout): each env whose store has a newer version and whose
// vault is clean is pulled; everything else is at most a one-line warning. It
// never fails, never prompts and prints no secret. trigger names the hook.
func (a *App) syncAfterGit(ctx context.Context, target *Target, trigger string) {
	defer func() {
		if r := recover(); r != nil {
			a.warnf("internal error in the %s hook (a bug; please report it); git's own work is done", trigger)
		}
	}()
	w, err := target.Get()
	if err != nil {
		if fail.CodeOf(err) != fail.NotSetUp {
			a.warnf("%s: %s", trigger, oneLine(err))
		}
		return
	}
	s := a.readHookSettings(ctx, w.Repo)
	names, explicit := a.hookEnvs(w, s)
	if len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, HookRunFactor*s.timeout)
	defer cancel()
	for _, p := range a.probeEnvs(ctx, w, names, explicit, s.timeout) {
		a.postCheckoutEnv(ctx, p, s, trigger)
	}
}

func (a *App) postCheckoutEnv(ctx context.Context, p *envProbe, s hookSettings, trigger string) {
	env := p.name
	switch {
	case p.skip:
		return
	case p.problem != "":
		a.warnf("%s: %s", env, p.problem)
		return
	case p.unsafe != nil:
		a.warnf("%s: vault not synced: %s", env, oneLine(p.unsafe))
		return
	case p.stateRead && p.latestErr == nil && !p.behind() && !p.rolledBack():
		return // up to date: one request, no keychain call, no key derivation
	case a.keyMissing(ctx, p):
		return
	case p.localErr != nil:
		a.warnf("%s: vault not synced: %s", env, oneLine(p.localErr))
		return
	case p.latestErr != nil:
		a.warnf("%s: vault not synced: %s; run `git vsync pull %s` later", env, p.storeProblem(s.timeout), env)
		return
	case p.rolledBack():
		a.warnf("%s: the store's latest version %s is older than %s, which this clone already saw; not pulled (see `git vsync versions %s`)", env, p.latest, p.st.Seen, env)
		return
	case p.dirty():
		a.warnf("%s: the store has a newer version (%s) but the vault has local changes (%s); files left as they are: merge both with `git vsync pull %s --merge`, keep yours with `git vsync push %s --force`, or take theirs with `git vsync pull %s --force` (a backup is kept)",
			env, p.latest, summarize(p.changes), env, env, env)
		return
	}
	res, err := a.pull(ctx, p.env, PullOptions{Audit: AuditOptions{Meta: []string{"trigger=" + trigger}}})
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		a.warnf("%s: pulling version %s did not finish within %s (%d × git config vsync.hookTimeout); the vault is as it was: run `git vsync pull %s`",
			env, p.latest, HookRunFactor*s.timeout, HookRunFactor, env)
		return
	}
	if err != nil {
		next := "run `git vsync pull " + env + "`"
		if h := fail.HintOf(err); h != "" && fail.CodeOf(err) != fail.Unreachable {
			next = h // the same complete advice the command itself gives
		}
		a.warnf("%s: pulling version %s failed: %s; %s", env, p.latest, oneLine(err), next)
		return
	}
	if res.UpToDate {
		return
	}
	a.infof("git-vsync: %s: pulled version %s (%d files)", env, res.TS, res.Files)
}

// ---- pre-push ----

// HookPrePush runs before `git push` (SPEC §8): args are <remote> <url>, stdin
// holds the ref lines. It refuses (exit 1) while an env's vault has changes not
// in the store or the store has a version this clone has not pulled; git config
// vsync.prePush (warn|off|strict) tunes it. It never prompts and prints no secret.
func (a *App) HookPrePush(ctx context.Context, target *Target, args []string, stdin io.Reader) error {
	if a.Getenv(SkipHooksEnv) == "1" {
		return nil
	}
	s := a.readHookSettings(ctx, target.Repo) // nil outside a repository: the defaults; target.Get says why below
	if s.prePush == PrePushOff {
		return nil
	}
	if !a.pushNeedsCheck(stdin) {
		return nil
	}
	w, err := target.Get()
	if err != nil {
		if fail.CodeOf(err) == fail.NotSetUp {
			return nil
		}
		return a.cannotCheck(s, "the vault check cannot run: "+oneLine(err))
	}
	names, explicit := a.hookEnvs(w, s)
	var issues, cannot []string
	for _, p := range a.probeEnvs(ctx, w, names, explicit, s.timeout) {
		env := p.name
		switch {
		case p.skip:
		case p.problem != "":
			a.warnf("%s: %s", env, p.problem)
		case p.unsafe != nil:
			issues = append(issues, env+": "+oneLine(p.unsafe))
		case p.localErr == nil && p.latestErr == nil && !p.dirty() && !p.behind() && !p.rolledBack():
			// in step: one request, no keychain call
		case a.keyMissing(ctx, p):
		case p.localErr != nil:
			cannot = append(cannot, env+": cannot read the vault: "+oneLine(p.localErr))
		case p.latestErr != nil:
			msg := env + ": " + p.storeProblem(s.timeout)
			if p.dirty() {
				msg += "; note that the vault has local changes not pushed yet (" + summarize(p.changes) + "): run `git vsync push " + env + "` when the store is back"
			}
			cannot = append(cannot, msg)
		case p.dirty() && p.behind():
			issues = append(issues, env+": the vault has local changes ("+summarize(p.changes)+") and the store has a newer version ("+p.latest+"): merge both with `git vsync pull "+env+" --merge` then push, keep yours with `git vsync push "+env+" --force`, or take theirs with `git vsync pull "+env+" --force` (a backup is kept)")
		case p.dirty():
			issues = append(issues, env+": the vault has local changes not pushed to the store ("+summarize(p.changes)+"): run `git vsync push "+env+"`")
		case p.behind():
			issues = append(issues, env+": the store has version "+p.latest+" that this clone has not pulled: run `git vsync pull "+env+"`")
		case p.rolledBack():
			a.warnf("%s: the store's latest version %s is older than %s, which this clone already saw (see `git vsync versions %s`)", env, p.latest, p.st.Seen, env)
		}
	}
	for _, c := range cannot {
		if s.prePush == PrePushStrict {
			issues = append(issues, c+" (vsync.prePush=strict refuses the push when the vault cannot be checked)")
		} else {
			a.warnf("%s; pushing without the vault check", c)
		}
	}
	if len(issues) == 0 {
		return nil
	}
	if s.prePush == PrePushWarn {
		for _, i := range issues {
			a.warnf("%s (vsync.prePush=warn: pushing anyway)", i)
		}
		return nil
	}
	return fail.New(fail.Failure,
		"then push again; `git push --no-verify` skips this check once, `git config vsync.prePush warn` turns it into a warning",
		"push refused by git-vsync: %s", strings.Join(issues, "; "))
}

// cannotCheck is a check that could not run: a warning, or a refusal under strict.
func (a *App) cannotCheck(s hookSettings, msg string) error {
	if s.prePush == PrePushStrict {
		return fail.New(fail.Failure, "fix the cause, or push with `git push --no-verify`", "push refused by git-vsync (vsync.prePush=strict): %s", msg)
	}
	a.warnf("%s; pushing without it", msg)
	return nil
}

// pushNeedsCheck reads the ref lines: a push that only deletes refs (or sends no
// line) needs no check. Input it cannot read is checked anyway.
func (a *App) pushNeedsCheck(stdin io.Reader) bool {
	if stdin == nil {
		return true
	}
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&fs.ModeCharDevice != 0 {
			return true // a terminal (run by hand): no ref lines to read
		}
	}
	refs, err := hooks.ParsePushRefs(stdin)
	if err != nil {
		a.warnf("%s; checking the vaults anyway", oneLine(err))
		return true
	}
	if len(refs) == 0 {
		// pre-commit keeps stdin for itself and passes the pushed object in
		// PRE_COMMIT_TO_REF.
		if to := strings.TrimSpace(a.Getenv("PRE_COMMIT_TO_REF")); to != "" {
			return strings.Trim(to, "0") != ""
		}
		return false
	}
	return !hooks.OnlyDeletions(refs)
}

// ---- helpers ----

// oneLine flattens an error message for a single warning line.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if len(msg) > 400 {
		msg = msg[:400] + "…"
	}
	return msg
}

// growStack grows the calling goroutine's stack in one step, while the stack is
// still shallow. A probe's goroutine goes on to parse a config and make an S3
// request whose SDK middleware runs deep: grown on demand, the stack doubles
// from its 2 KiB start several times, and each growth copies and re-adjusts
// every frame already on it (in CPU profiles of the hook, runtime.copystack was
// a sixth of the samples). Measured on a 5-env hook against versitygw, 60
// alternating runs a try: ~1–2 ms less wall and ~1 ms less CPU with 48 KiB,
// and 24 KiB a little better still; 12 KiB and 112 KiB were slower (more growths
// left, or a larger frame to zero and more pages touched). The frame's size is
// the point; n only keeps it from being optimised away. Stacks shrink only at a
// garbage collection, which a hook does not run.
//
//go:noinline
func growStack(n int) byte {
	var b [24 << 10]byte
	b[n&(len(b)-1)] = 1
	return b[(n*7)&(len(b)-1)]
}
