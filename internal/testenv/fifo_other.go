//go:build !unix

package testenv

import "testing"

// Mkfifo makes a named pipe at path; this platform has none, so the test is skipped.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	t.Skip("no named pipes on this platform")
}
