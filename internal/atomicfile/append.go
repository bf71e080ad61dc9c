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
	// Checked before the open too: opening a device can act on it.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, 0, &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|oNoFollow|oNonblock, perm)
	if err != nil {
		return nil, 0, err
	}
	// What was opened must be a regular file and what path names now (not a link
	// put there after the Lstat, where there is no O_NOFOLLOW).
	fi, err := f.Stat()
	if err == nil {
		var now os.FileInfo
		if now, err = os.Lstat(path); err == nil && (!fi.Mode().IsRegular() || !now.Mode().IsRegular() || !os.SameFile(now, fi)) {
			err = &fs.PathError{Op: "open", Path: path, Err: errors.New("changed while opening")}
		}
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}
