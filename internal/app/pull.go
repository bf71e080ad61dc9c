package app

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/git-vsync/git-vsync/internal/backup"
	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// PullOptions are the flags of `pull`.
type PullOptions struct {
	At    string // a version to bring back instead of latest
	Force bool   // replace local edits (a backup is kept)
	Merge bool   // merge local edits with the newer version (three-way, base = last synced)
	Audit AuditOptions
}

// PullResult says what a pull did.
type PullResult struct {
	TS        string
	UpToDate  bool
	Files     int
	Backup    string   // the backup of the replaced vault, if one was made
	Discarded []string // local changes --force replaced
	// Merge says what --merge took from the newer version (nil when there was
	// nothing to merge: no local edits, or no newer version).
	Merge *MergeReport
	// KeptEdits: --merge found no newer version; the local edits are as they were.
	KeptEdits bool
}

// Pull brings a version into the vault (SPEC §5.3): verified before anything local
// changes, swapped in atomically, the replaced vault backed up.
func (a *App) Pull(ctx context.Context, target *Target, env string, o PullOptions) (*PullResult, error) {
	e, err := a.OpenEnv(target, env)
	if err != nil {
		return nil, err
	}
	return a.pull(ctx, e, o)
}

func (a *App) pull(ctx context.Context, e *EnvHandle, o PullOptions) (*PullResult, error) {
	env := e.Name
	if o.Merge && (o.At != "" || o.Force) {
		return nil, fail.New(fail.Usage, "--merge brings the latest version into your edits; --force drops them, --at brings back an old version", "--merge does not combine with --at or --force")
	}
	if o.At != "" && !rqem.ValidTS(o.At) {
		return nil, fail.New(fail.Usage, "timestamps look like 20260131-235959; `git vsync versions "+env+"` lists them", "invalid --at %q", o.At)
	}
	release, err := e.LockVault(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	// The vault is listed and `latest` read while git says whether it ignores the
	// vault (a process): an up-to-date pull costs the longest of the three.
	listing := vault.StartListing(e.VaultDir)
	readLatest := e.readLatestAsync(ctx)
	if err := e.checkVaultSafe(); err != nil {
		return nil, err
	}
	st, err := e.syncStateHead(ctx)
	if err != nil {
		return nil, err
	}
	latest, etag, corrupt, err := readLatest()
	if err != nil {
		return nil, err
	}
	if corrupt != nil && o.At == "" {
		return nil, corrupt
	}
	st = a.settlePushing(ctx, e, st, latest, etag)
	// pull --at works past a corrupt pointer: a way back to a listed version.
	target := o.At
	if target == "" {
		if latest == "" {
			return nil, fail.New(fail.NotSetUp, "push a first version with `git vsync push "+env+"`",
				"the store has no version of %s yet", env)
		}
		target = latest
		if st != nil && latest < st.Seen {
			return nil, fail.New(fail.Refused,
				"if the rollback is intended, bring that version back explicitly: `git vsync pull "+env+" --at "+latest+"`",
				"the store's latest pointer for %s went back from %s to %s (rolled back, or someone restored an old pointer); refusing to pull it", env, st.Seen, latest)
		}
	}
	st, changes, err := e.changesListed(listing, st)
	if err != nil {
		return nil, err
	}
	res := &PullResult{TS: target}
	_, vaultErr := statDir(e.VaultDir)
	if st != nil && st.TS == target && len(changes) == 0 && vaultErr == nil {
		// Up to date: no download, no key derivation.
		res.UpToDate = true
		if latest > st.Seen {
			st.Seen, st.ETag = latest, etag
			_ = state.Save(e.Repo.StateDir(), st)
		}
		return res, nil
	}
	if o.Merge && len(changes) > 0 {
		if st != nil && st.TS == target && vaultErr == nil {
			res.UpToDate, res.KeptEdits = true, true
			return res, nil
		}
		return a.mergeInto(ctx, e, st, target, latest, etag, o, res)
	}
	if len(changes) > 0 && !o.Force {
		hint := "publish your edits with `git vsync push " + env + "`, or drop them with `git vsync pull " + env + " --force` (a backup is kept)"
		if st == nil || st.TS != target {
			hint = "merge version " + target + " into your edits with `git vsync pull " + env + " --merge` (then `git vsync push " + env + "`), or drop your edits with `git vsync pull " + env + " --force` (a backup is kept)"
		}
		return nil, fail.New(fail.Refused, hint,
			"the vault %s has local changes since the last sync: %s", e.vaultName(), summarize(changes))
	}
	// The key is derived (PBKDF2, a core for ~0.1 s) while the version downloads,
	// and the backup of the vault it replaces starts as soon as the key is known.
	// Then the bundle is authenticated as it arrives: the tag is computed over the
	// temp file as it grows (rqe1.OpenGrowing), so that it is checked right after
	// the last byte instead of in a pass of its own.
	bundleFile, err := e.newTempFile()
	if err != nil {
		return nil, err
	}
	defer bundleFile.remove()
	grow := store.NewGrowingFile(bundleFile.File)
	type keyed struct {
		aesKey []byte
		bk     *vaultBackup
		err    error
		pt     *rqe1.Plaintext // the authenticated bundle, when ptErr is nil
		ptErr  error
	}
	keyCh := make(chan keyed, 1)
	go func() {
		k, _, _, err := e.Key(ctx)
		if err != nil {
			keyCh <- keyed{err: err}
			return
		}
		kd := keyed{aesKey: k, bk: a.startBackup(e, k)}
		kd.pt, kd.ptErr = rqe1.OpenGrowing(k, grow, func(off int64) (int64, bool, error) { return grow.Ready(ctx, off) })
		keyCh <- kd
	}()
	err = e.downloadInto(ctx, target, bundleFile, grow)
	grow.Close(err)
	kd := <-keyCh
	if kd.bk != nil {
		defer kd.bk.abandon() // unless installZip published it
	}
	if errors.Is(err, store.ErrNotFound) {
		if o.At != "" {
			return nil, fail.New(fail.Usage, "`git vsync versions "+env+"` lists the versions the store holds", "the store has no version %s of %s", target, env)
		}
		return nil, fail.New(fail.Integrity, "`git vsync versions "+env+"` lists what the store holds; whoever pushed last can push again",
			"the latest pointer of %s names version %s, which is missing from the store", env, target)
	}
	if err != nil {
		again := "git vsync pull " + env
		if o.At != "" {
			again += " --at " + o.At
		}
		if o.Force {
			again += " --force"
		}
		return nil, store.AsFailAgain(err, again, "download version "+target+" (the vault was not changed)")
	}
	if kd.err != nil {
		return nil, kd.err
	}
	aesKey := kd.aesKey
	var zip *io.SectionReader
	if kd.ptErr == nil {
		zip, err = sealedZip(kd.pt, target, env)
	} else {
		// share/rotate issue: also try the older keys kept by rotate (pull --at
		// of a version sealed before a rotation); any other failure is found
		// again and reported as before.
		zip, err = e.openAnyKey(ctx, aesKey, bundleFile, target)
	}
	if err != nil {
		return nil, err
	}
	seen := latest
	// pull --at of the very version `latest` names is the rollback accepted, as
	// the refusal above asks: what this clone saw before no longer holds it back
	// (a plain pull refused it again after it, forever).
	if st != nil && st.Seen > seen && (o.At == "" || o.At != latest) {
		seen = st.Seen
	}
	ns := &state.State{Repo: e.ID.Name, Env: env, TS: target, Seen: seen, ETag: etag, Op: "pull", Time: a.Now().UTC(), KeyFP: keyFingerprint(aesKey)}
	files, b, err := a.installZip(e, aesKey, zip, zip.Size(), ns, bundleFile.remove, kd.bk, e.reuse(st))
	if err != nil {
		return nil, err
	}
	if b != nil {
		res.Backup = b.Path
	}
	if err := state.Commit(e.Repo.StateDir(), env); err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "record the pull locally (the vault holds version %s)", target)
	}
	res.Files = countFiles(files)
	if o.Force {
		res.Discarded = changes
	}
	a.appendAudit(ctx, e, "pull", target, o.Audit, nil)
	return res, nil
}

