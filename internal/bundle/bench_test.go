package bundle

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/git-vsync/git-vsync/internal/vault"
)

// benchVault makes a vault of n files of size bytes.
func benchVault(b *testing.B, n, size int) string {
	dir := filepath.Join(b.TempDir(), "dev")
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%10))
		os.MkdirAll(sub, 0o700)
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d", i)), buf, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

func BenchmarkWriteExtract200x4KiB(b *testing.B) {
	dir := benchVault(b, 200, 4<<10)
	b.SetBytes(200 * 4 << 10)
	for i := 0; i < b.N; i++ {
		var z bytes.Buffer
		if _, err := WriteScan(&z, dir, "infra/vault/dev"); err != nil {
			b.Fatal(err)
		}
		if _, err := Extract(z.Bytes(), filepath.Join(b.TempDir(), "x"), DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanSmallVault is the local work of an up-to-date check: hashing the vault.
func BenchmarkScanSmallVault(b *testing.B) {
	dir := benchVault(b, 5, 2<<10)
	for i := 0; i < b.N; i++ {
		if _, err := vault.Scan(dir); err != nil {
			b.Fatal(err)
		}
	}
}
