//go:build unix

package atomicfile

import "syscall"

const oNonblock = syscall.O_NONBLOCK

// oNoFollow makes an open fail on a symbolic link instead of following it.
const oNoFollow = syscall.O_NOFOLLOW
