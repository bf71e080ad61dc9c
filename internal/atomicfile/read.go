package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrTooLarge is returned (wrapped) by ReadRegular for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// ReadRegular reads the regular file at path, at most max bytes. Folders, links,
// FIFOs and devices are refused before any data is read (a FIFO would block), and
// a path swapped between the check and the open is refused too.
func ReadRegular(path string, max int64) ([]byte, error) {
	return readRegular(path, max, os.Lstat)
}

// ReadRegularFollow is ReadRegular for files the user points at (a key file, a
// share, a passphrase file, the config): a symlink is followed, but what it names
// must be a regular file (`-> /dev/zero` or a FIFO is refused without blocking).
func ReadRegularFollow(path string, max int64) ([]byte, error) {
	return readRegular(path, max, os.Stat)
}

func readRegular(path string, max int64, stat func(string) (os.FileInfo, error)) ([]byte, error) {
	fi, err := stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	// O_NONBLOCK: a FIFO swapped in after the check must not block the open.
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi2, err := f.Stat(); err != nil || !fi2.Mode().IsRegular() || !os.SameFile(fi, fi2) {
		return nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("changed while opening")}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", path, ErrTooLarge, max)
	}
	return data, nil
}
