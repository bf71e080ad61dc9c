//go:build linux || darwin || freebsd || netbsd

package vault

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// haveStatKeys: these platforms give the change time and inode a stamp needs.
const haveStatKeys = true

// openFolder opens a folder of the vault for listing, refusing a symbolic link
// that replaced it since its parent was listed.
func openFolder(abs string) (*os.File, error) {
	return os.OpenFile(abs, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
}

// statAt lstats name in the open folder d into s, and returns its type (0 for a
// regular file).
func statAt(d *openDir, name string, s *stamp) (fs.FileMode, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return 0, err
		}
	}
	*s = stampOf(&st)
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFREG:
		return 0, nil
	case unix.S_IFDIR:
		return fs.ModeDir, nil
	case unix.S_IFLNK:
		return fs.ModeSymlink, nil
	case unix.S_IFIFO:
		return fs.ModeNamedPipe, nil
	case unix.S_IFSOCK:
		return fs.ModeSocket, nil
	case unix.S_IFCHR, unix.S_IFBLK:
		return fs.ModeDevice, nil
	}
	return fs.ModeIrregular, nil
}
