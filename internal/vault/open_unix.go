//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package vault

import (
	"errors"
	"os"
	"syscall"
)

// openNoFollow opens path read-only; a symbolic link fails (ELOOP) and a named pipe
// does not block the open.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

func isLinkLoop(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}
