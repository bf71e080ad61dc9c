package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// A filled stage is made durable in one go before it is swapped in, instead of
// one fsync per file while it is written (see "Durable extraction" in
// docs/design.md): the commit point is the rename that publishes the stage, and
// all that matters is that every byte and name below the stage is on disk before
// it. A stage of many files is flushed with one syncfs of its file system where
// the platform has one that reports write-back errors (Linux ≥ 5.8); otherwise,
// and for a few files (where flushing the whole file system could cost more than
// it saves), every file is fsynced by a pool of workers and then every folder,
// deepest first.

// syncfsMinFiles is the number of files from which a stage is flushed with syncfs.
const syncfsMinFiles = 64

// fsyncWorkers bounds the fsyncs in flight: the disk merges concurrent flushes.
const fsyncWorkers = 8

// durable flushes the stage folder dir. fsDir is the stage opened before anything
// was written into it: syncfs reports the write-back errors seen on its file system
// since it was opened.
func durable(dir string, fsDir *os.File) error {
	var files, dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, p)
		case d.Type().IsRegular():
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if fsDir != nil && len(files) >= syncfsMinFiles {
		if err := syncFS(fsDir); !errors.Is(err, errNoSyncfs) {
			return err
		}
	}
	return fsyncAll(files, dirs)
}

// fsyncAll fsyncs every file (concurrently), then every folder, deepest first.
func fsyncAll(files, dirs []string) error {
	jobs := make(chan string)
	errs := make([]error, fsyncWorkers)
	var wg sync.WaitGroup
	for w := range fsyncWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				if errs[w] == nil {
					errs[w] = fsyncFile(p)
				}
			}
		}()
	}
	for _, p := range files {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		atomicfile.SyncDir(dirs[i])
	}
	return nil
}

// fsyncFile flushes one file. It is opened for writing because Windows flushes
// only handles that may write.
func fsyncFile(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
