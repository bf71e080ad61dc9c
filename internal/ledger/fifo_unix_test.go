//go:build unix

package ledger

import (
	"path/filepath"
	"syscall"
	"testing"
)

func TestLoadRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "env_x.ledger.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	if _, err := Load(fifo); err == nil {
		t.Fatal("FIFO accepted")
	}
}
