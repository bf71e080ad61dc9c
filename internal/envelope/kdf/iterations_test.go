//go:build !testhooks

package kdf

import "testing"

// Without the testhooks tag the env var must have no effect.
func TestProductIgnoresTestEnv(t *testing.T) {
	t.Setenv("VSYNC_TEST_PBKDF2_ITERATIONS", "1")
	if got := iterations(); got != Iterations {
		t.Fatalf("iterations() = %d in a product build", got)
	}
}
