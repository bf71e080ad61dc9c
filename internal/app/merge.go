package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/git-vsync/git-vsync/internal/dotenv"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// MergeReport says what `pull --merge` took from the newer version; everything
// else in the vault is the local side.
type MergeReport struct {
	Base   string   `json:"base"`   // the version both sides started from ("" = never synced)
	Theirs []string `json:"theirs"` // files added (+), changed (~) or removed (-) from the newer version
	Keys   []string `json:"keys"`   // "file: KEY" taken from the newer version inside merged dotenv files
}

// mergeOp is one entry of a merged vault: a folder, a file copied from a side, or
// a dotenv file merged key by key.
type mergeOp struct {
	path string
	dir  bool
	from *snapshot
	data []byte
}

// mergeConflict is a file both sides changed differently; for a dotenv file, the
// keys (never values) both sides changed differently.
type mergeConflict struct {
	path string
	keys []string
	why  string
}

func (c mergeConflict) String() string {
	switch {
	case len(c.keys) > 0:
		return c.path + " (" + strings.Join(c.keys, ", ") + ")"
	case c.why != "":
		return c.path + " (" + c.why + ")"
	}
	return c.path
}

// mergeInto is pull --merge with local edits: a three-way merge of the vault
// (local) and version target (theirs), with the version this clone last synced as
// the base. Dotenv files merge key by key, other files as a whole; a side that
// changed alone wins. Any conflict stops it before anything changes.
func (a *App) mergeInto(ctx context.Context, e *EnvHandle, st *state.State, target, latest, etag string, o PullOptions, res *PullResult) (*PullResult, error) {
	env := e.Name
	aesKey, _, _, err := e.Key(ctx)
	if err != nil {
		return nil, err
	}
	local, err := e.localSnapshot(st)
	if err != nil {
		return nil, err
	}
	base := emptySnapshot("")
	if st != nil && st.TS != "" {
		var rel func()
		base, rel, err = e.versionSnapshot(ctx, aesKey, st.TS)
		if err != nil {
			if fail.CodeOf(err) == fail.NotSetUp {
				return nil, fail.New(fail.Refused,
					"without it the two sides cannot be told apart: keep yours with `git vsync push "+env+" --force`, or take theirs with `git vsync pull "+env+" --force` (a backup is kept)",
					"cannot merge: the version this clone last synced (%s) is no longer in the store", st.TS)
			}
			return nil, err
		}
		defer rel()
	}
	theirs, rel, err := e.versionSnapshot(ctx, aesKey, target)
	if err != nil {
		return nil, err
	}
	defer rel()
	ops, rep, conflicts := planMerge(base, local, theirs)
	rep.Base = base.label
	if len(conflicts) > 0 {
		names := make([]string, len(conflicts))
		for i, c := range conflicts {
			names[i] = c.String()
		}
		return nil, fail.New(fail.Refused,
			"`git vsync diff "+env+" --remote` shows what differs; make those the same as theirs and run `git vsync pull "+env+" --merge` again, or keep yours with `git vsync push "+env+" --force`, or take theirs with `git vsync pull "+env+" --force` (a backup is kept)",
			"pull --merge stopped: your edits and version %s both changed %s; nothing was changed", target, strings.Join(names, ", "))
	}
	b, err := a.backupVault(e, aesKey)
	if err != nil {
		return nil, err
	}
	var stateList []vault.File
	err = vault.Replace(e.VaultDir, func(stage string) error {
		if err := writeMerged(stage, ops); err != nil {
			return err
		}
		if err := vault.CopyLocalOnly(e.VaultDir, stage); err != nil {
			return err
		}
		ig, err := vault.LoadIgnore(stage)
		if err != nil {
			return err
		}
		stateList = ig.Filter(theirs.list)
		return nil
	})
	if err != nil {
		return nil, fail.Wrap(fail.CodeOf(err), err, fail.HintOf(err), "replace the vault with the merge (it is unchanged)")
	}
	// The vault now holds theirs plus your edits: recorded as theirs, so your
	// edits show as local changes and a push publishes them.
	seen := latest
	if st != nil && st.Seen > seen {
		seen = st.Seen
	}
	ns := &state.State{Repo: e.ID.Name, Env: env, TS: target, Seen: seen, ETag: etag, Op: "pull", Time: a.Now().UTC(), Files: stateFiles(stateList, nil), KeyFP: keyFingerprint(aesKey)}
	if err := state.Save(e.Repo.StateDir(), ns); err != nil {
		return nil, fail.Wrap(fail.Failure, err, "run `git vsync pull "+env+" --merge` again", "record the merge locally (the vault holds it)")
	}
	if b != nil {
		res.Backup = b.Path
	}
	res.Files = countFiles(theirs.list)
	res.Merge = rep
	ao := o.Audit
	ao.Meta = append(append([]string(nil), ao.Meta...), "merge=true")
	a.appendAudit(ctx, e, "pull", target, ao, nil)
	return res, nil
}

