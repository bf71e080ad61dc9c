//go:build unix

package main

import (
	"os"
	"syscall"
	"time"
)

// threadCPU is the calling thread's CPU time (RUSAGE_THREAD on Linux).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childUsage is a finished child's CPU time and peak resident size.
func childUsage(ps *os.ProcessState) (time.Duration, int64) {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Maxrss)
	}
	return 0, 0
}
