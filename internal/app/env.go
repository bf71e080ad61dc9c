package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/lockfile"
	"github.com/git-vsync/git-vsync/internal/repo"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// EnvHandle is one (repo, env) opened for work: its config, store, vault and state.
type EnvHandle struct {
	*Workspace
	Name   string
	Config *config.File
	// ConfigSource is where Config came from: ConfigSourceFile or ConfigSourceEnv.
	ConfigSource string
	Store        store.Store
	VaultRel     string // repo-relative, slash-separated
	VaultDir     string // absolute
	app          *App
	pushing      *state.State // set by push: recorded before each version upload
}

// OpenEnv loads the disk half of env and opens its store. It does no network I/O
// and does not touch the key or the vault (see LockVault).
func (a *App) OpenEnv(target *Target, env string) (*EnvHandle, error) {
	if err := CheckEnv(env); err != nil {
		return nil, err
	}
	w, err := target.Get()
	if err != nil {
		return nil, err
	}
	e, err := a.openEnvIn(w, env)
	if errors.Is(err, config.ErrNotFound) {
		return nil, a.explainNoConfig(w, env, err)
	}
	return e, err
}

// explainNoConfig turns "no config for env" into the advice that leads somewhere:
// the key is still in the keychain (the config folder was lost: import or adopt
// it), or the env is a typo of one set up here (list those instead of suggesting
// to create the typo). Otherwise err stays as it is.
func (a *App) explainNoConfig(w *Workspace, env string, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, kerr := a.Keychain.Get(keychain.WithTimeout(ctx, 3*time.Second), keychain.Account(w.ID.Name, env)); kerr == nil {
		return keyWithoutConfigError(w.ID.Name, env)
	}
	envs, lerr := config.ListEnvs(w.ConfigRoot, w.ID.Name)
	if lerr != nil || len(envs) == 0 {
		return err
	}
	hint := "the envs set up here are " + strings.Join(envs, ", ")
	if near := nearestEnv(env, envs); near != "" {
		hint = "did you mean " + near + "? " + hint
	}
	hint += "; to set up another one from a teammate's share: `git vsync import " + env + " FILE.share`"
	return &fail.Error{Code: fail.NotSetUp, Err: err,
		What: fmt.Sprintf("no env %q for %s on this machine (set up here: %s)", env, w.ID.Name, strings.Join(envs, ", ")),
		Hint: hint}
}

// nearestEnv returns the env of envs within two edits of name (the closest, the
// first on a tie), or "".
func nearestEnv(name string, envs []string) string {
	best, bestD := "", 3
	for _, e := range envs {
		if d := editDistance(name, e); d < bestD {
			best, bestD = e, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (a *App) openEnvIn(w *Workspace, env string) (*EnvHandle, error) {
	c, src, err := w.LoadConfigSource(env)
	if err != nil {
		return nil, err
	}
	st, err := a.openStoreIn(&w.stores, c)
	if err != nil {
		return nil, err
	}
	rel := c.Vault(env)
	return &EnvHandle{Workspace: w, Name: env, Config: c, ConfigSource: src, Store: st, VaultRel: rel, VaultDir: w.Repo.VaultDir(rel), app: a}, nil
}

// OpenLocked is OpenEnv followed by LockVault, for the commands that change the
// vault or the sync state. Call release when done.
func (a *App) OpenLocked(ctx context.Context, target *Target, env string) (e *EnvHandle, release func(), err error) {
	e, err = a.OpenEnv(target, env)
	if err != nil {
		return nil, nil, err
	}
	release, err = e.LockVault(ctx)
	if err != nil {
		return nil, nil, err
	}
	return e, release, nil
}

// vaultLockTimeout is how long a command waits for another git-vsync working on
// the same vault (a hook, a second terminal) before giving up.
const vaultLockTimeout = 15 * time.Second

// LockVault serialises the commands that change a vault or its sync state in this
// clone, then repairs what an interrupted swap left behind. Call release when done.
func (e *EnvHandle) LockVault(ctx context.Context) (release func(), err error) {
	// Before anything touches the folders beside the vault (repair, swap).
	if err := e.checkVaultParents(); err != nil {
		return nil, err
	}
	p := filepath.Join(e.Repo.StateDir(), e.Name+".lock")
	release, err = lockfile.Acquire(ctx, p, vaultLockTimeout)
	if errors.Is(err, lockfile.ErrBusy) {
		return nil, fail.Wrap(fail.Failure, err, "wait for the other git-vsync command (or git hook) to finish, then run this again",
			"another git-vsync is working on the %s vault", e.Name)
	}
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "lock the %s vault", e.Name)
	}
	var refused error // of checkLeftoversUntracked, returned as it is
	err = vault.Recover(e.VaultDir, func(left []string) error {
		refused = e.checkLeftoversUntracked(ctx, left)
		return refused
	})
	if refused != nil {
		release()
		return nil, refused
	}
	var left *vault.LeftoverError
	if errors.As(err, &left) {
		e.reportLeftovers(left.Paths)
		err = nil
	}
	if err != nil {
		release()
		return nil, fail.Wrap(fail.Failure, err, "inspect the folders beside "+e.VaultDir, "repair an interrupted vault update")
	}
	// A pull that died after its new vault was complete left a pending state: it
	// becomes the state when the vault holds exactly those files.
	err = state.Resolve(e.Repo.StateDir(), e.Name, e.vaultStateFiles)
	if err != nil {
		release()
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "settle an interrupted pull")
	}
	return release, nil
}

