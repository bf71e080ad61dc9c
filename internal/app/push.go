package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// PushOptions are the flags of `push`.
type PushOptions struct {
	Force bool // push even when the store has a version this clone has not synced
	Audit AuditOptions
}

// PushResult says what a push did.
type PushResult struct {
	TS        string // the new version; "" when nothing changed
	Previous  string // the version `latest` named before
	Files     int
	Bytes     int  // size of the sealed bundle
	Unchanged bool // the vault equals the latest version: nothing was written
	Forced    bool // --force overrode a newer remote version
}

// specEntries is bundle.SpecEntries; a variable so tests need not make 10,000 files.
var specEntries = bundle.SpecEntries

// maxSameSecondRetries bounds how many later seconds a push tries when the version
// object of its second already exists (another push in the same second).
const maxSameSecondRetries = 5

// Push seals the vault and publishes it as the newest version (SPEC §5.2): an
// exclusive create of the version object, then a compare-and-swap of `latest`.
// Exactly one of several racing pushers wins; the others get exit 3 and leave no
// trace in the bucket.
func (a *App) Push(ctx context.Context, target *Target, env string, o PushOptions) (*PushResult, error) {
	e, release, err := a.OpenLocked(ctx, target, env)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := e.checkVaultSafe(); err != nil {
		return nil, err
	}
	st, err := e.syncState(ctx)
	if err != nil {
		return nil, err
	}
	cur, changes, err := e.Changes(st)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		if _, serr := statDir(e.VaultDir); errors.Is(serr, fs.ErrNotExist) {
			return nil, fail.New(fail.Refused, "create it and put the env's files in it, or `git vsync pull "+env+"` to fetch them",
				"the vault folder %s does not exist; refusing to push an empty version over the team's secrets", e.vaultName())
		}
	}
	latest, etag, corrupt, err := e.readLatest(ctx)
	if err != nil {
		return nil, err
	}
	if settled := a.settlePushing(ctx, e, st, latest, etag); settled != st {
		st = settled
		if cur, changes, err = e.Changes(st); err != nil {
			return nil, err
		}
	}
	if corrupt != nil {
		if !o.Force {
			return nil, corrupt
		}
		// push --force is the way out of a corrupt pointer: it is replaced with
		// a condition on exactly the object that is there now.
		if etag == "" {
			if etag, _, err = e.Store.GetTo(ctx, e.LatestKey(), io.Discard); err != nil {
				return nil, store.AsFail(err, "read the latest pointer of "+env)
			}
		}
		a.warnf("the store's latest pointer for %s is corrupt; --force replaces it", env)
	}
	res := &PushResult{Previous: latest}
	seen := ""
	if st != nil {
		seen = st.Seen
	}
	if latest != "" && seen < latest {
		if !o.Force {
			why := "it never synced this env"
			if seen != "" {
				why = "it last synced " + seen
			}
			hint := "run `git vsync pull " + env + "` first, then push again"
			if len(changes) > 0 {
				hint = "merge it into your edits with `git vsync pull " + env + " --merge`, then push again; or publish yours over it with `git vsync push " + env + " --force` (the other version stays in `git vsync versions " + env + "`; if a teammate rotated the key, import their new share first: a push with the old key is one they cannot open)"
			}
			return nil, fail.New(fail.Refused, hint,
				"the store has version %s of %s that this clone has not pulled (%s)", latest, env, why)
		}
		res.Forced = true
	}
	// Nothing to publish, --force or not: a forced push of an unchanged vault
	// would only add a copy of latest (a corrupt pointer still gets replaced).
	if st != nil && len(changes) == 0 && latest != "" && st.TS == latest && corrupt == nil {
		res.Unchanged = true
		res.TS = latest
		res.Files = countFiles(cur)
		return res, nil
	}
	aesKey, _, keySrc, err := e.Key(ctx)
	if err != nil {
		return nil, err
	}
	if st != nil && st.KeyFP != "" && st.KeyFP != keyFingerprint(aesKey) && !o.Force {
		if keySrc == keychain.SourceEnv {
			keySrc = "the environment (" + keychain.EnvVar(env) + ", " + keychain.KeyEnv + " or " + keychain.KeyFileEnv + ")"
		} else {
			keySrc = "the keychain"
		}
		return nil, fail.New(fail.Integrity,
			"check the key in "+keySrc+" (a key for another env or repository?); `git vsync doctor "+env+"` shows whether it opens the store's latest version; if a teammate rotated the key, import their new share (`git vsync import "+env+" FILE.share --force`); `git vsync push "+env+" --force` publishes with this key anyway",
			"the key from %s is not the one that opened version %s in this clone; refusing to publish a version the team cannot open", keySrc, st.TS)
	}
	// The stats are taken before the files are read, so a file edited meanwhile
	// shows as changed at the next check instead of hiding behind a fresh stat.
	statTime := a.Now().UTC()
	listing, stats, err := vault.ListStats(e.VaultDir)
	if err != nil {
		return nil, err
	}
	if err := bundle.DefaultLimits.Check(listing); err != nil {
		return nil, err
	}
	if n := len(listing) + 1; n > specEntries {
		a.warnf("the bundle of %s holds %d entries; the TypeScript tool refuses bundles of more than %d (SPEC §4.4), so teammates using it cannot pull this version (docs/interop.md)", env, n, specEntries)
	}
	// The bundle is sealed while the zip is written, into a temp file, so a large
	// vault is never held in memory, and it uploads meanwhile (sealUploading).
	ts := nextTS(a.Now(), latest)
	var files []vault.File
	sealed, up, err := e.sealUploading(ctx, aesKey, ts, countFiles(listing), func(w io.Writer) error {
		files, err = bundle.WriteScan(w, e.VaultDir, e.VaultRel)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer sealed.remove()
	// Recorded before the swap: a push killed (or cut off) after it is recognised
	// by the next command from the bundle's bytes (settlePushing).
	ns := &state.State{Repo: e.ID.Name, Env: env, Op: "push", Time: a.Now().UTC(), Files: stateFiles(files, stats), StatTime: statTime, KeyFP: keyFingerprint(aesKey)}
	e.pushing = ns
	sealed.files = countFiles(files)
	ts, newETag, err := a.publishSealed(ctx, e, aesKey, sealed, up, ts, latest, etag, "push")
	if err != nil {
		if fail.CodeOf(err) != fail.Unreachable && ctx.Err() == nil {
			state.DropPushing(e.Repo.StateDir(), env)
		}
		return nil, err
	}
	state.DropPushing(e.Repo.StateDir(), env)
	ns.TS, ns.Seen, ns.ETag, ns.Sealed = ts, ts, newETag, ""
	if err := state.Save(e.Repo.StateDir(), ns); err != nil {
		a.warnf("pushed %s but could not record it locally (%v); the next push or pull may ask for --force", ts, err)
	}
	res.TS, res.Files, res.Bytes = ts, countFiles(files), int(sealed.size)
	a.appendAudit(ctx, e, "push", ts, o.Audit, nil)
	return res, nil
}

// publishSealed makes the bundle in sealed, sealed under aesKey as version ts,
// the newest version (SPEC §5.2): created with If-None-Match — by up when it
// already uploaded while the bundle was sealed, else here — (resealed as the
// next second when that one is taken and `latest` has not moved), then `latest`
// swapped with If-Match on etag. It returns the version's final timestamp. The
// caller removes sealed; the resealed copies are removed here.
//
// The version object is deleted again only when a successful read of `latest`
// shows that it names another version: a swap whose answer was lost (reset, 5xx,
// timeout, Ctrl-C) may have been applied, and deleting then would leave `latest`
// naming nothing. In doubt the object stays and the outcome is reported as
// unknown (exit 5).
func (a *App) publishSealed(ctx context.Context, e *EnvHandle, aesKey []byte, sealed *tempFile, up *upload, ts, latest, etag, action string) (_, newETag string, err error) {
	cur := sealed
	defer func() {
		if cur != sealed {
			cur.remove()
		}
	}()
	advanced := func() error {
		return fail.New(fail.Refused, "run `git vsync pull "+e.Name+"` to get the new version, then "+action+" again",
			"remote advanced: someone else pushed %s while this %s ran; nothing was changed", e.Name, action)
	}
	for try := 0; ; try++ {
		uploaded := try == 0 && up != nil && up.err == nil
		if e.pushing != nil {
			if err := e.recordPushing(ts, cur); err != nil {
				if uploaded {
					a.dropVersion(ctx, e, ts) // ours, and `latest` cannot name it
				}
				return "", "", err
			}
		}
		if try == 0 && up != nil {
			err = up.err
		} else {
			p := a.newProgress(action+" "+e.Name+": upload "+ts, cur.size, sealed.files)
			_, err = e.Store.PutFile(ctx, e.VersionKey(ts), progressReaderAt{cur.File, p}, cur.size, store.Cond{IfNoneMatch: true})
			p.finish()
		}
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrPreconditionFailed) {
			return "", "", a.uploadFailed(ctx, e, ts, err, action)
		}
		// The slot is taken. When `latest` moved meanwhile, another push won:
		// stop here (nothing of ours is in the store) instead of racing on.
		now, nowETag, _, lerr := e.readLatest(ctx)
		if lerr != nil {
			return "", "", lerr
		}
		// (An oversized corrupt pointer has no ETag from readLatest.)
		if now != latest || (nowETag != "" && nowETag != etag) {
			return "", "", advanced()
		}
		if try >= maxSameSecondRetries {
			return "", "", fail.New(fail.Refused, "wait a few seconds, then `git vsync "+action+" "+e.Name+"` again",
				"the version slots after %s are all taken by pushes in progress; nothing was changed", latest)
		}
		// Someone pushed in the same second: take the next one, with the
		// content sealed again under a fresh nonce.
		t, _ := time.Parse(rqem.TSLayout, ts)
		next := rqem.FormatTS(t.Add(time.Second))
		re, err := e.resealBundle(aesKey, cur, next)
		if err != nil {
			return "", "", err
		}
		if cur != sealed {
			cur.remove()
		}
		cur, ts = re, next
		if wait := time.Until(t.Add(time.Second)); wait > 0 && wait < 2*time.Second {
			time.Sleep(wait)
		}
	}
	if ctx.Err() != nil {
		// Interrupted before the swap was sent: `latest` cannot name our object.
		a.dropVersion(ctx, e, ts)
		return "", "", fail.Wrap(fail.Failure, ctx.Err(), "run `git vsync "+action+" "+e.Name+"` again", "%s interrupted; nothing was published", action)
	}
	cond := store.Cond{IfMatch: etag}
	if etag == "" {
		cond = store.Cond{IfNoneMatch: true}
	}
	newETag, err = e.Store.Put(ctx, e.LatestKey(), []byte(ts), cond)
	if err == nil {
		return ts, newETag, nil
	}
	// The answer to the swap may be lost while the swap itself was applied:
	// `latest` as it is now decides, read even after Ctrl-C (bounded).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	body, nowETag, rerr := store.GetLimited(sctx, e.Store, e.LatestKey(), maxLatestBytes)
	now := strings.TrimSpace(string(body))
	switch {
	case rerr != nil && !errors.Is(rerr, store.ErrNotFound):
		return "", "", a.unknownOutcome(e, ts, action, err)
	case rerr == nil && now == ts:
		return ts, nowETag, nil // ours: the swap was applied, only its answer was lost
	case errors.Is(err, store.ErrPreconditionFailed):
		a.dropVersion(ctx, e, ts)
		return "", "", advanced()
	case (rerr == nil && nowETag == etag) || (rerr != nil && etag == ""):
		// `latest` still names what we started from: the swap did not happen.
		a.dropVersion(ctx, e, ts)
		if ctx.Err() != nil {
			return "", "", fail.Wrap(fail.Failure, ctx.Err(), "run `git vsync "+action+" "+e.Name+"` again", "%s interrupted; nothing was published", action)
		}
		return "", "", store.AsFail(err, "update the latest pointer (nothing was published)")
	default:
		// Someone else's version: ours may have been `latest` for a moment, so
		// it stays (it shows in `git vsync versions`).
		return "", "", advanced()
	}
}

