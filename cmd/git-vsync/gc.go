package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
)

// firstGC is the memory (Go's heap and runtime) at which the first garbage
// collection of a git-vsync process runs. A command lives for a fraction of a
// second and most allocate a few MB, which Go's default collector (from a 4 MB
// heap on) collected twice in a small push or pull — marking, assisting and
// sweeping for a process about to exit. From the first collection on, Go's
// defaults apply (GOGC=100, no limit), so a large command's peak memory is at
// most max(firstGC, what the defaults give); the bench's large and scale
// sections show it stays within 64 MiB + the largest file (docs/performance.md).
const firstGC = 32 << 20

// lateFirstGC turns the collector off until the heap reaches firstGC (a soft
// memory limit), then hands back to the defaults. GOGC or GOMEMLIMIT set in the
// environment are the user's choice and win.
func lateFirstGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(firstGC)
	runtime.AddCleanup(new(sentinel), func(struct{}) {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}, struct{}{})
}

// sentinel is the object whose cleanup ends lateFirstGC: nothing references it,
// so the first collection finds it; its pointer field keeps it out of the tiny
// allocator, whose objects may never be cleaned up.
type sentinel struct{ _ *int }
