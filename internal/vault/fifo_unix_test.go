//go:build unix

package vault

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

func TestScanRefusesFifo(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, map[string]string{"ok": "x"})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Scan(dir)
	wantRefused(t, err, `"pipe"`)
	// Open must not block on the pipe either.
	_, err = Open(dir, "pipe")
	wantRefused(t, err, `"pipe"`)
}
