//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package lockfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLock takes an exclusive flock on fh without waiting. flock locks belong
// to the open file description, so two opens in one process exclude each
// other too, and the kernel drops them when the process dies.
func tryLock(fh *os.File) (bool, error) {
	for {
		err := unix.Flock(int(fh.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

func unlockFile(fh *os.File) {
	unix.Flock(int(fh.Fd()), unix.LOCK_UN)
}