// openBundle authenticates the bundle of size bytes at src (one pass over it),
// checks its seal against the timestamp asked for and returns its zip, decrypted
// from src on demand.
func openBundle(aesKey []byte, src io.ReaderAt, size int64, ts, env string) (*io.SectionReader, error) {
	pt, err := rqe1.OpenAt(aesKey, src, size)
	if err != nil {
		if envelope.KindOf(err) == "" {
			return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "read the downloaded version %s of %s", ts, env)
		}
		return nil, integrityError(err, env, ts)
	}
	return sealedZip(pt, ts, env)
}

// sealedZip checks the seal of the authenticated bundle pt against the timestamp
// asked for and returns its zip.
func sealedZip(pt *rqe1.Plaintext, ts, env string) (*io.SectionReader, error) {
	hdr := make([]byte, min(pt.Size(), int64(rqem.HeaderSize)))
	if _, err := pt.ReadAt(hdr, 0); err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "read the downloaded version %s of %s", ts, env)
	}
	if _, err := rqem.Open(hdr, ts); err != nil {
		return nil, integrityError(err, env, ts)
	}
	return io.NewSectionReader(pt, int64(rqem.HeaderSize), pt.Size()-int64(rqem.HeaderSize)), nil
}

func integrityError(err error, env, ts string) error {
	switch envelope.KindOf(err) {
	case envelope.KindWrongPassphrase:
		return wrongKeyError(err, env, ts)
	case envelope.KindUnsupportedSpecVersion:
		return fail.Envelope(err, "upgrade git-vsync", "version %s of %s", ts, env)
	}
	return fail.Wrap(fail.Integrity, err, "`git vsync versions "+env+"` lists other versions; `git vsync pull "+env+" --at TS` brings one back",
		"version %s of %s is corrupt", ts, env)
}

