package app

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/git-vsync/git-vsync/internal/backup"
	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/store"
)

// RotateOptions are the flags of `rotate`.
type RotateOptions struct {
	// PurgeOld deletes, after the rotation, every version that does not open with
	// the new key, then forgets the old keys.
	PurgeOld bool
	// Confirm is asked before anything is purged, with the versions to delete;
	// nil means yes.
	Confirm func(versions []string) (bool, error)
	Audit   AuditOptions
}

// RotateResult says what rotate did.
type RotateResult struct {
	Repo           string
	Env            string
	OldFingerprint string
	NewFingerprint string
	TS             string // the re-sealed version; "" when the store had none
	Previous       string // the version it re-sealed
	KeptKey        string // keychain account of the old key
	Purged         []string
	PurgeDeclined  bool
	KeysForgotten  int
	Warnings       []string
}

// Rotate replaces the key and salt of env (SPEC §9). The latest version is opened
// with the current key and re-sealed under the new one as a new version (exclusive
// create, then compare-and-swap of latest, as push does). Crash safety: the old key
// is kept in the keychain first, and the new key is stored (keychain entry
// "#<new fingerprint>", listed in previousKeys) before the store is written, so
// whatever step a crash stops at, every version stays readable on this machine.
func (a *App) Rotate(ctx context.Context, target *Target, env string, o RotateOptions) (*RotateResult, error) {
	// Rotate records a new version in this clone's sync state.
	e, release, err := a.OpenLocked(ctx, target, env)
	if err != nil {
		return nil, err
	}
	defer release()
	oldKey, source, err := a.LoadKey(ctx, e.Workspace, env)
	if err != nil {
		return nil, err
	}
	if source != keychain.SourceKeychain {
		return nil, fail.New(fail.Refused,
			"rotate on a machine that holds the key in its keychain (unset "+keychain.EnvVar(env)+", "+keychain.KeyEnv+" and "+keychain.KeyFileEnv+"), then update the secret of your CI from a new share",
			"the key of %s comes from the environment, which rotate cannot update", env)
	}
	st, err := e.State()
	if err != nil {
		return nil, err
	}
	latest, etag, err := e.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if latest != "" && (st == nil || st.TS != latest) {
		return nil, fail.New(fail.Refused,
			"run `git vsync pull "+env+"` first (push your local edits before, if any), then rotate",
			"this clone does not hold the latest version %s of %s; rotate re-seals it and records it as this clone's version", latest, env)
	}
	res := &RotateResult{Repo: e.ID.Name, Env: env, OldFingerprint: sls1.Fingerprint(oldKey), Previous: latest}
	newKey, err := keychain.NewKey()
	if err != nil {
		return nil, err
	}
	newSalt, err := config.NewSalt()
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintSystem, "make a salt")
	}
	// The new key's derivation (PBKDF2: ~0.1 s of one core) runs on the other
	// core while the latest bundle is downloaded and authenticated.
	type derived struct {
		key []byte
		err error
	}
	newDerived := make(chan derived, 1)
	go func() {
		k, err := deriveAES(newKey, newSalt)
		newDerived <- derived{k, err}
	}()
	oldAES, err := a.aesKey(ctx, keychain.Account(e.ID.Name, env), oldKey, source, e.Config.Salt)
	if err != nil {
		return nil, err
	}
	// The latest bundle, downloaded to a temp file; its zip is decrypted from there
	// while it is sealed again under the new key.
	var zip *io.SectionReader
	if latest != "" {
		bundleFile, err := e.download(ctx, latest)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fail.New(fail.Integrity, "`git vsync versions "+env+"` lists what the store holds; push a version, then rotate",
				"the latest pointer of %s names version %s, which is missing from the store", env, latest)
		}
		if err != nil {
			return nil, store.AsFail(err, "download version "+latest)
		}
		defer bundleFile.remove()
		if zip, err = e.openAnyKey(ctx, oldAES, bundleFile, latest); err != nil {
			return nil, err
		}
	}

	d := <-newDerived
	if d.err != nil {
		return nil, d.err
	}
	newAES := d.key
	res.NewFingerprint = sls1.Fingerprint(newKey)
	cfgPath := e.ConfigPath(env)
	oldEntry := config.PreviousKey{Fingerprint: res.OldFingerprint, Salt: e.Config.Salt}
	newEntry := config.PreviousKey{Fingerprint: res.NewFingerprint, Salt: newSalt}
	bg := context.WithoutCancel(ctx)

	// Steps 1 to 3 are one change of the halves: until the store holds the new
	// version, any failure puts both back as they were.
	tx := a.beginHalves(ctx)
	defer tx.rollback()
	// 1. Keep the old key, before anything else.
	kept, err := tx.keepKey(e.ID.Name, env, oldKey)
	if err != nil {
		return nil, err
	}
	res.KeptKey = kept
	// 2. Park the new key where pull finds it, in case we stop after the store write.
	pendingAcct := oldKeyAccount(e.ID.Name, env, res.NewFingerprint)
	if err := tx.setKey(pendingAcct, newKey); err != nil {
		return nil, err
	}
	pending := *e.Config
	pending.PreviousKeys = addPreviousKey(addPreviousKey(e.Config.PreviousKeys, oldEntry), newEntry)
	if err := tx.saveConfig(cfgPath, &pending); err != nil {
		return nil, fail.Wrap(fail.Failure, err, "check the permissions of "+e.ConfigRoot, "write the config (nothing was changed)")
	}

	// 3. The store: the latest content as a new version under the new key.
	var newETag string
	if latest != "" {
		ts := nextTS(a.Now(), latest)
		sealed, err := e.sealBundle(newAES, ts, func(w io.Writer) error {
			if err := copyZip(w, zip); err != nil {
				return fail.Wrap(fail.Failure, err, fail.HintLocal, "seal the bundle")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		defer sealed.remove()
		ts, etagNew, err := a.publishSealed(ctx, e, newAES, sealed, nil, ts, latest, etag, "rotate")
		if err != nil {
			return nil, err
		}
		res.TS, newETag = ts, etagNew
	}
	// From here the store holds the new key's version: no rollback any more. A
	// failure below leaves the new key parked as pendingAcct, which pull finds,
	// and rotate run again finishes the job.
	tx.commit()

	// 4. Both halves.
	account := keychain.Account(e.ID.Name, env)
	if err := a.Keychain.Set(ctx, account, newKey); err != nil {
		return nil, fail.Wrap(fail.CodeOf(err), err,
			"the new key is safe in the keychain as "+pendingAcct+" and pull still works; run `git vsync rotate "+env+"` again once the keychain answers",
			"rotated the store but could not update the keychain entry %s", account)
	}
	// The remembered key of the account is the new key's (derived above), or none.
	if !a.rememberDerived(ctx, account, newKey, newSalt) {
		a.forgetRemembered(bg, account)
	}
	final := *e.Config
	final.Salt = newSalt
	final.PreviousKeys = dropPreviousKey(addPreviousKey(e.Config.PreviousKeys, oldEntry), newEntry.Fingerprint, newEntry.Salt)
	if err := final.Save(cfgPath); err != nil {
		return nil, fail.Wrap(fail.Failure, err,
			"check the permissions of "+e.ConfigRoot+", then run `git vsync rotate "+env+"` again; every version stays readable meanwhile",
			"rotated the store and the keychain but could not write the config")
	}
	if err := a.Keychain.Delete(bg, pendingAcct); err != nil && !errors.Is(err, keychain.ErrNotFound) {
		res.Warnings = append(res.Warnings, "could not remove the temporary keychain entry "+pendingAcct+" (it holds the new key; remove it by hand)")
	}
	e.Config = &final

	// 5. This clone holds the new version (same content).
	if res.TS != "" {
		ns := &state.State{Repo: e.ID.Name, Env: env, TS: res.TS, Seen: res.TS, ETag: newETag, Op: "push", Time: a.Now().UTC(), Files: st.Files, StatTime: st.StatTime, KeyFP: keyFingerprint(newAES)}
		if err := state.Save(e.Repo.StateDir(), ns); err != nil {
			res.Warnings = append(res.Warnings, "could not record the new version locally ("+err.Error()+"); the next push or pull may ask for --force")
		}
	}
	a.appendAudit(ctx, e, "rotate", res.TS, o.Audit, nil)

	if o.PurgeOld {
		if err := a.purgeOld(ctx, e, newAES, res, o.Confirm); err != nil {
			return res, err
		}
	}
	return res, nil
}

// purgeOld deletes the versions that do not open with aesKey (the new key), after
// confirmation, then forgets the older keys of the env.
func (a *App) purgeOld(ctx context.Context, e *EnvHandle, aesKey []byte, res *RotateResult, confirm func([]string) (bool, error)) error {
	latest, _, err := e.Latest(ctx)
	if err != nil {
		return err
	}
	infos, err := e.Store.List(ctx, e.Layout().Versions())
	if err != nil {
		return store.AsFail(err, "list the versions of "+e.Name)
	}
	var old []string
	for _, in := range infos {
		ts, ok := e.Layout().VersionOf(in.Key)
		if !ok || !rqem.ValidTS(ts) {
			continue
		}
		bundleFile, err := e.download(ctx, ts)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.AsFail(err, "download version "+ts)
		}
		_, err = rqe1.OpenAt(aesKey, bundleFile.File, bundleFile.size)
		bundleFile.remove()
		if err == nil {
			continue
		}
		if envelope.KindOf(err) == "" {
			// Not a verdict on the version (the temp file could not be read):
			// never a reason to delete it.
			return fail.Wrap(fail.Failure, err, fail.HintLocal, "read the downloaded version %s", ts)
		}
		if ts == latest {
			return fail.New(fail.Refused, "run `git vsync pull "+e.Name+"` and `git vsync rotate "+e.Name+" --purge-old` again; the old keys are kept",
				"the latest version %s of %s is not sealed with the new key (someone pushed with an old key); nothing was purged", ts, e.Name)
		}
		old = append(old, ts)
	}
	if len(old) > 0 && confirm != nil {
		ok, err := confirm(old)
		if err != nil {
			return err
		}
		if !ok {
			res.PurgeDeclined = true
			return nil
		}
	}
	for _, ts := range old {
		if err := e.Store.Delete(ctx, e.VersionKey(ts)); err != nil {
			return store.AsFail(err, "delete version "+ts+" (the old keys are kept; run the purge again)")
		}
		res.Purged = append(res.Purged, ts)
	}
	// No version needs the old keys any more.
	for _, pk := range e.Config.PreviousKeys {
		err := a.Keychain.Delete(ctx, oldKeyAccount(e.ID.Name, e.Name, pk.Fingerprint))
		if err != nil && !errors.Is(err, keychain.ErrNotFound) {
			res.Warnings = append(res.Warnings, "could not remove the old key "+oldKeyAccount(e.ID.Name, e.Name, pk.Fingerprint)+" from the keychain")
			continue
		}
		res.KeysForgotten++
	}
	if bs, _ := backup.List(e.backupRoot(), e.ID.Name, e.Name); len(bs) > 0 && len(e.Config.PreviousKeys) > 0 {
		res.Warnings = append(res.Warnings, "local backups made before the rotation (`git vsync restore "+e.Name+"`) no longer open: their key is gone")
	}
	c := *e.Config
	c.PreviousKeys = nil
	if err := c.Save(e.ConfigPath(e.Name)); err != nil {
		return fail.Wrap(fail.Failure, err, fail.HintLocal, "write the config")
	}
	e.Config = &c
	return nil
}

// openAnyKey opens the downloaded bundle of version ts with the env's current key
// (aesKey), then with the older keys this machine kept (rotate, import --force),
// newest first. It is how `pull --at` brings back a version sealed before a
// rotation. Each try is one authentication pass over the file; the zip returned is
// decrypted from the file on demand.
func (e *EnvHandle) openAnyKey(ctx context.Context, aesKey []byte, f *tempFile, ts string) (*io.SectionReader, error) {
	var zip *io.SectionReader
	err := e.withAnyKey(ctx, aesKey, func(k []byte) error {
		z, err := openBundle(k, f.File, f.size, ts, e.Name)
		zip = z
		return err
	})
	if err != nil && envelope.KindOf(err) == envelope.KindWrongPassphrase {
		return nil, wrongKeyError(err, e.Name, ts)
	}
	return zip, err
}

// withAnyKey calls open with aesKey, then with each older key of the env, until
// open succeeds or fails for a reason other than a wrong key.
func (e *EnvHandle) withAnyKey(ctx context.Context, aesKey []byte, open func(k []byte) error) error {
	err := open(aesKey)
	if err == nil || envelope.KindOf(err) != envelope.KindWrongPassphrase {
		return err
	}
	for _, pk := range e.Config.PreviousKeys {
		k, ok := e.previousAESKey(ctx, pk)
		if !ok {
			continue
		}
		switch err2 := open(k); {
		case err2 == nil:
			return nil
		case envelope.KindOf(err2) != envelope.KindWrongPassphrase:
			return err2 // the key fits, the content does not
		}
	}
	return err
}

// previousAESKey derives the AES key of an older key kept in the keychain.
func (e *EnvHandle) previousAESKey(ctx context.Context, pk config.PreviousKey) ([]byte, bool) {
	text, err := e.app.Keychain.Get(ctx, oldKeyAccount(e.ID.Name, e.Name, pk.Fingerprint))
	if err != nil {
		return nil, false
	}
	text = strings.TrimSpace(text)
	if sls1.Fingerprint(text) != pk.Fingerprint {
		return nil, false
	}
	k, err := kdf.Key(text, pk.Salt)
	if err != nil {
		return nil, false
	}
	return k, true
}
