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
