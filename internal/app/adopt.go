package app

import (
	"context"

	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/ledger"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// syncState is this clone's sync state of the env or, when it has none, the one
// adopted from the TypeScript tool's ledger (adoptLedger). Call it with the vault
// locked.
func (e *EnvHandle) syncState(ctx context.Context) (*state.State, error) {
	st, err := e.State()
	if err != nil || st != nil {
		return st, err
	}
	return e.adoptLedger(ctx), nil
}

// adoptLedger turns the TypeScript tool's record of its last sync of this env
// (SPEC §14.1) into our sync state, so a clone that tool synced is not refused as
// "never synced". The ledger is only a pointer: the state is adopted when the vault
// holds exactly the files of the version it names, which costs one download, once
// (the adopted state is saved). Anything short of that — no ledger, a broken one,
// a vault edited since, a version that is gone or does not open — adopts nothing,
// and the caller goes on as for a clone that never synced.
func (e *EnvHandle) adoptLedger(ctx context.Context) *state.State {
	a := e.app
	path := ledger.Path(e.ConfigRoot, e.ID.Name, e.Name)
	l, err := ledger.Load(path)
	if err != nil {
		a.warnf("ignoring the TypeScript tool's ledger of %s: %v", e.Name, oneLine(err))
		return nil
	}
	if l == nil {
		return nil
	}
	statTime := a.Now().UTC()
	stats, err := vault.Stats(e.VaultDir)
	if err != nil {
		return nil
	}
	cur, err := vault.Scan(e.VaultDir)
	if err != nil {
		return nil
	}
	// The ledger's sizes first: a vault edited since that sync costs no download.
	if !ledgerSizesMatch(l, cur) {
		return nil
	}
	aesKey, _, _, err := e.Key(ctx)
	if err != nil {
		return nil
	}
	f, err := e.download(ctx, l.TS)
	if err != nil {
		a.warnf("the TypeScript tool last synced version %s of %s, which could not be read from the store (%v); not adopting it", l.TS, e.Name, oneLine(err))
		return nil
	}
	defer f.remove()
	zip, err := e.openAnyKey(ctx, aesKey, f, l.TS)
	if err != nil {
		a.warnf("the TypeScript tool last synced version %s of %s, which does not open here (%v); not adopting it", l.TS, e.Name, oneLine(err))
		return nil
	}
	want, err := bundle.HashAt(zip, zip.Size(), bundle.DefaultLimits)
	if err != nil {
		a.warnf("version %s of %s is unreadable (%v); not adopting the TypeScript tool's sync", l.TS, e.Name, oneLine(err))
		return nil
	}
	added, changed, removed := vault.Diff(filesOnly(want), filesOnly(cur))
	if len(added)+len(changed)+len(removed) > 0 {
		a.infof("the vault differs from version %s of %s, which the TypeScript tool last synced; not adopting that sync", l.TS, e.Name)
		return nil
	}
	st := &state.State{Repo: e.ID.Name, Env: e.Name, TS: l.TS, Seen: l.TS, Op: l.Op, Time: statTime,
		Files: stateFiles(cur, stats), StatTime: statTime, KeyFP: keyFingerprint(aesKey)}
	if err := state.Save(e.Repo.StateDir(), st); err != nil {
		a.warnf("could not record the adopted sync state (%v)", err)
	}
	a.infof("adopted the TypeScript tool's last %s of %s: the vault holds exactly version %s", l.Op, e.Name, l.TS)
	return st
}

// ledgerSizesMatch reports whether the vault holds exactly the files the ledger
// lists, with the same sizes (times are not compared: content decides).
func ledgerSizesMatch(l *ledger.Ledger, cur []vault.File) bool {
	n := 0
	for _, f := range cur {
		if f.Dir {
			continue
		}
		n++
		if lf, ok := l.Files[f.Path]; !ok || lf.Size != f.Size {
			return false
		}
	}
	return n == len(l.Files)
}

func filesOnly(files []vault.File) []vault.File {
	out := make([]vault.File, 0, len(files))
	for _, f := range files {
		if !f.Dir {
			out = append(out, f)
		}
	}
	return out
}
