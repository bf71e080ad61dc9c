package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gcSettings reads GOGC and the memory limit in force.
func gcSettings() (percent int64, limit uint64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), s[1].Value.Uint64()
}

func restoreGC(t *testing.T) {
	t.Cleanup(func() {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

var sink []byte

// TestLateFirstGC: the first collection waits until about firstGC bytes were
// allocated, and from then on Go's defaults apply (so large commands collect as
// before).
func TestLateFirstGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	restoreGC(t)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	lateFirstGC()
	if p, l := gcSettings(); p != -1 || l != firstGC {
		t.Fatalf("GOGC %d, limit %d at the start; want off (-1), %d", p, l, firstGC)
	}
	now := before
	for now.NumGC == before.NumGC {
		for range 16 {
			sink = make([]byte, 64<<10)
		}
		runtime.ReadMemStats(&now)
		if now.TotalAlloc-before.TotalAlloc > 4*firstGC {
			t.Fatalf("no collection after %d MiB", (now.TotalAlloc-before.TotalAlloc)>>20)
		}
	}
	if got := now.TotalAlloc - before.TotalAlloc; got < firstGC/2 {
		t.Fatalf("first collection after %d MiB, want about %d MiB", got>>20, firstGC>>20)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if p, l := gcSettings(); p == 100 && l == math.MaxInt64 {
			break
		}
		if time.Now().After(deadline) {
			p, l := gcSettings()
			t.Fatalf("after the first collection: GOGC %d, limit %d; want the defaults", p, l)
		}
	}
}

// TestLateFirstGCLeavesUserSettings: GOGC or GOMEMLIMIT in the environment win.
func TestLateFirstGCLeavesUserSettings(t *testing.T) {
	restoreGC(t)
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(v, "100")
			lateFirstGC()
			if p, l := gcSettings(); p != 100 || l != math.MaxInt64 {
				t.Fatalf("GOGC %d, limit %d; want the defaults untouched", p, l)
			}
		})
	}
}
