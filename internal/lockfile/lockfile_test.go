package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestExclusive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "x.lock")
	release, err := Acquire(context.Background(), p, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description: a second open in the same
	// process is excluded too.
	if _, err := Acquire(context.Background(), p, 50*time.Millisecond); !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock: %v", err)
	}
	release()
	r2, err := Acquire(context.Background(), p, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r2()
}

// A lock folder or lock file that is a symbolic link (another user of a shared
// file store can put one there) is refused, and nothing is created where it points.
func TestLinksAreNotFollowed(t *testing.T) {
	root := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(root, "locks")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if _, err := Acquire(context.Background(), filepath.Join(root, "locks", "x.lock"), 50*time.Millisecond); err == nil {
		t.Fatal("locked through a linked folder")
	}
	os.Remove(filepath.Join(root, "locks"))
	os.Mkdir(filepath.Join(root, "locks"), 0o700)
	target := filepath.Join(elsewhere, "created-by-lock")
	os.Symlink(target, filepath.Join(root, "locks", "y.lock"))
	if _, err := Acquire(context.Background(), filepath.Join(root, "locks", "y.lock"), 50*time.Millisecond); err == nil {
		t.Fatal("locked through a linked lock file")
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Fatalf("created %v through the links", ents)
	}
}
