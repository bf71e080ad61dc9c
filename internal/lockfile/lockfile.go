// Package lockfile takes exclusive advisory locks on files (flock on unix,
// LockFileEx on Windows). The operating system drops a lock when its process dies,
// so a crash never leaves a stale lock behind.
package lockfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// ErrBusy is wrapped when the lock stayed taken until the timeout.
var ErrBusy = fmt.Errorf("lock held by another process")

// Acquire takes the lock file at path (created 0600, parent folders 0700), polling
// until timeout or ctx ends. release unlocks and closes it. The lock file and its
// folder must be a regular file and a real folder: a file store's locks live in a
// folder others may write to, whose link would have us create files elsewhere.
func Acquire(ctx context.Context, path string, timeout time.Duration) (release func(), err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("lock folder %s is not a folder (a symbolic link?)", dir)
	}
	fh, _, err := atomicfile.OpenAppend(path, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		ok, err := tryLock(fh)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			return func() {
				unlockFile(fh)
				fh.Close()
			}, nil
		}
		if !time.Now().Before(deadline) {
			fh.Close()
			return nil, fmt.Errorf("%w: %s (waited %s)", ErrBusy, path, timeout)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			fh.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}
