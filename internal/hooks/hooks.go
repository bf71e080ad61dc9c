// Package hooks installs, upgrades and removes git-vsync's git hooks (SPEC §8) in
// the folder git really uses (internal/git finds it: core.hooksPath, linked
// worktrees), and parses what git passes to them.
//
// A hook file is ours when it holds a block between BeginMarker and EndMarker.
// A foreign hook keeps its bytes: the block goes in right after its #! line, and
// uninstall takes exactly those bytes out again. A hook that is not a shell
// script, a symlink, or a file a hook manager generates is never modified: the
// Result says Manual and why, and the caller prints the line to add.
package hooks

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// Result is what happened to one hook.
type Result struct {
	Name    string
	Path    string
	Action  Action
	Reason  string // why Manual
	Manager string // "husky", "lefthook" or "pre-commit" when one owns the file
}

// Report is the outcome of Install or Uninstall.
type Report struct {
	Dir   string // the hooks folder git uses
	Hooks []Result
}

// NeedsManual reports whether some hook was left for the user to edit.
func (r Report) NeedsManual() bool {
	for _, h := range r.Hooks {
		if h.Action == Manual {
			return true
		}
	}
	return false
}

// Summary is a one-line description such as
// "post-checkout created, pre-push added to the existing hook".
func (r Report) Summary() string {
	var parts []string
	for _, h := range r.Hooks {
		parts = append(parts, h.Name+" "+describe(h.Action))
	}
	return strings.Join(parts, ", ")
}

func describe(a Action) string {
	switch a {
	case Added:
		return "added to the existing hook"
	case Unchanged:
		return "already installed"
	case Manual:
		return "NOT installed (needs a manual edit)"
	case Removed:
		return "removed"
	case Stripped:
		return "block removed (the rest of the hook stays)"
	case Absent:
		return "not installed"
	}
	return string(a)
}

// maxHookBytes bounds what we read of a hook file; a hook bigger than this is not
// a script we edit.
const maxHookBytes = 1 << 20

// Install puts the git-vsync hooks into dir, the hooks folder git uses (see
// git.Repo.HooksDir). It is idempotent (a second run changes no byte) and
// upgrades older blocks. Hooks it may not touch come back as Manual; the error is
// for real failures only.
func Install(dir string) (Report, error) {
	rep := Report{Dir: dir}
	if m := managedDir(dir); m != "" {
		for _, n := range Names {
			rep.Hooks = append(rep.Hooks, Result{Name: n, Path: filepath.Join(dir, n), Action: Manual, Manager: m,
				Reason: "the hooks folder belongs to " + m + ", which rewrites it; add git-vsync to the " + m + " configuration instead"})
		}
		return rep, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, fmt.Errorf("create the hooks folder: %w", err)
	}
	for _, n := range Names {
		r, err := installOne(dir, n)
		if err != nil {
			return rep, err
		}
		rep.Hooks = append(rep.Hooks, r)
	}
	return rep, nil
}

func installOne(dir, name string) (Result, error) {
	p := filepath.Join(dir, name)
	r := Result{Name: name, Path: p}
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.Write(p, []byte(Script(name)), 0o755); err != nil {
			return r, fmt.Errorf("write %s: %w", p, err)
		}
		r.Action = Created
		return r, nil
	}
	if err != nil {
		return r, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		r.Action, r.Reason = Manual, "it is a symbolic link (to a shared script?); git-vsync does not edit the target"
		return r, nil
	case !fi.Mode().IsRegular():
		r.Action, r.Reason = Manual, "it is not a regular file"
		return r, nil
	case fi.Size() > maxHookBytes:
		r.Action, r.Reason = Manual, "it is larger than 1 MiB, not a script git-vsync edits"
		return r, nil
	}
	b, err := readLimited(p)
	if err != nil {
		return r, err
	}
	pl := planInstall(name, b)
	r.Action, r.Reason, r.Manager = pl.action, pl.reason, pl.manager
	mode := fi.Mode().Perm()
	switch pl.action {
	case Manual:
		return r, nil
	case Unchanged:
		if runtime.GOOS != "windows" && mode&0o111 == 0 {
			// Our own hook lost its execute bits: git would skip it.
			if err := os.Chmod(p, mode|0o755); err != nil {
				return r, err
			}
			r.Action = Upgraded
		}
		return r, nil
	case Created:
		mode = 0o755
	case Added:
		if runtime.GOOS != "windows" && mode&0o111 == 0 {
			r.Action, r.Reason = Manual, "it is not executable, so git does not run it; git-vsync will not switch it on"
			return r, nil
		}
	}
	if err := atomicfile.Write(p, pl.content, mode|0o700); err != nil {
		return r, fmt.Errorf("write %s: %w", p, err)
	}
	return r, nil
}

// Uninstall removes exactly the blocks install added; a file that held nothing
// else (besides our #! line) is deleted.
func Uninstall(dir string) (Report, error) {
	rep := Report{Dir: dir}
	for _, n := range Names {
		p := filepath.Join(dir, n)
		r := Result{Name: n, Path: p, Action: Absent}
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxHookBytes {
			rep.Hooks = append(rep.Hooks, r)
			continue
		}
		b, err := readLimited(p)
		if err != nil {
			return rep, err
		}
		out, remove, found := planUninstall(b)
		switch {
		case !found:
		case remove:
			if err := os.Remove(p); err != nil {
				return rep, err
			}
			r.Action = Removed
		default:
			if err := atomicfile.Write(p, out, fi.Mode().Perm()); err != nil {
				return rep, fmt.Errorf("write %s: %w", p, err)
			}
			r.Action = Stripped
		}
		rep.Hooks = append(rep.Hooks, r)
	}
	return rep, nil
}

// StatesIn reports, per hook name of the hooks folder dir, StateInstalled,
// StateOutdated, StateMissing or StateForeignOnly.
func StatesIn(dir string) map[string]string {
	out := make(map[string]string, len(Names))
	for _, n := range Names {
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			out[n] = StateMissing
			continue
		}
		b, err := readLimited(p)
		if err != nil {
			out[n] = StateForeignOnly
			continue
		}
		out[n] = stateOf(n, b)
	}
	return out
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxHookBytes+1))
}

// managedDir names the hook manager that owns a hooks folder, if any: husky
// (core.hooksPath=.husky or .husky/_) regenerates every file in it.
func managedDir(dir string) string {
	base := filepath.Base(dir)
	if base == ".husky" || (base == "_" && filepath.Base(filepath.Dir(dir)) == ".husky") {
		return "husky"
	}
	return ""
}