// wrongKeyError is the one message for a version this machine's key does not
// open: pull, doctor and the post-checkout hook all give this complete command.
func wrongKeyError(err error, env, ts string) error {
	return &fail.Error{Code: fail.KindCode(envelope.KindWrongPassphrase), Err: err,
		What: "version " + ts + " of " + env + " does not open with this machine's key",
		Hint: "the key was probably rotated: ask a teammate for a new share (`git vsync export " + env + "`) and import it with `git vsync import " + env + " FILE.share --force` (your current key is kept); if the key is right, the bundle was tampered with"}
}

// installZip makes the archive's content the vault: unpacked in full into the stage
// beside the vault (every entry checked before anything is written, every file's
// content checked as it is written), then the stage swapped in atomically. bk is the
// backup of the current vault, sealed meanwhile (startBackup; nil: installZip starts
// it). The archive is read once: the backup is kept only once the unpacking
// succeeded, so a bundle refused at unpacking never costs a backup (a hook retrying
// on every checkout would evict good ones), and the vault is untouched until the
// swap. The backup is published (flushed, named) once the new vault is durable and
// before the swap: the one syncfs that flushes the stage flushes the backup too
// (docs/design.md, "Durable extraction"). It returns the files written and the
// backup (nil when the vault was missing or empty).
//
// With next, the sync state the swap reaches is recorded as pending (state.SavePending)
// once the new vault is complete and before it is swapped in; the caller commits it.
// A crash in between is settled by LockVault from the vault's content, so it never
// looks like a local edit.
//
// done, when set, is called once the archive is unpacked and before the new vault
// is flushed to disk: it deletes the temp file the archive was read from, whose
// pages a flush of the whole file system (syncfs) would otherwise write too.
//
// reuse, when set, links the files of the current vault that already hold an
// entry's content into the stage instead of writing them (docs/design.md, "Files
// the new vault already holds"). Their change times move when the replaced vault
// is deleted, so with next their stat keys are taken again after the swap, each
// only once the file was read and found to hold the recorded content.
func (a *App) installZip(e *EnvHandle, aesKey []byte, zip io.ReaderAt, size int64, next *state.State, done func(), bk *vaultBackup, reuse *vault.Reuse) ([]vault.File, *backup.Backup, error) {
	if bk == nil {
		bk = a.startBackup(e, aesKey)
	}
	defer bk.abandon() // after an error; a no-op once the backup was published
	var (
		files     []vault.File
		pending   *backup.Pending
		b         *backup.Backup
		backupErr error
		pruned    = make(chan error, 1)
	)
	// A pull dates the files it unpacks a few seconds back (they are new, no tool
	// has seen them yet; older archive times are kept), so that the stats it
	// records are trusted at the next check instead of every file being hashed:
	// any later edit moves the modification and change times forward.
	var past time.Time
	if next != nil {
		past = a.Now().Add(-2 * vault.RacyWindow)
	}
	err := vault.ReplaceAfter(e.VaultDir, func(stage string) error {
		var err error
		files, err = bundle.ExtractDatedAt(zip, size, stage, bundle.DefaultLimits, past, reuse)
		if err != nil {
			return err
		}
		if done != nil {
			done()
		}
		// The whole archive unpacked: the backup is to be kept. Waiting for it
		// to be sealed here lets the flush of the stage cover it.
		if pending, backupErr = bk.keep(); backupErr != nil {
			return backupErr
		}
		// Local-only files (.vsyncignore) are never replaced or deleted by a pull.
		if err := vault.CopyLocalOnly(e.VaultDir, stage); err != nil {
			return err
		}
		if next == nil {
			files, err = vault.Visible(stage, files)
			return err
		}
		statTime := a.Now().UTC()
		var stats map[string]string
		if files, stats, err = vault.VisibleStats(stage, files); err != nil {
			return err
		}
		next.Files, next.StatTime = stateFiles(files, stats), statTime
		return state.SavePending(e.Repo.StateDir(), next)
	}, func() error {
		// The new vault is on disk; the backup must be too before the vault it
		// holds is moved aside.
		swapPoint("flushed")
		if pending == nil {
			return nil
		}
		pub, err := bk.publish()
		if err != nil {
			backupErr = fail.Wrap(fail.Failure, err, fail.HintLocal, "back up the vault before replacing it (nothing was changed)")
			return backupErr
		}
		b = &pub
		swapPoint("published")
		// Old backups go while the vault is swapped and the replaced one deleted.
		go func() { pruned <- backup.Prune(pub) }()
		return nil
	})
	if b != nil {
		if perr := <-pruned; perr != nil {
			a.warnf("could not remove the oldest backups of %s: %v", e.Name, perr)
		}
	}
	if err != nil {
		if next != nil {
			state.DropPending(e.Repo.StateDir(), e.Name)
		}
		if backupErr != nil {
			return nil, nil, backupErr
		}
		return nil, nil, fail.Wrap(fail.CodeOf(err), err, fail.HintOf(err), "replace the vault (it is unchanged)")
	}
	if next == nil {
		return files, b, nil
	}
	swapPoint("swapped")
	if keys := reuse.Verified(e.VaultDir, files); len(keys) > 0 {
		for i := range next.Files {
			if k, ok := keys[next.Files[i].Path]; ok {
				next.Files[i].Stat = k
			}
		}
		// On failure the pending state written before the swap stays: its keys
		// of the linked files no longer match, so they are hashed at each check.
		_ = state.SavePending(e.Repo.StateDir(), next)
	}
	return files, b, nil
}