// OpenStore opens the store a config names.
func OpenStore(c *config.File) (store.Store, error) {
	return openStoreWith(nil, c, 0, 0)
}

func openStoreWith(cs *store.Clients, c *config.File, connect, response time.Duration) (store.Store, error) {
	st, err := cs.Open(store.Config{
		Endpoint: c.S3.Endpoint, Region: c.S3.Region, Bucket: c.S3.Bucket,
		AccessKeyID: c.S3.AccessKeyID, SecretAccessKey: c.S3.SecretAccessKey, UseSSL: c.S3.UseSSL,
		ConnectTimeout: connect, ResponseTimeout: response,
	})
	if err != nil {
		return nil, fail.Wrap(fail.NotSetUp, err, "fix the store settings: re-import a share or run `git vsync init` again", "invalid store configuration")
	}
	return st, nil
}

// openStore is OpenStore with this invocation's timeouts (VSYNC_CONNECT_TIMEOUT,
// VSYNC_STORE_TIMEOUT) and request trace (--verbose).
func (a *App) openStore(c *config.File) (store.Store, error) { return a.openStoreIn(nil, c) }

// openStoreIn is openStore sharing S3 clients through cs (a workspace's, so
// that the envs of one command share one client per store and credentials).
func (a *App) openStoreIn(cs *store.Clients, c *config.File) (store.Store, error) {
	st, err := openStoreWith(cs, c, a.durationVar("VSYNC_CONNECT_TIMEOUT"), a.durationVar("VSYNC_STORE_TIMEOUT"))
	if err != nil || a.Trace == nil {
		return st, err
	}
	return store.Traced(st, a.Trace), nil
}

// Layout is the env's bucket layout (SPEC §5.1).
func (e *EnvHandle) Layout() store.Layout { return store.EnvLayout(e.ID.Name, e.Name) }

// durationVar reads a positive duration ("10s", "2m") from the environment; an
// unset or unusable value gives 0 (the default), with a warning for the latter.
func (a *App) durationVar(name string) time.Duration {
	v := strings.TrimSpace(a.Getenv(name))
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > time.Hour {
		a.warnf("%s=%q is not a duration between 0 and 1h (e.g. 10s); using the default", name, v)
		return 0
	}
	return d
}

// Prefix is the bucket prefix of the env: <repo>/<env>/.
func (e *EnvHandle) Prefix() string { return e.Layout().Prefix }

