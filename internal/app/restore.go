package app

import (
	"context"
	"time"

	"github.com/git-vsync/git-vsync/internal/backup"
	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// BackupInfo is one local backup of a vault, as `restore` lists it.
type BackupInfo struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	Size  int64     `json:"size"`
	Files int       `json:"files"` // -1 when it could not be opened
	// Readable is false when no key of this machine opens it (or it is damaged).
	Readable bool `json:"readable"`
}

// Backups lists the local backups of env, newest first. File counts come from
// decrypting each backup (at most backup.Keep of them, one key derivation).
func (a *App) Backups(ctx context.Context, target *Target, env string) ([]BackupInfo, []string, error) {
	e, err := a.OpenEnv(target, env)
	if err != nil {
		return nil, nil, err
	}
	bs, err := backup.List(e.backupRoot(), e.ID.Name, env)
	if err != nil {
		return nil, nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "list the backups")
	}
	out := []BackupInfo{}
	var warnings []string
	if len(bs) == 0 {
		return out, nil, nil
	}
	aesKey, _, _, kerr := e.Key(ctx)
	if kerr != nil {
		warnings = append(warnings, "file counts unknown: "+kerr.Error())
	}
	for _, b := range bs {
		bi := BackupInfo{ID: b.ID, Time: b.Time, Size: b.Size, Files: -1}
		if kerr == nil {
			if r, err := e.openBackup(ctx, aesKey, b.Path, b.ID); err == nil {
				if entries, err := bundle.ListAt(r, r.Size(), bundle.DefaultLimits); err == nil {
					bi.Readable = true
					bi.Files = 0
					for _, en := range entries {
						if !en.Dir {
							bi.Files++
						}
					}
				}
				r.Close()
			}
		}
		out = append(out, bi)
	}
	return out, warnings, nil
}

// RestoreResult says what restore did.
type RestoreResult struct {
	ID     string
	Files  int
	Backup string // the backup of the vault it replaced, if any
}

// Restore brings backup id back into the vault of env, atomically, after backing up
// the current vault. The sync state is left alone, so the restored files count as
// local changes (push them to publish them).
func (a *App) Restore(ctx context.Context, target *Target, env, id string, o AuditOptions) (*RestoreResult, error) {
	e, release, err := a.OpenLocked(ctx, target, env)
	if err != nil {
		return nil, err
	}
	defer release()
	// It writes secrets into the vault like pull: only into one git ignores.
	if err := e.checkVaultSafe(); err != nil {
		return nil, err
	}
	bs, err := backup.List(e.backupRoot(), e.ID.Name, env)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "list the backups")
	}
	var found *backup.Backup
	for i := range bs {
		if bs[i].ID == id {
			found = &bs[i]
		}
	}
	if found == nil {
		return nil, fail.New(fail.Usage, "`git vsync restore "+env+"` lists the backups of this machine", "no backup %q of %s/%s", id, e.ID.Name, env)
	}
	aesKey, _, _, err := e.Key(ctx)
	if err != nil {
		return nil, err
	}
	// The current vault is sealed meanwhile, and its backup published only once
	// the restored one is unpacked in full, read in place, and closed by done
	// (publishing prunes, which may remove the backup being restored).
	bk := a.startBackup(e, aesKey)
	defer bk.abandon()
	r, err := e.openBackup(ctx, aesKey, found.Path, found.ID)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	res := &RestoreResult{ID: id}
	// The files the current vault already holds are linked, not written; the
	// last sync says which (a state that cannot be read only costs that).
	st, _ := e.State()
	files, b, err := a.installZip(e, aesKey, r, r.Size(), nil, func() { r.Close() }, bk, e.reuse(st))
	if err != nil {
		return nil, err
	}
	if b != nil {
		res.Backup = b.ID
	}
	res.Files = countFiles(files)
	a.appendAudit(ctx, e, "restore", "", o, map[string]any{"backup": id})
	return res, nil
}

// openBackup opens the backup id (its file at path) with the current key or a
// kept older one; its zip is decrypted from the file on demand. Close it when done.
func (e *EnvHandle) openBackup(ctx context.Context, aesKey []byte, path, id string) (*backup.Reader, error) {
	var r *backup.Reader
	err := e.withAnyKey(ctx, aesKey, func(k []byte) error {
		z, err := backup.OpenReader(backup.Backup{ID: id, Path: path}, k)
		r = z
		return err
	})
	if err == nil {
		return r, nil
	}
	switch envelope.KindOf(err) {
	case envelope.KindWrongPassphrase:
		return nil, fail.Envelope(err, "it was sealed with a key this machine no longer has (purged by `git vsync rotate --purge-old`), or the file was changed",
			"backup %s does not open with this machine's keys", id)
	case "":
		return nil, fail.Wrap(fail.Failure, pathCause(err), fail.HintLocal, "read backup %s", id)
	}
	return nil, fail.Envelope(err, "choose another backup", "backup %s is damaged", id)
}

// backupRoot is the folder of every backup on this machine (backup.Root).
func (e *EnvHandle) backupRoot() string { return backup.Root(e.ConfigRoot, e.app.Getenv) }
