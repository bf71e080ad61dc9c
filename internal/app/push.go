package app

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
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

// maxSameSecondRetries bounds how many later seconds a push tries when the version
// object of its second already exists (another push in the same second).
const maxSameSecondRetries = 5

// Push seals the vault and publishes it as the newest version (SPEC §5.2): an
// exclusive create of the version object, then a compare-and-swap of `latest`.
// Exactly one of several racing pushers wins; the others get exit 3 and leave no
// trace in the bucket.
func (a *App) Push(ctx context.Context, repoFlag, env string, o PushOptions) (*PushResult, error) {
	e, release, err := a.OpenLocked(ctx, repoFlag, env)
	if err != nil {
		return nil, err
	}
	defer release()
	st, err := e.State()
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
	latest, etag, err := e.Latest(ctx)
	if err != nil {
		return nil, err
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
			return nil, fail.New(fail.Refused,
				"run `git vsync pull "+env+"` first (your edits stay if you push them after), or `git vsync push "+env+" --force` to publish yours over it (the other version stays in `git vsync versions "+env+"`)",
				"the store has version %s of %s that this clone has not pulled (%s)", latest, env, why)
		}
		res.Forced = true
	}
	if st != nil && len(changes) == 0 && latest != "" && st.TS == latest && !o.Force {
		res.Unchanged = true
		res.TS = latest
		res.Files = countFiles(cur)
		return res, nil
	}
	aesKey, _, _, err := e.Key(ctx)
	if err != nil {
		return nil, err
	}
	listing, err := vault.List(e.VaultDir)
	if err != nil {
		return nil, err
	}
	if err := bundle.DefaultLimits.Check(listing); err != nil {
		return nil, err
	}
	// The bundle is sealed while the zip is written, into a temp file, so a large
	// vault is never held in memory.
	ts := nextTS(a.Now(), latest)
	var files []vault.File
	// The stats are taken before the files are read, so a file edited meanwhile
	// shows as changed at the next check instead of hiding behind a fresh stat.
	statTime := a.Now().UTC()
	stats, err := vault.Stats(e.VaultDir)
	if err != nil {
		return nil, err
	}
	sealed, err := e.sealBundle(aesKey, ts, func(w io.Writer) error {
		files, err = bundle.WriteScan(w, e.VaultDir, e.VaultRel)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer sealed.remove()
	ts, newETag, err := a.publishSealed(ctx, e, aesKey, sealed, ts, latest, etag, "push")
	if err != nil {
		return nil, err
	}
	ns := &state.State{Repo: e.ID.Name, Env: env, TS: ts, Seen: ts, ETag: newETag, Op: "push", Time: a.Now().UTC(), Files: stateFiles(files, stats), StatTime: statTime}
	if err := state.Save(e.Repo.StateDir(), ns); err != nil {
		a.warnf("pushed %s but could not record it locally (%v); the next push or pull may ask for --force", ts, err)
	}
	res.TS, res.Files, res.Bytes = ts, countFiles(files), int(sealed.size)
	a.appendAudit(ctx, e, "push", ts, o.Audit, nil)
	return res, nil
}

// publish seals zipData under aesKey as the version after latest and swaps the
// latest pointer from etag (see publishSealed).
func (a *App) publish(ctx context.Context, e *Env, aesKey, zipData []byte, latest, etag, action string) (ts, newETag string, err error) {
	ts = nextTS(a.Now(), latest)
	sealed, err := e.sealBundle(aesKey, ts, func(w io.Writer) error {
		if _, err := w.Write(zipData); err != nil {
			return fail.Wrap(fail.Failure, err, "", "seal the bundle")
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	defer sealed.remove()
	return a.publishSealed(ctx, e, aesKey, sealed, ts, latest, etag, action)
}

// publishSealed makes the bundle in sealed, sealed under aesKey as version ts,
// the newest version (SPEC §5.2): created with If-None-Match (resealed as the
// next second when that one is taken), then `latest` swapped with If-Match on
// etag. When the swap loses, the version object is deleted again and the result
// is "remote advanced" (exit 3). It returns the version's final timestamp. The
// caller removes sealed; the resealed copies are removed here.
func (a *App) publishSealed(ctx context.Context, e *Env, aesKey []byte, sealed *tempFile, ts, latest, etag, action string) (_, newETag string, err error) {
	cur := sealed
	defer func() {
		if cur != sealed {
			cur.remove()
		}
	}()
	for try := 0; ; try++ {
		_, err = e.Store.PutFile(ctx, e.VersionKey(ts), cur.File, cur.size, store.Cond{IfNoneMatch: true})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrPreconditionFailed) || try >= maxSameSecondRetries {
			return "", "", store.AsFail(err, "upload version "+ts)
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
	cond := store.Cond{IfMatch: etag}
	if latest == "" {
		cond = store.Cond{IfNoneMatch: true}
	}
	newETag, err = e.Store.Put(ctx, e.LatestKey(), []byte(ts), cond)
	if err != nil {
		// Our version object is an orphan now; remove it so the bucket is as before.
		if derr := e.Store.Delete(context.WithoutCancel(ctx), e.VersionKey(ts)); derr != nil {
			a.warnf("could not remove the unused version object %s: %v", e.VersionKey(ts), derr)
		}
		if errors.Is(err, store.ErrPreconditionFailed) {
			return "", "", fail.New(fail.Refused, "run `git vsync pull "+e.Name+"` to get the new version, then "+action+" again",
				"remote advanced: someone else pushed %s while this %s ran; nothing was changed", e.Name, action)
		}
		return "", "", store.AsFail(err, "update the latest pointer")
	}
	return ts, newETag, nil
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
