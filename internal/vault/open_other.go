//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package vault

import "os"

// openNoFollow opens path read-only. Without O_NOFOLLOW, Open's Lstat before and Stat
// of the open file after are what refuse anything that is not a regular file.
func openNoFollow(path string) (*os.File, error) { return os.Open(path) }

func isLinkLoop(err error) bool { return false }
