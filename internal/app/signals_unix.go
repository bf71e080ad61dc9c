//go:build !windows

package app

import (
	"os"
	"syscall"
)

// forwardSignals are passed on to the command `run` starts.
var forwardSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
