package vault

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

var errNoSyncfs = errors.New("syncfs does not report write-back errors here")

// syncfsReports is whether the kernel's syncfs returns write-back errors (since
// Linux 5.8); before, it could return 0 after a failed write-back.
var syncfsReports = sync.OnceValue(func() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 5, 8)
})

// kernelAtLeast compares a release string like "6.1.0-18-amd64" with major.minor.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	num := func(s string) int {
		end := 0
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(s[:end])
		if err != nil {
			return -1
		}
		return n
	}
	ma, mi := num(parts[0]), num(parts[1])
	return ma > major || (ma == major && mi >= minor)
}

// syncFS flushes the whole file system that holds d.
func syncFS(d *os.File) error {
	if !syncfsReports() {
		return errNoSyncfs
	}
	for {
		err := unix.Syncfs(int(d.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
