package app

import (
	"context"
	"sort"
	"time"

	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/store"
)

// Version is one bundle in the store.
type Version struct {
	TS       string    `json:"ts"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	Latest   bool      `json:"latest"` // `latest` names it
	Local    bool      `json:"local"`  // this clone's vault holds it
}

// Versions lists every version of env in the store, newest first.
func (a *App) Versions(ctx context.Context, target *Target, env string) ([]Version, error) {
	e, err := a.OpenEnv(target, env)
	if err != nil {
		return nil, err
	}
	st, err := e.State()
	if err != nil {
		return nil, err
	}
	// A corrupt pointer does not stop the listing: its hint sends the user here
	// to choose a version to bring back (pull --at) or to push over it.
	latest, _, corrupt, err := e.readLatest(ctx)
	if err != nil {
		return nil, err
	}
	if corrupt != nil {
		a.warnf("%v (no version is marked latest)", corrupt)
	}
	infos, err := e.Store.List(ctx, e.Layout().Versions())
	if err != nil {
		return nil, store.AsFail(err, "list the versions of "+env)
	}
	out := []Version{}
	for _, in := range infos {
		ts, ok := e.Layout().VersionOf(in.Key)
		if !ok || !rqem.ValidTS(ts) {
			continue
		}
		out = append(out, Version{TS: ts, Size: in.Size, Modified: in.Modified, Latest: ts == latest, Local: st != nil && st.TS == ts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TS > out[j].TS })
	return out, nil
}
