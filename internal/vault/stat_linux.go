package vault

import (
	"io/fs"
	"strconv"
	"syscall"
)

// statKey identifies a file's state without reading it: size, modification and
// change times in nanoseconds, device and inode. The change time cannot be set by
// user space, so a rewrite that restores size and modification time still shows.
// Built with strconv: an up-to-date check makes one per file.
func statKey(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	b := make([]byte, 0, 80)
	b = strconv.AppendInt(b, fi.Size(), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(st.Ctim.Sec)*1e9+int64(st.Ctim.Nsec), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(st.Dev), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(st.Ino), 10)
	return string(b)
}
