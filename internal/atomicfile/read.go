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

// OpenRegular opens the regular file at path for reading with ReadRegular's
// checks (no link, FIFO or device; not swapped while opening), for a reader that
// reads only part of it. It returns the file's size.
func OpenRegular(path string) (*os.File, int64, error) {
	f, fi, err := openRegular(path, os.Lstat)
	if err != nil {
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func openRegular(path string, stat func(string) (os.FileInfo, error)) (*os.File, os.FileInfo, error) {
	fi, err := stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, &fs.PathError{Op: "read", Path: path, Err: ErrNotRegular}
	}
	// O_NONBLOCK: a FIFO swapped in after the check must not block the open.
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	fi2, err := f.Stat()
	if err != nil || !fi2.Mode().IsRegular() || !os.SameFile(fi, fi2) {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("changed while opening")}
	}
	return f, fi2, nil
}

func readRegular(path string, limit int64, stat func(string) (os.FileInfo, error)) ([]byte, error) {
	f, fi2, err := openRegular(path, stat)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read into a buffer of the file's size, +1 to meet EOF without growing it
	// (as os.ReadFile does): io.ReadAll's growing buffer copied a
	// multi-megabyte state file several times.
	data := make([]byte, 0, min(max(fi2.Size(), 0), limit)+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		k, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+k]
		if int64(len(data)) > limit {
			return nil, fmt.Errorf("%s: %w (more than %d bytes)", path, ErrTooLarge, limit)
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
