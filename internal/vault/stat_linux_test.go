package vault

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The stat key keeps the format sync states recorded before it was built with
// strconv, so an upgrade does not make every file look touched.
func TestStatKeyFormat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("content"), 0o600)
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	want := fmt.Sprintf("%d:%d:%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(), st.Ctim.Sec*1e9+st.Ctim.Nsec, st.Dev, st.Ino)
	if got := statKey(fi); got != want {
		t.Fatalf("statKey = %q, want %q", got, want)
	}
}
