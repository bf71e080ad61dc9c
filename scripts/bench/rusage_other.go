//go:build !unix

package main

import (
	"os"
	"time"
)

// Without getrusage (Windows) the bench reports no CPU or memory figures; it only
// has to compile there (make vet cross-builds ./...).
func threadCPU() time.Duration { return 0 }

func childUsage(ps *os.ProcessState) (time.Duration, int64) {
	return ps.UserTime() + ps.SystemTime(), 0
}