// LatestKey is the key of the `latest` pointer.
func (e *EnvHandle) LatestKey() string { return e.Layout().Latest() }

// VersionKey is the key of the bundle of ts.
func (e *EnvHandle) VersionKey(ts string) string { return e.Layout().Version(ts) }

// maxLatestBytes bounds the `latest` pointer: a timestamp and a newline, with room.
const maxLatestBytes = 64

// Latest reads the `latest` pointer: ts "" when nothing was pushed yet.
func (e *EnvHandle) Latest(ctx context.Context) (ts, etag string, err error) {
	ts, etag, corrupt, err := e.readLatest(ctx)
	if err == nil && corrupt != nil {
		err = corrupt
	}
	return ts, etag, err
}

// readLatest is Latest that tells a corrupt pointer (corrupt, with the object's
// ETag, so push --force can replace exactly it) from a failed read (err).
func (e *EnvHandle) readLatest(ctx context.Context) (ts, etag string, corrupt, err error) {
	body, etag, err := store.GetLimited(ctx, e.Store, e.LatestKey(), maxLatestBytes)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", nil, nil
	}
	what := "not a timestamp"
	if errors.Is(err, store.ErrTooLarge) {
		what, err = fmt.Sprintf("over %d bytes", maxLatestBytes), nil
	} else if err != nil {
		return "", "", nil, store.AsFail(err, "read the latest version of "+e.Name)
	}
	ts = strings.TrimSpace(string(body))
	if what != "not a timestamp" || !rqem.PointerTS(ts) {
		return "", etag, fail.New(fail.Integrity,
			"`git vsync versions "+e.Name+"` lists what the store holds; `git vsync push "+e.Name+" --force` publishes your vault as the new latest, or `git vsync pull "+e.Name+" --at TS` brings a listed version back first",
			"the store's latest pointer for %s is corrupt (%s)", e.Name, what), nil
	}
	return ts, etag, nil, nil
}

// readLatestAsync starts readLatest; the function returned waits for its answer.
func (e *EnvHandle) readLatestAsync(ctx context.Context) func() (ts, etag string, corrupt, err error) {
	type answer struct {
		ts, etag     string
		corrupt, err error
	}
	ch := make(chan answer, 1)
	go func() {
		var a answer
		a.ts, a.etag, a.corrupt, a.err = e.readLatest(ctx)
		ch <- a
	}()
	return func() (string, string, error, error) {
		a := <-ch
		return a.ts, a.etag, a.corrupt, a.err
	}
}

// Key returns the AES key of the env's bundles (derived from the keychain value and
// the config salt) and the key text's source.
func (e *EnvHandle) Key(ctx context.Context) (aesKey []byte, keyText, source string, err error) {
	keyText, source, err = e.app.LoadKey(ctx, e.Workspace, e.Name)
	if err != nil {
		return nil, "", "", err
	}
	k, err := e.app.aesKey(ctx, keychain.Account(e.ID.Name, e.Name), keyText, source, e.Config.Salt)
	if err != nil {
		return nil, "", "", err
	}
	return k, keyText, source, nil
}

// keyFingerprint names a derived key in the sync state without revealing it: a
// short, domain-separated hash of 32 random bytes.
func keyFingerprint(aesKey []byte) string {
	h := sha256.Sum256(append([]byte("git-vsync key fingerprint v1\x00"), aesKey...))
	return hex.EncodeToString(h[:8])
}

// State reads this clone's sync state of the env.
func (e *EnvHandle) State() (*state.State, error) {
	st, err := state.Load(e.Repo.StateDir(), e.Name)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "remove the file to forget the last sync (the next pull will then ask for --force if the vault has files)", "read the sync state")
	}
	return st, e.sameRepo(st)
}

