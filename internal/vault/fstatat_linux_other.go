//go:build linux && !(amd64 || arm64)

package vault

import "golang.org/x/sys/unix"

// fstatat lstats name in the folder fd.
func fstatat(fd int, name string, st *unix.Stat_t) error { return fstatatCopy(fd, name, st) }
