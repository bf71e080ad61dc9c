package kdf

import (
	"strconv"
	"testing"
)

// BenchmarkDerive is one uncached key derivation at the wire cost (600000
// iterations unless the testhooks build lowers it).
func BenchmarkDerive(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Derive("Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm8=", "bench-salt-"+strconv.Itoa(i))
	}
}
