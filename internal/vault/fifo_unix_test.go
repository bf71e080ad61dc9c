//go:build unix

package vault

import (
	"path/filepath"
	"syscall"
	"testing"
)

func TestScanRefusesFifo(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"ok": "x"})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Scan(dir)
	wantRefused(t, err, `"pipe"`)
	// Open must not block on the pipe either.
	_, err = Open(dir, "pipe")
	wantRefused(t, err, `"pipe"`)
}
