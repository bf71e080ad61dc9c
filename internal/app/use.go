package app

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/repo"
)

// UseResult says where the link points.
type UseResult struct {
	Link   string
	Target string // relative, as stored in the link
	// Exists: Link is there (a link, or a regular file when Regular).
	Exists  bool
	Regular bool
	Env     string // the env of a target named .env.<env>, else ""
	Ignored bool   // git ignores Link
}

// useLink is the link `use` works on: --link (relative to the working folder)
// or .env at the worktree top.
func (a *App) useLink(top, link string) string {
	if link == "" {
		return filepath.Join(top, ".env")
	}
	if !filepath.IsAbs(link) {
		return filepath.Join(a.Dir, link)
	}
	return link
}

// UseShow says where ./.env (or link) points, without changing anything.
func (a *App) UseShow(target *Target, link string) (*UseResult, error) {
	w, err := target.Get()
	if err != nil {
		return nil, err
	}
	res := &UseResult{Link: a.useLink(w.Repo.Top, link)}
	fi, err := os.Lstat(res.Link)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return res, nil
	case err != nil:
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "inspect %s", res.Link)
	}
	res.Exists = true
	res.Ignored = linkIgnored(w.Repo, res.Link)
	if fi.Mode()&fs.ModeSymlink == 0 {
		res.Regular = true
		return res, nil
	}
	res.Target, _ = os.Readlink(res.Link)
	if env, ok := strings.CutPrefix(filepath.Base(res.Target), ".env."); ok && repo.ValidEnv(env) {
		res.Env = env
	}
	return res, nil
}

// linkIgnored reports whether git ignores the link (one outside the work tree
// counts as ignored: git never sees it).
func linkIgnored(r *repo.Repo, link string) bool {
	rel, inside := relInside(r.Top, link)
	return !inside || gitIgnores(r.Repo, filepath.ToSlash(rel))
}

// Use points link (default ./.env at the worktree top) at <vault>/.env.<env> with a
// relative symlink. It replaces an older symlink but never a regular file.
func (a *App) Use(t *Target, env, link string) (*UseResult, error) {
	e, err := a.OpenEnv(t, env)
	if err != nil {
		return nil, err
	}
	link = a.useLink(e.Repo.Top, link)
	target := filepath.Join(e.VaultDir, ".env."+env)
	if _, err := os.Stat(target); err != nil {
		a.warnf("%s does not exist yet; the link will dangle until you pull or create it", target)
	}
	rel, err := filepath.Rel(filepath.Dir(link), target)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "pass --link with a path on the same drive", "compute the link target")
	}
	fi, err := os.Lstat(link)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "inspect %s", link)
	case fi.Mode()&fs.ModeSymlink == 0:
		return nil, fail.New(fail.Refused, "move it away (it may hold secrets of its own), or choose another path with --link",
			"%s exists and is not a symbolic link; refusing to replace it", link)
	default:
		if old, _ := os.Readlink(link); old == rel {
			return &UseResult{Link: link, Target: rel, Exists: true, Env: env, Ignored: linkIgnored(e.Repo, link)}, nil
		}
	}
	tmp := link + ".vsync-tmp"
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		hint := ""
		if runtime.GOOS == "windows" {
			hint = "enable Developer Mode (or run as administrator) so git-vsync may create symbolic links"
		}
		return nil, fail.Wrap(fail.Failure, err, hint, "create the link %s", link)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "create the link %s", link)
	}
	return &UseResult{Link: link, Target: rel, Exists: true, Env: env, Ignored: linkIgnored(e.Repo, link)}, nil
}
