package vault

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

// Both ways of flushing a stage (syncfs from syncfsMinFiles files, fsyncs below)
// install every file.
func TestReplaceFlushesSmallAndLargeStages(t *testing.T) {
	for _, n := range []int{3, syncfsMinFiles + 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			tree := map[string]string{"empty/": "/"}
			for i := range n {
				tree[fmt.Sprintf("d%d/f%03d", i%4, i)] = fmt.Sprint(i)
			}
			src := t.TempDir()
			testenv.WriteTree(t, src, tree)
			want, _ := Scan(src)
			v := filepath.Join(t.TempDir(), "dev")
			if err := Replace(v, func(stage string) error {
				testenv.WriteTree(t, stage, tree)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			got, err := Scan(v)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("vault after Replace:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestFsyncAllReportsErrors(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	os.WriteFile(ok, []byte("x"), 0o600)
	if err := fsyncAll([]string{ok}, []string{dir}); err != nil {
		t.Fatal(err)
	}
	if err := fsyncAll([]string{ok, filepath.Join(dir, "gone")}, []string{dir}); err == nil {
		t.Fatal("a file that cannot be flushed went unnoticed")
	}
}

// removeTree deletes a nested tree with its workers, and never follows a link out
// of it.
func TestRemoveTree(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "keep")
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "trash")
	tree := map[string]string{"empty/": "/"}
	for i := range 50 {
		tree[fmt.Sprintf("d%d/e%d/f%03d", i%3, i%2, i)] = fmt.Sprint(i)
	}
	testenv.WriteTree(t, dir, tree)
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "d0", "link")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if err := removeTree(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("the tree is still there: %v", err)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep" {
		t.Fatalf("a file outside the tree was touched: %q %v", b, err)
	}
}