// sameRepo refuses a sync state recorded for another repository identity: the
// identity comes from the committed .vsync, which a branch can change, and the
// vault still holds the other repository's secrets. Syncing on would pull that
// repository's versions over them, and a push would publish this vault to its
// store and team. The state of a legacy clone without a name is not compared.
func (e *EnvHandle) sameRepo(st *state.State) error {
	if st == nil || st.Repo == "" || st.Repo == e.ID.Name {
		return nil
	}
	return fail.New(fail.Refused,
		"check who changed the repository name (`git log -p -- "+repo.PinFile+"`) and go back to a branch that names "+st.Repo+"; if this repository really is "+e.ID.Name+" now, move "+e.vaultName()+" aside, delete "+filepath.ToSlash(state.Path(e.Repo.StateDir(), e.Name))+" (the sync state of "+st.Repo+"), then pull",
		"refusing to sync %s: its vault holds the secrets of %s (its last sync), but the repository is now named %s (source: %s)", e.Name, st.Repo, e.ID.Name, e.ID.Source)
}

// stateHead is State for an up-to-date check: of a large state only the head
// (state.LoadHead; Partial), whose files changesListed reads when the vault's
// stat digest differs.
func (e *EnvHandle) stateHead() (*state.State, error) {
	st, err := state.LoadHead(e.Repo.StateDir(), e.Name)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "remove the file to forget the last sync (the next pull will then ask for --force if the vault has files)", "read the sync state")
	}
	return st, e.sameRepo(st)
}

// syncStateHead is syncState for an up-to-date check (stateHead).
func (e *EnvHandle) syncStateHead(ctx context.Context) (*state.State, error) {
	st, err := e.stateHead()
	if err != nil || st != nil {
		return st, err
	}
	return e.adoptLedger(ctx), nil
}

// StateSettled is stateHead for commands that do not lock the vault: a pull
// killed between its swap and its state commit left a pending state, which
// counts when the vault holds exactly its files (read-only; LockVault commits
// it), so status and the hooks never show the pulled files as local edits. The
// state may be Partial: pass it to changesListed.
func (e *EnvHandle) StateSettled() (*state.State, error) {
	p, err := state.Peek(e.Repo.StateDir(), e.Name, e.vaultStateFiles)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "read the pending sync state")
	}
	if p != nil {
		return p, e.sameRepo(p)
	}
	return e.stateHead()
}

// vaultStateFiles lists the vault as the sync state records it (nil when missing).
func (e *EnvHandle) vaultStateFiles() ([]state.File, error) {
	files, err := vault.Scan(e.VaultDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return stateFiles(files, nil), err
}

// Changes compares the vault with the last sync. A vault that never synced counts
// as changed when it holds anything. A missing vault has no changes. In cur, the
// files the last sync did not have carry no hash (they are added whatever they
// hold; hashedVault reads them too).
func (e *EnvHandle) Changes(st *state.State) (cur []vault.File, changed []string, err error) {
	return e.changes(st, func(known []vault.Known, racy time.Time) ([]vault.File, error) {
		return vault.ScanForChanges(e.VaultDir, known, racy)
	})
}

// changesListed is Changes over a listing of the vault started before st was
// read, without the listing itself. When the listing has the stat digest st
// recorded (every path, size and stat key as synced, no file modified too close
// to the sync to trust its stat), nothing changed and no file is compared; else
// the files are compared one by one, and a Partial st is read whole first: the
// state returned is then the one read, for the caller to go on with (st itself
// when it fails).
func (e *EnvHandle) changesListed(l *vault.Listing, st *state.State) (*state.State, []string, error) {
	if st != nil && st.StatDigest != "" {
		d := state.NewDigest()
		if ok, err := l.EachStat(st.StatTime.Add(-vault.RacyWindow), d.Add); err == nil && ok && d.Sum() == st.StatDigest {
			return st, nil, nil
		}
	}
	if st != nil && st.Partial() {
		full, err := e.State()
		if err != nil {
			return st, nil, err
		}
		st = full
	}
	_, changed, err := e.changes(st, l.ScanForChanges)
	return st, changed, err
}

// hashedVault is the vault as Changes sees it, with the hash of every file (files
// the last sync did not have are read too).
func (e *EnvHandle) hashedVault(st *state.State) ([]vault.File, error) {
	cur, _, err := e.changes(st, func(known []vault.Known, racy time.Time) ([]vault.File, error) {
		return vault.ScanKnown(e.VaultDir, known, racy)
	})
	return cur, err
}

func (e *EnvHandle) changes(st *state.State, scan func([]vault.Known, time.Time) ([]vault.File, error)) (cur []vault.File, changed []string, err error) {
	var old []vault.File
	var known []vault.Known
	var racy time.Time
	if st != nil {
		old = make([]vault.File, 0, len(st.Files))
		known = make([]vault.Known, 0, len(st.Files))
		for _, f := range st.Files {
			old = append(old, vault.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Dir: f.Dir})
			known = append(known, vault.Known{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Stat: f.Stat})
		}
		racy = st.StatTime.Add(-vault.RacyWindow)
	}
	// Files whose on-disk state is as recorded are not read again: an up-to-date
	// check of a large vault costs a directory walk, not a hash of every byte.
	cur, err = scan(known, racy)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	added, mod, removed := vault.Diff(old, cur)
	for _, p := range added {
		changed = append(changed, "+"+p)
	}
	for _, p := range mod {
		changed = append(changed, "~"+p)
	}
	for _, p := range removed {
		changed = append(changed, "-"+p)
	}
	return cur, changed, nil
}

