//go:build darwin || freebsd || netbsd

package vault

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// openFolder opens a folder of the vault for listing, refusing a symbolic link
// that replaced it since its parent was listed.
func openFolder(abs string) (folder, error) {
	f, err := os.OpenFile(abs, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return folder{}, err
	}
	return folder{f: f, fd: int(f.Fd())}, nil
}

// statAt lstats name in the open folder d into s, and returns its type (0 for a
// regular file).
func statAt(d *openDir, name string, s *stamp) (fs.FileMode, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(d.f.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return 0, err
		}
	}
	*s = stampOf(&st)
	return typeOf(uint32(st.Mode)), nil
}
