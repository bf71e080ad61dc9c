package app

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// UseResult says where the link points.
type UseResult struct {
	Link   string
	Target string // relative, as stored in the link
}

// Use points link (default ./.env at the worktree top) at <vault>/.env.<env> with a
// relative symlink. It replaces an older symlink but never a regular file.
func (a *App) Use(repoFlag, env, link string) (*UseResult, error) {
	e, err := a.OpenEnv(repoFlag, env)
	if err != nil {
		return nil, err
	}
	if link == "" {
		link = filepath.Join(e.Repo.Top, ".env")
	} else if !filepath.IsAbs(link) {
		link = filepath.Join(a.Dir, link)
	}
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
		return nil, fail.Wrap(fail.Failure, err, "", "inspect %s", link)
	case fi.Mode()&fs.ModeSymlink == 0:
		return nil, fail.New(fail.Refused, "move it away (it may hold secrets of its own), or choose another path with --link",
			"%s exists and is not a symbolic link; refusing to replace it", link)
	default:
		if old, _ := os.Readlink(link); old == rel {
			return &UseResult{Link: link, Target: rel}, nil
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
		return nil, fail.Wrap(fail.Failure, err, "", "create the link %s", link)
	}
	return &UseResult{Link: link, Target: rel}, nil
}
