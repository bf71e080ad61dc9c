//go:build unix

package testenv

import (
	"syscall"
	"testing"
)

// Mkfifo makes a named pipe at path, for tests that a read refuses non-regular
// files. Where there are no FIFOs (Windows) the test is skipped.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo %s: %v", path, err)
	}
}
