package app

import (
	"context"
	"sort"
	"strings"

	"github.com/git-vsync/git-vsync/internal/dotenv"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// DiffOptions are the arguments and flags of `diff`.
type DiffOptions struct {
	Remote     bool   // compare the vault with latest instead of the last synced version
	From, To   string // two versions to compare instead of the vault
	ShowValues bool   // include the values of changed keys
}

// DiffResult is what `diff` shows; its JSON form is the `--json` output. Values
// appear only with ShowValues.
type DiffResult struct {
	Env   string       `json:"env"`
	From  string       `json:"from"` // a version timestamp
	To    string       `json:"to"`   // a version timestamp, or "local"
	Files []FileChange `json:"files"`
}

// FileChange is one file or folder that differs.
type FileChange struct {
	Path   string      `json:"path"`   // relative to the vault; folders end in "/"
	Change string      `json:"change"` // added, removed or changed
	Keys   []KeyChange `json:"keys,omitempty"`
	Note   string      `json:"note,omitempty"` // why a dotenv file was compared as a whole
}

// KeyChange is one key of a dotenv file that differs.
type KeyChange struct {
	Key    string  `json:"key"`
	Change string  `json:"change"` // added, removed or changed
	Old    *string `json:"old,omitempty"`
	New    *string `json:"new,omitempty"`
}

// Changes of files and keys.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// LocalLabel names the vault in a DiffResult.
const LocalLabel = "local"

// Diff compares the vault with the version it last synced (or with latest), or
// two versions, file by file and, for dotenv files, key by key. It reads the
// store and the vault and changes nothing.
func (a *App) Diff(ctx context.Context, target *Target, env string, o DiffOptions) (*DiffResult, error) {
	for _, ts := range []string{o.From, o.To} {
		if ts != "" && !rqem.ValidTS(ts) {
			return nil, fail.New(fail.Usage, "timestamps look like 20260131-235959; `git vsync versions "+env+"` lists them", "invalid version %q", ts)
		}
	}
	if (o.From == "") != (o.To == "") {
		return nil, fail.New(fail.Usage, "name two versions, or none to compare the vault", "diff takes two versions or none")
	}
	if o.Remote && o.From != "" {
		return nil, fail.New(fail.Usage, "leave out --remote to compare two versions", "--remote compares the vault with latest; it takes no versions")
	}
	e, err := a.OpenEnv(target, env)
	if err != nil {
		return nil, err
	}
	aesKey, _, _, err := e.Key(ctx)
	if err != nil {
		return nil, err
	}
	var from, to *snapshot
	switch {
	case o.From != "":
		var rel1, rel2 func()
		if from, rel1, err = e.versionSnapshot(ctx, aesKey, o.From); err != nil {
			return nil, err
		}
		defer rel1()
		if to, rel2, err = e.versionSnapshot(ctx, aesKey, o.To); err != nil {
			return nil, err
		}
		defer rel2()
	default:
		st, err := e.State()
		if err != nil {
			return nil, err
		}
		base := ""
		if o.Remote {
			if base, _, err = e.Latest(ctx); err != nil {
				return nil, err
			}
			if base == "" {
				return nil, fail.New(fail.NotSetUp, "push a first version with `git vsync push "+env+"`", "the store has no version of %s yet", env)
			}
		} else {
			if st == nil || st.TS == "" {
				return nil, fail.New(fail.NotSetUp, "compare with the store's latest version: `git vsync diff "+env+" --remote`",
					"this clone never synced %s: there is no last synced version to compare with", env)
			}
			base = st.TS
		}
		var rel func()
		if from, rel, err = e.versionSnapshot(ctx, aesKey, base); err != nil {
			return nil, err
		}
		defer rel()
		if to, err = e.localSnapshot(st); err != nil {
			return nil, err
		}
		to.label = LocalLabel
	}
	res := &DiffResult{Env: env, From: from.label, To: to.label, Files: []FileChange{}}
	added, changed, removed := vault.Diff(from.list, to.list)
	for _, group := range []struct {
		change string
		paths  []string
	}{{Added, added}, {Changed, changed}, {Removed, removed}} {
		for _, p := range group.paths {
			fc := FileChange{Path: p, Change: group.change}
			if isDotenv(p) && !strings.HasSuffix(p, "/") {
				fc.Keys, fc.Note = keyChanges(from, to, p, o.ShowValues)
			}
			res.Files = append(res.Files, fc)
		}
	}
	sort.SliceStable(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	return res, nil
}

// keyChanges compares the dotenv file p of two snapshots key by key. A side that
// does not parse makes it a whole-file change, with the parser's reason (which
// names a line, never a value).
func keyChanges(from, to *snapshot, p string, values bool) ([]KeyChange, string) {
	a, err := from.doc(p)
	if err != nil {
		return nil, "compared as a whole: " + from.label + ": " + err.Error()
	}
	b, err := to.doc(p)
	if err != nil {
		return nil, "compared as a whole: " + to.label + ": " + err.Error()
	}
	am, bm := a.Map(), b.Map()
	var out []KeyChange
	for _, k := range unionKeys(am, bm) {
		av, inA := am[k]
		bv, inB := bm[k]
		kc := KeyChange{Key: k}
		switch {
		case inA && !inB:
			kc.Change = Removed
		case !inA && inB:
			kc.Change = Added
		case av != bv:
			kc.Change = Changed
		default:
			continue
		}
		if values {
			if inA {
				kc.Old = &av
			}
			if inB {
				kc.New = &bv
			}
		}
		out = append(out, kc)
	}
	if len(out) == 0 && from.has(p) && to.has(p) {
		return nil, "same keys and values; only comments or layout changed"
	}
	return out, ""
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys(a, b map[string]string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var keys []string
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// DiffLine formats one key change for people: the key, and with values the
// assignment(s) as dotenv would read them back.
func (k KeyChange) DiffLine() string {
	switch {
	case k.Old == nil && k.New == nil:
		return k.Key
	case k.Old == nil:
		return dotenv.Line(k.Key, *k.New)
	case k.New == nil:
		return dotenv.Line(k.Key, *k.Old)
	}
	return dotenv.Line(k.Key, *k.Old) + " → " + dotenv.Quote(*k.New)
}
