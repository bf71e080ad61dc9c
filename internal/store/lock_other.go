//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly || windows)

package store

import (
	"errors"
	"os"
)

func tryLock(*os.File) (bool, error) {
	return false, errors.New("the file store has no file locking on this operating system")
}

func unlockFile(*os.File) {}
