package vault

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The stat key keeps the format sync states recorded before stamps, so an
// upgrade does not make every file look touched.
func TestStatKeyFormat(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("content"), 0o600)
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	want := fmt.Sprintf("%d:%d:%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(), st.Ctim.Sec*1e9+st.Ctim.Nsec, st.Dev, st.Ino)
	stats, err := Stats(dir)
	if err != nil || stats["f"] != want {
		t.Fatalf("stat key = %q (%v), want %q", stats["f"], err, want)
	}
	es, err := listEntries(dir)
	if err != nil || !es[0].st.is(want) || es[0].st.is(want+"0") {
		t.Fatalf("stamp does not compare equal to its key only: %+v %v", es, err)
	}
}