// swapPoint is called by installZip at the moments of a swap that tests kill a
// pull at: "flushed" (the new vault is durable, its backup not yet published),
// "published" (the backup is published, the vault not yet swapped) and "swapped"
// (the new vault in place, the pending state not yet re-keyed for linked files).
var swapPoint = func(string) {}

// backupVault seals the current vault into the backups folder; nil when the vault is
// missing or empty (nothing to lose).
func (a *App) backupVault(e *EnvHandle, aesKey []byte) (*backup.Backup, error) {
	bk := a.startBackup(e, aesKey)
	defer bk.abandon()
	if p, err := bk.keep(); err != nil || p == nil {
		return nil, err
	}
	b, err := bk.publish()
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "back up the vault before replacing it (nothing was changed)")
	}
	if err := backup.Prune(b); err != nil {
		a.warnf("could not remove the oldest backups of %s: %v", e.Name, err)
	}
	return &b, nil
}

// errAbandoned ends a backup whose replacement never came.
var errAbandoned = errors.New("backup abandoned: the new vault could not be made")

// vaultBackup is the backup of a vault being sealed in the background while the
// new content is fetched and unpacked (each keeps a core busy). It waits, sealed
// into a temp file, for keep (the new vault is complete) or abandon; only keep
// then publish makes it a backup.
type vaultBackup struct {
	verdict chan error  // nil: keep it
	stop    atomic.Bool // abandoned: stop writing at once
	done    chan struct{}
	p       *backup.Pending // nil when the vault was missing or empty
	err     error
	decided bool
}

