// Package repo is the identity of the repository a command runs in (SPEC §2): the
// normalised name used in the bucket and keychain, from --repo, the .vsync pin or
// origin. Where the repository is (work tree top, main work tree, common dir) and
// every other git question belong to internal/git, which Repo embeds.
package repo

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/git"
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

// Repo is an opened git repository: the folders internal/git found, and the
// identity questions on top of them.
type Repo struct {
	*git.Repo
}

// Identity is the repository name and where it came from.
type Identity struct {
	Name   string
	Source string
}

// Open finds the repository containing dir (any subfolder works), honouring
// GIT_DIR, GIT_WORK_TREE and GIT_COMMON_DIR from getenv as git does.
func Open(dir string, getenv func(string) string) (*Repo, error) {
	g, err := git.Discover(dir, getenv)
	if err != nil {
		return nil, err
	}
	return &Repo{Repo: g}, nil
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
