package atomicfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReadRegularSizes: the buffer sized from the file's length reads every size
// exactly, a file of exactly the limit included; one byte more is refused.
func TestReadRegularSizes(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 511, 512, 4096, 100_000} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte{'x'}, n)
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadRegular(p, int64(n))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes at a limit of %d: %d bytes, %v", n, n, len(got), err)
		}
		if n > 0 {
			if _, err := ReadRegular(p, int64(n-1)); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%d bytes at a limit of %d: %v", n, n-1, err)
			}
		}
	}
	if _, err := ReadRegular(dir, 10); err == nil {
		t.Fatal("a folder was read")
	}
}
