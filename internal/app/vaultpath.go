package app

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/git"
	"github.com/git-vsync/git-vsync/internal/repo"
)

// checkVaultParents refuses a vault path that could lead outside the repository or
// into a tracked folder: every component from the worktree top down to the vault
// that exists must be a real directory (a branch can commit `infra` as a symlink,
// and a checkout then points the vault wherever it likes). Missing components are
// fine: they are created as real directories. It only stats, so hooks can afford it.
func (e *EnvHandle) checkVaultParents() error {
	done, what, err := notFolder(e.Repo.MainTop, strings.Trim(e.VaultRel, "/"))
	if err != nil {
		return fail.Wrap(fail.Failure, err, fail.HintLocal, "inspect the vault path %s", done)
	}
	if what != "" {
		return fail.New(fail.Refused,
			"replace "+done+" with a real folder (check what your branch committed there: `git log -- "+done+"`), then run the command again",
			"refusing to use the vault %s of %s: %s is %s, so the secrets could end up outside the repository", e.vaultName(), e.Name, done, what)
	}
	return nil
}

// notFolder walks the slash-separated path rel below top from the top and
// returns the first existing component that is not a real folder (done, as a
// path below top, and what it is); what is "" when every existing component is
// a folder (a missing one ends the walk: it would be created as a folder).
func notFolder(top, rel string) (done, what string, err error) {
	cur := top
	for _, seg := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, seg)
		done = strings.TrimPrefix(done+"/"+seg, "/")
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", nil
		}
		if err != nil {
			return done, "", err
		}
		if fi.Mode().Type() != fs.ModeDir {
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				return done, "a symbolic link", nil
			case fi.Mode()&fs.ModeIrregular != 0:
				return done, "a junction or other special entry", nil
			}
			return done, "not a folder", nil
		}
	}
	return "", "", nil
}

// checkVaultSafe is checkVaultParents plus git: the vault must be ignored (not
// tracked, not committable), checked with `git check-ignore` before a command
// reads secrets to publish them or writes them in.
func (e *EnvHandle) checkVaultSafe() error {
	if err := e.checkVaultParents(); err != nil {
		return err
	}
	if !vaultIgnoredRemembered(e.Repo, e.VaultRel) {
		line := "/" + strings.Trim(e.VaultRel, "/") + "/"
		return fail.New(fail.Refused,
			"add the line "+line+" to .gitignore (and `git rm -r --cached "+strings.Trim(e.VaultRel, "/")+"` if files in it are tracked), then run the command again",
			"refusing to use the vault %s of %s: git does not ignore it, so its secrets could be committed", e.vaultName(), e.Name)
	}
	return nil
}

// vaultIgnored reports whether git ignores the vault folder rel of the main work
// tree of r. A folder with tracked files in it does not count as ignored.
func vaultIgnored(r *repo.Repo, rel string) bool {
	return gitIgnores(r.Main(), strings.Trim(rel, "/")+"/")
}

// vaultIgnoredRemembered is vaultIgnored for push and pull, with git's "ignored"
// remembered in the state folder while nothing it read changed
// (git.IgnoresRemembered): a small push or pull then starts no git process. init
// and doctor, which are not hot, always ask git.
func vaultIgnoredRemembered(r *repo.Repo, rel string) bool {
	ok, _ := r.Main().IgnoresRemembered(context.Background(), strings.Trim(rel, "/")+"/", filepath.Join(r.StateDir(), ignoreMemo))
	return ok
}

// ignoreMemo is the file of the state folder that holds git's remembered answers.
const ignoreMemo = "ignored.memo"

// gitIgnores reports whether git ignores path (slash-separated, relative to the
// work tree top of r): a tracked path, or a failure to ask git, counts as not
// ignored.
func gitIgnores(r *git.Repo, path string) bool {
	ok, _ := r.Ignores(context.Background(), path)
	return ok
}

// checkLeftoversUntracked refuses to repair an interrupted swap whose folders
// (left, as vault.Recover found them) git tracks: this tool never commits them, so
// a branch did, and Recover would make such a folder the vault (the "old vault" of
// a swap) or delete its files. Recover asks only when such folders exist, which is
// rare, so git runs only then.
func (e *EnvHandle) checkLeftoversUntracked(ctx context.Context, left []string) error {
	for _, d := range left {
		rel, err := filepath.Rel(e.Repo.MainTop, d)
		if err != nil {
			return fail.Wrap(fail.Failure, err, fail.HintLocal, "inspect the folders beside %s", e.VaultDir)
		}
		rel = filepath.ToSlash(rel)
		tracked, err := e.Repo.Main().Tracks(ctx, rel)
		if err != nil {
			return fail.Wrap(fail.Failure, err, fail.HintLocal, "ask git whether it tracks %s", rel)
		}
		if tracked {
			return fail.New(fail.Refused,
				"check out a branch that does not track it, or remove it from this one (`git rm -r "+rel+"`; see who added it with `git log -- "+rel+"`), then run the command again",
				"refusing to touch %s beside the vault of %s: git tracks it, so it is not what an interrupted git-vsync left there (a branch committed it)", rel, e.Name)
		}
	}
	return nil
}
