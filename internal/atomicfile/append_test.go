package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

// TestOpenAppend: a regular file is appended to and a missing one created; a link
// (to a file or dangling), a folder and a FIFO are refused at once, and nothing is
// written through them.
func TestOpenAppend(t *testing.T) {
	dir := t.TempDir()
	appendTo := func(p, s string) (int64, error) {
		f, size, err := OpenAppend(p, 0o644)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		_, err = f.WriteString(s)
		return size, err
	}

	p := filepath.Join(dir, "regular")
	if err := os.WriteFile(p, []byte("a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if size, err := appendTo(p, "b\n"); err != nil || size != 2 {
		t.Fatalf("regular file: size %d, %v", size, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "a\nb\n" {
		t.Fatalf("regular file holds %q", b)
	}
	created := filepath.Join(dir, "created")
	if size, err := appendTo(created, "c\n"); err != nil || size != 0 {
		t.Fatalf("missing file: size %d, %v", size, err)
	}
	if fi, err := os.Lstat(created); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("missing file not created: %v", err)
	}

	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"link":          filepath.Join(dir, "link"),
		"dangling link": filepath.Join(dir, "dangling"),
		"folder":        filepath.Join(dir, "folder"),
	}
	if err := os.Symlink(outside, refused["link"]); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	dangling := filepath.Join(filepath.Dir(outside), "not-yet")
	if err := os.Symlink(dangling, refused["dangling link"]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(refused["folder"], 0o700); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		refused["fifo"] = filepath.Join(dir, "fifo")
		testenv.Mkfifo(t, refused["fifo"])
	}
	for name, p := range refused {
		done := make(chan error, 1)
		go func() { _, err := appendTo(p, "x\n"); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: %v, want ErrNotRegular", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: OpenAppend blocked", name)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep\n" {
		t.Fatalf("written through the link: %q", b)
	}
	if _, err := os.Lstat(dangling); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("created through the dangling link: %v", err)
	}
}
