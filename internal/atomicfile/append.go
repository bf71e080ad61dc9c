package atomicfile

import (
	"errors"
	"io/fs"
	"os"
)

// ErrNotRegular is the error (wrapped in a *fs.PathError) of OpenAppend for a
// path that holds a link, folder, FIFO or device.
var ErrNotRegular = errors.New("not a regular file")

// OpenAppend opens the regular file at path for appending (and reading), creating
// it with perm when nothing is there, and returns its size. A symbolic link
// (dangling or not), folder, FIFO or device at path is refused and nothing is
// written through it: the file may have come from a branch (.gitignore), whose
// link could name a file outside the repository. The open never blocks (FIFO) and
// a path swapped while it is opened is refused too.
func OpenAppend(path string, perm os.FileMode) (*os.File, int64, error) {
	before, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		before = nil
	case err != nil:
		return nil, 0, err
	case !before.Mode().IsRegular():
		return nil, 0, &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|oNoFollow|oNonblock, perm)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err == nil && (!fi.Mode().IsRegular() || (before != nil && !os.SameFile(before, fi))) {
		err = &fs.PathError{Op: "open", Path: path, Err: errors.New("changed while opening")}
	}
	if err == nil && before == nil {
		// Created here or by someone else meanwhile: it must be what path names now,
		// not a link put there after the Lstat (where there is no O_NOFOLLOW).
		var now os.FileInfo
		if now, err = os.Lstat(path); err == nil && (!now.Mode().IsRegular() || !os.SameFile(now, fi)) {
			err = &fs.PathError{Op: "open", Path: path, Err: errors.New("changed while opening")}
		}
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}
