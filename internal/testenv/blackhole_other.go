//go:build !linux

package testenv

import "testing"

// BlackholeEndpoint needs Linux's accept-queue behaviour; elsewhere the test skips.
func BlackholeEndpoint(t testing.TB) string {
	t.Helper()
	t.Skip("a blackholed endpoint is only built on Linux")
	return ""
}