// startBackup begins sealing the current vault of e with aesKey.
func (a *App) startBackup(e *EnvHandle, aesKey []byte) *vaultBackup {
	v := &vaultBackup{verdict: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(v.done)
		v.p, v.err = a.sealVault(e, aesKey, v)
	}()
	return v
}

// keep lets the backup be completed and waits until it is sealed: nil when there
// was nothing to back up.
func (v *vaultBackup) keep() (*backup.Pending, error) {
	if !v.decided {
		v.decided = true
		v.verdict <- nil
	}
	<-v.done
	return v.p, v.err
}

// publish makes the kept backup durable and lists it (backup.Pending.Publish).
func (v *vaultBackup) publish() (backup.Backup, error) {
	p := v.p
	v.p = nil
	return p.Publish()
}

// abandon drops the backup unless it was published; nothing of it stays.
func (v *vaultBackup) abandon() {
	if !v.decided {
		v.decided = true
		v.stop.Store(true)
		v.verdict <- errAbandoned
	}
	<-v.done
	if v.p != nil {
		v.p.Discard()
		v.p = nil
	}
}

// sealVault seals the vault of e into a pending backup; once the zip is written it
// waits for v's verdict and completes it only when that is nil. nil when the vault
// is missing or empty (nothing to lose).
func (a *App) sealVault(e *EnvHandle, aesKey []byte, v *vaultBackup) (*backup.Pending, error) {
	files, err := vault.List(e.VaultDir)
	if err != nil || len(files) == 0 {
		return nil, nil
	}
	// The zip is sealed while it is written, straight into the backup file.
	var zipErr error
	p, err := backup.Begin(e.backupRoot(), e.ID.Name, e.Name, aesKey, a.Now(), func(w io.Writer) error {
		if zipErr = bundle.Write(stoppable{w, &v.stop}, e.VaultDir, e.VaultRel); zipErr != nil {
			return zipErr
		}
		return <-v.verdict
	})
	switch {
	case errors.Is(err, errAbandoned):
		return nil, errAbandoned
	case zipErr != nil:
		return nil, fail.Wrap(fail.CodeOf(zipErr), zipErr, fail.HintOf(zipErr), "back up the vault before replacing it")
	case err != nil:
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "back up the vault before replacing it (nothing was changed)")
	}
	return p, nil
}

// stoppable is a writer that fails once stop is set: an abandoned backup stops
// reading the vault at once instead of sealing all of it first.
type stoppable struct {
	w    io.Writer
	stop *atomic.Bool
}

func (s stoppable) Write(b []byte) (int, error) {
	if s.stop.Load() {
		return 0, errAbandoned
	}
	return s.w.Write(b)
}