// planMerge decides every entry of the merged vault, or the conflicts.
func planMerge(base, local, theirs *snapshot) ([]mergeOp, *MergeReport, []mergeConflict) {
	rep := &MergeReport{Theirs: []string{}, Keys: []string{}}
	var ops []mergeOp
	var conflicts []mergeConflict
	paths := map[string]bool{}
	for _, s := range []*snapshot{base, local, theirs} {
		for _, f := range s.list {
			paths[f.Path] = true
		}
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		bf, bOK := base.files[p]
		lf, lOK := local.files[p]
		tf, tOK := theirs.files[p]
		if (lOK && tOK && lf.Dir != tf.Dir) || (bOK && lOK && bf.Dir != lf.Dir) || (bOK && tOK && bf.Dir != tf.Dir) {
			conflicts = append(conflicts, mergeConflict{path: p, why: "a file on one side, a folder on the other"})
			continue
		}
		if (lOK && lf.Dir) || (tOK && tf.Dir) || (bOK && bf.Dir) {
			if pick3(bOK, lOK, tOK) {
				ops = append(ops, mergeOp{path: p, dir: true})
			}
			continue
		}
		b, l, t := base.hash(p), local.hash(p), theirs.hash(p)
		switch {
		case l == t:
			if l != "" {
				ops = append(ops, mergeOp{path: p, from: local})
			}
		case l == b:
			rep.Theirs = append(rep.Theirs, changeMark(b, t)+p)
			if t != "" {
				ops = append(ops, mergeOp{path: p, from: theirs})
			}
		case t == b:
			ops = append(ops, mergeOp{path: p, from: local})
		case isDotenv(p) && l != "" && t != "":
			data, keys, clash, err := mergeDotenv(base, local, theirs, p)
			switch {
			case err != nil:
				conflicts = append(conflicts, mergeConflict{path: p, why: "not merged key by key: " + err.Error()})
			case len(clash) > 0:
				conflicts = append(conflicts, mergeConflict{path: p, keys: clash})
			default:
				for _, k := range keys {
					rep.Keys = append(rep.Keys, p+": "+k)
				}
				ops = append(ops, mergeOp{path: p, data: data})
			}
		default:
			conflicts = append(conflicts, mergeConflict{path: p})
		}
	}
	return ops, rep, conflicts
}

// pick3 is the three-way rule for a yes/no fact (a folder's presence): a side
// that changed it alone wins.
func pick3(base, local, theirs bool) bool {
	if local == base {
		return theirs
	}
	return local
}

func changeMark(base, theirs string) string {
	switch {
	case base == "":
		return "+"
	case theirs == "":
		return "-"
	}
	return "~"
}

// mergeDotenv merges the dotenv file p key by key into the local document, so
// your comments, order and quoting stay; keys only theirs changed are set or
// deleted with dotenv.Doc, new keys appended in their order. It returns the
// merged text, the keys taken from theirs and the keys both sides changed
// differently.
func mergeDotenv(base, local, theirs *snapshot, p string) (data []byte, taken, clash []string, err error) {
	bd, err := base.doc(p)
	if err != nil {
		return nil, nil, nil, errors.New(base.label + ": " + err.Error())
	}
	ld, err := local.doc(p)
	if err != nil {
		return nil, nil, nil, errors.New("your version: " + err.Error())
	}
	td, err := theirs.doc(p)
	if err != nil {
		return nil, nil, nil, errors.New(theirs.label + ": " + err.Error())
	}
	bm, lm, tm := bd.Map(), ld.Map(), td.Map()
	seen := map[string]bool{}
	var order []string
	for _, d := range []*dotenv.Doc{ld, td, bd} {
		for _, en := range d.Entries() {
			if !seen[en.Key] {
				seen[en.Key] = true
				order = append(order, en.Key)
			}
		}
	}
	for _, k := range order {
		bv, inB := bm[k]
		lv, inL := lm[k]
		tv, inT := tm[k]
		switch {
		case inL == inT && lv == tv:
		case inL == inB && lv == bv:
			if inT {
				ld.Set(k, tv)
			} else {
				ld.Delete(k)
			}
			taken = append(taken, k)
		case inT == inB && tv == bv:
		default:
			clash = append(clash, k)
		}
	}
	sort.Strings(clash)
	return ld.Bytes(), taken, clash, nil
}

// writeMerged writes the merged entries into the empty stage folder, durably.
func writeMerged(stage string, ops []mergeOp) error {
	for _, op := range ops {
		full := filepath.Join(stage, filepath.FromSlash(op.path))
		if op.dir {
			if err := os.MkdirAll(full, 0o700); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if op.data != nil || op.from == nil {
			_, err = io.Copy(f, bytes.NewReader(op.data))
		} else {
			err = op.from.copy(op.path, f)
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
