package app

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/repo"
)

// migration is a dotenv file init moves into the new vault (--migrate-from).
type migration struct {
	src, dst string
}

// planMigration checks, before init writes anything, that from names a regular file
// (or a folder holding .env.<env>) and that the vault has no .env.<env> yet. A
// path inside the work tree top must reach it through real folders only: a
// branch can commit a folder as a link, and the file moved would then be one
// from outside the repository (removed there).
func (a *App) planMigration(from, top, vaultDir, env string) (*migration, error) {
	src := a.abs(from)
	if rel, err := filepath.Rel(top, filepath.Dir(src)); err == nil && rel != "." && filepath.IsLocal(rel) {
		// An error reading a folder is left to the read of the file below.
		if done, what, _ := notFolder(top, filepath.ToSlash(rel)); what != "" {
			return nil, fail.New(fail.Refused, "give the path of the file itself, through real folders", "--migrate-from: %s is not a real folder (%s), so the file could come from outside the repository", done, what)
		}
	}
	fi, err := os.Lstat(src)
	if err == nil && fi.IsDir() {
		src = filepath.Join(src, ".env."+env)
		fi, err = os.Lstat(src)
	}
	hint := "pass the dotenv file to move, e.g. --migrate-from .env." + env
	switch {
	case err != nil:
		return nil, fail.Wrap(fail.Usage, pathCause(err), hint, "--migrate-from: cannot read %s", src)
	case !fi.Mode().IsRegular():
		return nil, fail.New(fail.Usage, hint, "--migrate-from: %s is not a regular file (links and special files are not moved)", src)
	}
	dst := filepath.Join(vaultDir, ".env."+env)
	if same, _ := filepath.Abs(src); same == dst {
		return nil, fail.New(fail.Usage, "the file is in the vault already: leave out --migrate-from", "--migrate-from: %s is the vault's own file", src)
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil, fail.New(fail.Refused, "move or merge it by hand, then run init without --migrate-from", "--migrate-from: the vault already has %s; nothing was written", dst)
	}
	return &migration{src: src, dst: dst}, nil
}

// run moves the file into the vault (0600). A rename where it can, else a copy
// written atomically, then the source removed. It returns a warning when git tracks
// the source: its content stays in the history.
func (m *migration) run(ctx context.Context, r *repo.Repo) (warning string, err error) {
	tracked, _ := r.Tracks(ctx, m.src) // git not answering: no warning, as before
	if err := os.MkdirAll(filepath.Dir(m.dst), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(m.src, m.dst); err != nil {
		if err := copyFile(m.src, m.dst); err != nil {
			return "", err
		}
		if err := os.Remove(m.src); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(m.dst, 0o600); err != nil {
		return "", err
	}
	if tracked {
		warning = "git tracks " + m.src + ": its secrets stay in the history. Run `git rm --cached " + m.src + "`, commit, and consider rotating those secrets"
	}
	return warning, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.WriteFunc(dst, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
