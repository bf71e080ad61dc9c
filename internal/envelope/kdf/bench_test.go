package kdf

import (
	"strconv"
	"testing"
)

// BenchmarkDerive is one uncached key derivation at the wire cost (600000
// iterations).
func BenchmarkDerive(b *testing.B) {
	SetTestIterations(b, Iterations)
	for i := 0; i < b.N; i++ {
		derive(b, "Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm8=", "bench-salt-"+strconv.Itoa(i))
	}
}