// uploadFailed is the error of an upload of version ts that did not go through:
// nothing was published (an interrupted multipart upload was aborted).
func (a *App) uploadFailed(ctx context.Context, e *EnvHandle, ts string, err error, action string) error {
	if ctx.Err() != nil {
		return fail.Wrap(fail.Failure, ctx.Err(), "run `git vsync "+action+" "+e.Name+"` again", "%s interrupted; nothing was published", action)
	}
	return store.AsFailAgain(err, "git vsync "+action+" "+e.Name, "upload version "+ts+" (nothing was published)")
}

// settleTimeout bounds the reads and deletes that settle a swap whose answer was
// lost, also after Ctrl-C.
const settleTimeout = 10 * time.Second

// dropVersion deletes the version object ts that `latest` does not name.
func (a *App) dropVersion(ctx context.Context, e *EnvHandle, ts string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if derr := e.Store.Delete(dctx, e.VersionKey(ts)); derr != nil {
		a.warnf("could not remove the unused version object %s: %v", e.VersionKey(ts), derr)
	}
}

// unknownOutcome is a swap of `latest` that may or may not have been applied: the
// version object stays so that `latest` never names a missing object.
func (a *App) unknownOutcome(e *EnvHandle, ts, action string, cause error) error {
	return fail.Wrap(fail.Unreachable, cause,
		"run `git vsync status --remote` to see whether `latest` names "+ts+"; if it does, the "+action+" went through, otherwise "+action+" again",
		"the outcome of this %s is unknown: the store did not confirm the switch of `latest` to %s, and could not be read back (version %s was kept)", action, ts, ts)
}