// reuse offers the vault's files that st (its last sync) vouches for to a new
// vault unpacked beside it (vault.Reuse: a file that already holds an entry's
// content is linked instead of written); nil when there is no sync state. A
// Partial st (an up-to-date check found the vault as synced) is read whole.
func (e *EnvHandle) reuse(st *state.State) *vault.Reuse {
	if st != nil && st.Partial() {
		full, err := e.State()
		if err != nil || full == nil || !full.Time.Equal(st.Time) || full.StatDigest != st.StatDigest {
			return nil
		}
		st = full
	}
	if st == nil {
		return nil
	}
	known := make([]vault.Known, 0, len(st.Files))
	for _, f := range st.Files {
		if !f.Dir {
			known = append(known, vault.Known{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Stat: f.Stat})
		}
	}
	return vault.NewReuse(e.VaultDir, known, st.StatTime.Add(-vault.RacyWindow), e.app.Now())
}

// stateFiles converts a vault listing for the state file, with the stat keys taken
// before the files were read (nil: none).
func stateFiles(files []vault.File, stats map[string]string) []state.File {
	out := make([]state.File, 0, len(files))
	for _, f := range files {
		out = append(out, state.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Dir: f.Dir, Stat: stats[f.Path]})
	}
	return out
}

// summarize shortens a change list for a one-line message.
func summarize(changes []string) string {
	const max = 5
	if len(changes) <= max {
		return strings.Join(changes, " ")
	}
	return strings.Join(changes[:max], " ") + " …and " + strconv.Itoa(len(changes)-max) + " more"
}

// vaultName is the display name of the vault folder.
func (e *EnvHandle) vaultName() string { return path.Clean(e.VaultRel) + "/" }

// reportLeftovers warns once about leftovers of an earlier vault swap that could
// not be removed (the paths are remembered in <env>.leftovers in the state folder),
// and lets the command go on: they never take part in a later swap.
func (e *EnvHandle) reportLeftovers(paths []string) {
	marker := filepath.Join(e.Repo.StateDir(), e.Name+".leftovers")
	old, _ := atomicfile.ReadRegular(marker, 1<<20)
	known := map[string]bool{}
	for _, l := range strings.Split(string(old), "\n") {
		known[l] = true
	}
	var fresh []string
	for _, p := range paths {
		if !known[p] {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return
	}
	e.app.warnf("could not remove %s, left over from an interrupted vault update; it is skipped from now on (delete it by hand)", strings.Join(fresh, ", "))
	_ = atomicfile.Write(marker, []byte(strings.Join(paths, "\n")), 0o600)
}
