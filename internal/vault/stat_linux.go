package vault

import (
	"fmt"
	"io/fs"
	"syscall"
)

// statKey identifies a file's state without reading it: size, modification and
// change times in nanoseconds, device and inode. The change time cannot be set by
// user space, so a rewrite that restores size and modification time still shows.
func statKey(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(),
		st.Ctim.Sec*1e9+st.Ctim.Nsec, st.Dev, st.Ino)
}
