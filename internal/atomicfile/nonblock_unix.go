//go:build unix

package atomicfile

import "syscall"

const oNonblock = syscall.O_NONBLOCK
