//go:build testhooks

package kdf

import (
	"os"
	"strconv"
)

// TestIterationsEnv lowers the iteration count in testhooks builds only.
const TestIterationsEnv = "VSYNC_TEST_PBKDF2_ITERATIONS"

// iterations reads the env at each derivation so tests can change it with t.Setenv;
// an unset, blank or invalid value keeps the wire count.
func iterations() int {
	if v := os.Getenv(TestIterationsEnv); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return Iterations
}
