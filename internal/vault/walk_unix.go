//go:build linux || darwin || freebsd || netbsd

package vault

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// haveStatKeys: these platforms give the change time and inode a stamp needs.
const haveStatKeys = true

// typeOf is the type of a file of mode bits m (0 for a regular file).
func typeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR, unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}
