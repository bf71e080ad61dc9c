//go:build linux || darwin || freebsd || netbsd

package git

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// statInput is the stamp of an input of a remembered answer (the file a link
// names): device, inode, mode, size, modification and change time, and the later
// of those two times. exists is false for a missing file; ok is false for a
// file that cannot be stated.
func statInput(path string) (key string, changed time.Time, exists, ok bool) {
	var st unix.Stat_t
	for {
		err := unix.Stat(path, &st)
		if err == nil {
			break
		}
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return "", time.Time{}, false, true
		}
		if err != unix.EINTR {
			return "", time.Time{}, false, false
		}
	}
	m, c := st.Mtim.Nano(), st.Ctim.Nano()
	return fmt.Sprintf("%d:%d:%o:%d:%d:%d", uint64(st.Dev), uint64(st.Ino), uint32(st.Mode), st.Size, m, c),
		time.Unix(0, max(m, c)), true, true
}
