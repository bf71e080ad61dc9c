package vault

import (
	"os"
	"syscall"
	"testing"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

// TestWalkHoldsNoDescriptorPerLevel: the walk of a deep vault does not keep a
// folder open per level (it lets go of a folder while below it), so a hundred
// levels list under a limit of a few dozen open files.
func TestWalkHoldsNoDescriptorPerLevel(t *testing.T) {
	dir := t.TempDir()
	tree := map[string]string{}
	p := ""
	for range 100 {
		tree[p+"b"] = "x" // after the subfolder "a": the folder is opened again
		p += "a/"
	}
	testenv.WriteTree(t, dir, tree)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := syscall.Rlimit{Cur: uint64(len(fds) + 30), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip("cannot lower the open file limit:", err)
	}
	es, err := listEntries(dir)
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	if err != nil {
		t.Fatalf("a deep vault under a low open file limit: %v", err)
	}
	if n := len(es); n != 199 { // 100 files, 99 folders
		t.Fatalf("%d entries, want 199", n)
	}
}
