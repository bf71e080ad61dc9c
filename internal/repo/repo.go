// Package repo finds the git repository a command runs in and its identity (SPEC §2):
// the worktree top, the main worktree (where the vault lives), the git common dir
// (where per-clone state lives) and the normalised name used in the bucket and keychain.
package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// PinFile is the committed pin's file name at the worktree top.
const PinFile = ".vsync"

// maxPinBytes bounds the pin: one repo= line and a few comments.
const maxPinBytes = 64 << 10

// Sources of an identity, as `status --json` reports them.
const (
	SourceFlag   = "flag"
	SourcePin    = "pin"
	SourceOrigin = "origin"
)

// Repo is an opened git repository.
type Repo struct {
	Top       string // top folder of the current worktree
	MainTop   string // top folder of the main worktree (vaults resolve here)
	GitDir    string // this worktree's git dir
	CommonDir string // the git common dir shared by linked worktrees
	git       *git.Repository
}

// Identity is the repository name and where it came from.
type Identity struct {
	Name   string
	Source string
}

// ErrNotARepo is returned when no git repository contains the folder.
var ErrNotARepo = errors.New("not inside a git repository")

// Open finds the repository containing dir (any subfolder works).
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	top, gitDir, err := findTop(abs)
	if err != nil {
		return nil, fail.Wrap(fail.NotSetUp, ErrNotARepo, "run git-vsync inside a clone of your repository", "%s", abs)
	}
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = filepath.Clean(c)
	}
	mainTop := top
	if common != gitDir && filepath.Base(common) == ".git" {
		mainTop = filepath.Dir(common)
	}
	g, err := git.PlainOpenWithOptions(top, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "check the repository with `git status`", "open git repository at %s", top)
	}
	return &Repo{Top: top, MainTop: mainTop, GitDir: gitDir, CommonDir: common, git: g}, nil
}

// findTop walks up from dir to the first folder holding .git (a folder, or a file
// pointing at a linked worktree's git dir).
func findTop(dir string) (top, gitDir string, err error) {
	for d := dir; ; {
		p := filepath.Join(d, ".git")
		if fi, err := os.Stat(p); err == nil {
			if fi.IsDir() {
				return d, p, nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return "", "", err
			}
			line := strings.TrimSpace(string(b))
			if !strings.HasPrefix(line, "gitdir:") {
				return "", "", fmt.Errorf("%s: not a gitdir file", p)
			}
			g := strings.TrimSpace(strings.TrimPrefix(line, "gitdir:"))
			if !filepath.IsAbs(g) {
				g = filepath.Join(d, g)
			}
			return d, filepath.Clean(g), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", ErrNotARepo
		}
		d = parent
	}
}

// OriginURL returns the first URL of remote origin, or "" when there is none.
func (r *Repo) OriginURL() string {
	rem, err := r.git.Remote("origin")
	if err != nil || len(rem.Config().URLs) == 0 {
		return ""
	}
	return rem.Config().URLs[0]
}

// ReadPin reads .vsync at the current worktree top; ok is false when it is absent.
func (r *Repo) ReadPin() (p Pin, ok bool, err error) {
	// The pin is committed: a branch may make it a symlink to /dev/zero or a FIFO.
	b, err := atomicfile.ReadRegular(filepath.Join(r.Top, PinFile), maxPinBytes)
	if errors.Is(err, os.ErrNotExist) {
		return Pin{}, false, nil
	}
	if err != nil {
		return Pin{}, false, err
	}
	p, err = ParsePin(b)
	if err != nil {
		return Pin{}, true, fail.Wrap(fail.Failure, err, "fix or remove "+PinFile+" at the repository top", "invalid %s", PinFile)
	}
	return p, true, nil
}

// Identity resolves the repository name: --repo, then the .vsync pin, then origin.
func (r *Repo) Identity(flag string) (Identity, error) {
	pin, hasPin, err := r.ReadPin()
	if err != nil {
		return Identity{}, err
	}
	if flag != "" {
		name, err := Normalise(flag)
		if err == nil {
			err = CheckName(name)
		}
		if err != nil {
			return Identity{}, fail.Wrap(fail.Usage, err, "pass --repo a name like acme_web", "invalid --repo %q", flag)
		}
		if hasPin && pin.Repo != name {
			return Identity{}, fail.New(fail.Usage, "drop --repo, or change "+PinFile+" if the pin is wrong",
				"--repo %s contradicts the %s pin (repo=%s)", name, PinFile, pin.Repo)
		}
		return Identity{Name: name, Source: SourceFlag}, nil
	}
	if hasPin {
		return Identity{Name: pin.Repo, Source: SourcePin}, nil
	}
	if u := r.OriginURL(); u != "" {
		name, err := IdentityFromURL(u)
		if err != nil {
			return Identity{}, fail.Wrap(fail.Usage, err, "pass --repo NAME, or commit a "+PinFile+" file with repo=NAME", "cannot derive an identity from origin")
		}
		if name != "" {
			if err := CheckName(name); err != nil {
				return Identity{}, fail.Wrap(fail.Usage, err, "pass --repo NAME, or commit a "+PinFile+" file with repo=NAME", "origin URL gives no usable identity")
			}
			return Identity{Name: name, Source: SourceOrigin}, nil
		}
	}
	return Identity{}, fail.New(fail.NotSetUp,
		"pass --repo NAME, or commit a "+PinFile+" file with the line repo=NAME (git vsync init writes it), or add a remote: git remote add origin URL",
		"cannot tell which repository this is: no --repo, no %s pin, no usable origin remote", PinFile)
}

// VaultDir returns the absolute vault folder for a repo-relative vault folder.
func (r *Repo) VaultDir(rel string) string {
	return filepath.Join(r.MainTop, filepath.FromSlash(rel))
}

// DefaultVaultFolder is the repo-relative vault folder of an env without files.vaultFolder.
func DefaultVaultFolder(env string) string { return "infra/vault/" + env }

// StateDir is where per-clone sync state lives (shared by linked worktrees).
func (r *Repo) StateDir() string { return filepath.Join(r.CommonDir, "vsync") }