// nextTS is now as a bundle timestamp, moved past latest when the clock is behind
// (timestamps must sort after the version they replace).
func nextTS(now time.Time, latest string) string {
	ts := rqem.FormatTS(now)
	if latest != "" && ts <= latest {
		t, err := time.Parse(rqem.TSLayout, latest)
		if err == nil {
			ts = rqem.FormatTS(t.Add(time.Second))
		}
	}
	return ts
}

// recordPushing saves e.pushing as the record of a push about to publish f as
// version ts, with the hash of f taken while it was sealed.
func (e *EnvHandle) recordPushing(ts string, f *tempFile) error {
	if len(f.sum) != sha256.Size {
		return fail.New(fail.Failure, fail.HintBug, "the sealed bundle of %s has no hash", ts)
	}
	e.pushing.TS, e.pushing.Sealed = ts, hex.EncodeToString(f.sum)
	if err := state.SavePushing(e.Repo.StateDir(), e.pushing); err != nil {
		return fail.Wrap(fail.Failure, err, fail.HintLocal, "record the push locally")
	}
	return nil
}

// settlePushing resolves the record of an earlier push whose end this clone did
// not see (killed after the swap of `latest`, or an unknown outcome): when
// `latest` names that version and the store holds exactly the bytes it sealed,
// the push happened and its record becomes the sync state; otherwise the record
// is dropped. It returns the state to go on with.
func (a *App) settlePushing(ctx context.Context, e *EnvHandle, st *state.State, latest, etag string) *state.State {
	rec := state.LoadPushing(e.Repo.StateDir(), e.Name)
	if rec == nil {
		return st
	}
	if latest == "" || latest != rec.TS || (st != nil && st.Seen >= latest) {
		state.DropPushing(e.Repo.StateDir(), e.Name)
		return st
	}
	h := sha256.New()
	if _, _, err := e.Store.GetTo(ctx, e.VersionKey(latest), h); err != nil {
		return st // cannot tell now; the record stays for the next command
	}
	state.DropPushing(e.Repo.StateDir(), e.Name)
	if hex.EncodeToString(h.Sum(nil)) != rec.Sealed {
		return st
	}
	rec.Seen, rec.ETag, rec.Sealed = latest, etag, ""
	if err := state.Save(e.Repo.StateDir(), rec); err != nil {
		a.warnf("could not record the earlier push of %s locally: %v", latest, err)
		return st
	}
	a.warnf("%s: the earlier push of version %s went through (recognised by its content); recorded it", e.Name, latest)
	return rec
}
