// Package git is the one way git-vsync reaches git: where the repository is (work
// tree top, git dir, common dir, main work tree), its config values, the origin
// URL, the hooks folder, and what git ignores or tracks. Nothing else in
// git-vsync reads .git or runs the git binary.
//
// It reads files itself where that is exact and cheap: discovery (the .git walk,
// gitdir files, commondir, GIT_DIR, GIT_WORK_TREE, core.worktree) and config files
// without include/includeIf, parsed with go-git's config decoder. A hook that finds
// every env up to date so runs no git process. It runs the git binary where only
// git knows the answer: check-ignore (global excludes, negations; the vault
// check remembers git's "ignored" while nothing git read for it changed, see
// IgnoresRemembered), ls-files, and config that uses includes, `git -c`, or a
// system file whose place this build of git-vsync cannot know (see configFiles).
//
// Every failure is an *Error inside a *fail.Error whose code and hint come from
// one place (wrap).
package git

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// Repo is a git repository with a work tree, as found by Discover.
type Repo struct {
	Top       string // top folder of the current work tree
	MainTop   string // top folder of the main work tree (vaults resolve here)
	GitDir    string // this work tree's git dir
	CommonDir string // the git common dir shared by linked work trees

	getenv func(string) string
	local  []byte // the common dir's config file, as read at discovery
}

// Error is a git query that failed: which one, in which folder, and why.
type Error struct {
	Op     string // what was asked, e.g. "find the repository", "git check-ignore"
	Dir    string
	Err    error
	Stderr string // what the git binary said, trimmed (never holds a secret: we pass none)
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Dir != "" {
		msg += " in " + e.Dir
	}
	if e.Stderr != "" {
		return msg + ": " + e.Stderr
	}
	return msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotARepo: no git repository contains the folder.
var ErrNotARepo = errors.New("not inside a git repository")

// ErrBare: the repository has no work tree for a vault to live in.
var ErrBare = errors.New("the repository is bare (it has no work tree)")

// wrap is the one place a git failure gets its exit code and hint.
func wrap(op, dir string, err error, stderr string) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Dir: dir, Err: err, Stderr: strings.Join(strings.Fields(stderr), " ")}
	switch {
	case errors.Is(err, ErrNotARepo):
		return &fail.Error{Code: fail.NotSetUp, Err: e, What: e.Error(),
			Hint: "run git-vsync inside a clone of your repository (git -C DIR, GIT_DIR and GIT_WORK_TREE are honoured)"}
	case errors.Is(err, ErrBare):
		return &fail.Error{Code: fail.NotSetUp, Err: e, What: e.Error(),
			Hint: "run git-vsync in a work tree of the repository (git worktree add DIR, or git --work-tree=DIR vsync …)"}
	case errors.Is(err, errNoGit):
		return &fail.Error{Code: fail.Failure, Err: e, What: e.Error(), Hint: "install git, or put it on PATH"}
	}
	return &fail.Error{Code: fail.Failure, Err: e, What: e.Error(), Hint: "check the repository with `git status`"}
}

// Bounds of what we read of git's own small files.
const (
	maxSmallFile  = 64 << 10 // .git files, commondir
	maxConfigFile = 4 << 20  // a config file larger than this goes to the git binary
)

// Discover finds the repository around dir the way git does: GIT_DIR (a folder or
// a gitdir file) with GIT_WORK_TREE, core.worktree or dir as the top; otherwise
// the nearest .git (folder or gitdir file) upwards from dir, GIT_WORK_TREE
// overriding the top. GIT_COMMON_DIR overrides the commondir file. Relative
// variables are relative to dir, as for git. getenv may be nil (no variables).
func Discover(dir string, getenv func(string) string) (*Repo, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, wrap("find the repository", dir, err, "")
	}
	abs = realPath(abs)
	r := &Repo{getenv: getenv}
	explicit := getenv("GIT_DIR") != ""
	if explicit {
		gd, err := gitDirAt(join(abs, getenv("GIT_DIR")))
		if err != nil {
			return nil, wrap("find the repository", abs, fmt.Errorf("GIT_DIR=%s: %w", getenv("GIT_DIR"), err), "")
		}
		r.GitDir, r.Top = gd, abs
	} else {
		r.Top, r.GitDir, err = walkUp(abs)
		if err != nil {
			return nil, wrap("find the repository", abs, err, "")
		}
	}
	if c := getenv("GIT_COMMON_DIR"); c != "" {
		r.CommonDir = filepath.Clean(join(abs, c))
	} else if r.CommonDir, err = commonDir(r.GitDir); err != nil {
		return nil, wrap("find the repository", abs, err, "")
	}
	r.local, err = readConfigFile(filepath.Join(r.CommonDir, "config"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, wrap("read the repository config", r.CommonDir, err, "")
	}
	core := parseSection(r.local, "core")
	linked := r.CommonDir != r.GitDir
	switch wt := getenv("GIT_WORK_TREE"); {
	case wt != "":
		r.Top = realPath(join(abs, wt))
	case !linked && core["worktree"] != "":
		// core.worktree is relative to the git dir; linked work trees ignore it.
		r.Top = realPath(join(r.GitDir, core["worktree"]))
	case explicit && strings.EqualFold(core["bare"], "true"):
		return nil, wrap("find the repository", abs, ErrBare, "")
	}
	r.MainTop = r.Top
	if linked {
		// A linked work tree: the main one is where the common dir's .git sits.
		// A separate git dir (git init --separate-git-dir) does not record its
		// work tree, so a linked work tree of it keeps its own vaults.
		switch {
		case core["worktree"] != "":
			r.MainTop = realPath(join(r.CommonDir, core["worktree"]))
		case filepath.Base(r.CommonDir) == ".git":
			r.MainTop = filepath.Dir(r.CommonDir)
		}
	}
	return r, nil
}

