//go:build windows

package store

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// openRead opens p for reading with FILE_SHARE_DELETE, so that a writer can
// rename a new version over it while it is being read (os.Open does not share
// delete access, which would make such renames fail).
func openRead(p string) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(p)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(h), p), nil
}

// renameReplace renames from over to, retrying for a while when another
// program (a reader without delete sharing, a virus scanner) holds the target.
func renameReplace(from, to string) error {
	var err error
	for wait := 5 * time.Millisecond; ; wait *= 2 {
		err = os.Rename(from, to)
		if err == nil || wait > time.Second ||
			!(errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)) {
			return err
		}
		time.Sleep(wait)
	}
}
