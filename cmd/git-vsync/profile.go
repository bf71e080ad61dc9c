//go:build vsyncprofile

package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// A binary built with -tags vsyncprofile (scripts/bench -cpuprofile) writes a CPU
// profile of the whole command to $VSYNC_CPUPROFILE. Product builds have no such
// switch.
func init() {
	path := os.Getenv("VSYNC_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	// 1 kHz instead of 100 Hz: the commands timed are short. (The runtime warns
	// that the rate was set before the profile started; it is used all the same.)
	runtime.SetCPUProfileRate(1000)
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return
	}
	stopProfile = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
