//go:build darwin || freebsd || netbsd

package vault

import (
	"fmt"
	"io/fs"
	"syscall"
)

// statKey: see stat_linux.go; the BSDs name the change time Ctimespec.
func statKey(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(),
		int64(st.Ctimespec.Sec)*1e9+int64(st.Ctimespec.Nsec), st.Dev, st.Ino)
}