// Main is the repository of the main work tree (where vaults live): r itself
// unless r is a linked work tree.
func (r *Repo) Main() *Repo {
	if r.MainTop == r.Top {
		return r
	}
	m := *r
	m.Top, m.GitDir = r.MainTop, r.CommonDir
	return &m
}

// OriginURL is the first URL of remote origin after the repository's own
// url.<base>.insteadOf rules (the longest matching prefix wins), "" when there is
// none. Only the repository's config counts, as when go-git read it: a global
// rewrite must not change an identity that was derived before.
func (r *Repo) OriginURL() string {
	entries, _, err := parseConfig(bytes.NewReader(r.local), "")
	if err != nil {
		return ""
	}
	origin, found := "", false
	rules := map[string]string{} // insteadOf prefix → base
	for _, e := range entries {
		switch {
		case e.Key == "remote.origin.url" && !found:
			origin, found = e.Value, true
		case strings.HasPrefix(e.Key, "url.") && strings.HasSuffix(e.Key, ".insteadof"):
			rules[e.Value] = strings.TrimSuffix(strings.TrimPrefix(e.Key, "url."), ".insteadof")
		}
	}
	best := ""
	for prefix := range rules {
		if strings.HasPrefix(origin, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best != "" {
		origin = rules[best] + strings.TrimPrefix(origin, best)
	}
	return origin
}

// walkUp finds the nearest folder holding .git from dir upwards.
func walkUp(dir string) (top, gitDir string, err error) {
	for d := dir; ; {
		p := filepath.Join(d, ".git")
		if _, err := os.Stat(p); err == nil {
			gd, err := gitDirAt(p)
			if err != nil {
				return "", "", err
			}
			return d, gd, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", ErrNotARepo
		}
		d = parent
	}
}

// gitDirAt is the git dir that p names: p itself when it is a folder, the target
// of its "gitdir: PATH" line when it is a gitdir file.
func gitDirAt(p string) (string, error) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNotARepo
	}
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return realPath(p), nil
	}
	b, err := atomicfile.ReadRegularFollow(p, maxSmallFile)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	g, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	g = strings.TrimSpace(g)
	if !ok || g == "" {
		return "", fmt.Errorf("%s: not a gitdir file", p)
	}
	g = join(filepath.Dir(p), g)
	if fi, err := os.Stat(g); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s points at %s, which is not a git dir", p, g)
	}
	return realPath(g), nil
}

// commonDir reads gitDir/commondir (linked work trees); the git dir itself when
// there is none.
func commonDir(gitDir string) (string, error) {
	b, err := atomicfile.ReadRegularFollow(filepath.Join(gitDir, "commondir"), maxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return gitDir, nil
	}
	if err != nil {
		return "", err
	}
	c := strings.TrimSpace(string(b))
	if c == "" {
		return gitDir, nil
	}
	return realPath(join(gitDir, c)), nil
}

// join is p when absolute, else base/p, cleaned.
func join(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// realPath resolves symlinks where it can, so the same folder always has the same
// name (vault paths and the state dir are compared and printed).
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// parseSection returns the options of [name] (no subsection) of a config file,
// keys in lower case, the last value winning; nil for a file it cannot parse.
func parseSection(b []byte, name string) map[string]string {
	entries, _, err := parseConfig(bytes.NewReader(b), name+".")
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, e := range entries {
		if k := strings.TrimPrefix(e.Key, name+"."); !strings.Contains(k, ".") {
			m[k] = e.Value
		}
	}
	return m
}
