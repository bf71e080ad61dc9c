package vault

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// stamp is what an lstat says about a regular file, for change detection: size,
// modification and change times in nanoseconds, device and inode. The change
// time cannot be set by user space, so a rewrite that restores size and
// modification time still shows.
type stamp struct {
	size, mtime, ctime int64
	dev, ino           uint64
}

// key is the stamp as sync states record it ("size:mtime:ctime:dev:ino", the
// format states were written in before stamps existed).
func (s *stamp) key() string { return string(s.appendKey(make([]byte, 0, 80))) }

func (s *stamp) appendKey(b []byte) []byte {
	b = strconv.AppendInt(b, s.size, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, s.mtime, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, s.ctime, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, s.dev, 10)
	b = append(b, ':')
	return strconv.AppendUint(b, s.ino, 10)
}

// is reports whether the stamp is the recorded key k, without building a string
// (an up-to-date check compares one per file).
func (s *stamp) is(k string) bool {
	var buf [80]byte
	return string(s.appendKey(buf[:0])) == k
}

// vouches reports whether the hash k records is this file's content: the stamp
// is k's stat key and the file was modified before racyNs (a change in the same
// clock tick as the record would not show in it). The one rule of change
// detection, for the up-to-date scan and for linking (Reuse).
func (s *stamp) vouches(k Known, racyNs int64) bool {
	return k.SHA256 != "" && s.mtime < racyNs && s.is(k.Stat)
}

// chunkFiles bounds the files of one folder stated as one piece of work: a large
// folder is stated by several goroutines.
const chunkFiles = 256

// chunk is regular files of one folder to state: their entries, whose names
// in the folder d are their paths' last component.
type chunk struct {
	d    *openDir
	ents []*entry
	err  error
}

// openDir is a listed folder kept open for the chunks that state its files
// (relative to it: one path component to resolve per file, not the whole path).
type openDir struct {
	f         folder
	path, rel string // rel: below the vault, "" for the vault folder
	refs      atomic.Int32
}

func (d *openDir) release() {
	if d.refs.Add(-1) == 0 {
		d.f.close()
	}
}

// dirent is an entry of a listed folder: its path below the vault, whose last
// component (its name in the folder) starts at name, and its type (0 for a
// regular file).
type dirent struct {
	path string
	name int
	typ  fs.FileMode
}

// walker lists a vault folder: the walk goes on in the caller's goroutine while a
// few goroutines state the files already listed (the lstats are most of an
// up-to-date check, and the kernel runs them in parallel).
type walker struct {
	root string
	ig   *Ignore
	sc   scratch // folder.list's buffers, reused from folder to folder
	// blocks hold the entries listed: they never move, so the goroutines
	// stating files write into them while the walk adds more (and a large
	// vault's listing is not copied at each doubling of one slice).
	blocks [][]entry
	n      int
	local  []string
	hollow map[string]bool // folders that hold a local-only entry
	work   chan *chunk
	chunks []*chunk
}

const blockEntries = 512

// add appends e to the listing and returns where it is kept.
func (w *walker) add(e entry) *entry {
	i := w.n % blockEntries
	if i == 0 {
		w.blocks = append(w.blocks, make([]entry, blockEntries))
	}
	b := w.blocks[len(w.blocks)-1]
	b[i] = e
	w.n++
	return &b[i]
}

// walkVault lists the vault folder dir: its entries (local-only ones left out,
// see dropHollow) sorted by path, regular files with their size and stamp, and,
// apart, the local-only entries in walk order.
func walkVault(dir string) ([]*entry, []string, error) {
	ig, err := LoadIgnore(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := checkVaultFolder(dir); err != nil {
		return nil, nil, err
	}
	w := &walker{root: dir, ig: ig, hollow: map[string]bool{}, work: make(chan *chunk, 8)}
	var wg sync.WaitGroup
	for range min(4, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range w.work {
				c.err = statChunk(c)
				c.d.release()
			}
		}()
	}
	err = w.walk("", dir)
	close(w.work)
	wg.Wait()
	if err != nil {
		return nil, nil, err
	}
	for _, c := range w.chunks { // in walk order: the first error wins
		if c.err != nil {
			return nil, nil, c.err
		}
	}
	out := make([]*entry, 0, w.n) // pointers: sorted without copying the entries
	for _, b := range w.blocks {
		for i := range b[:min(len(b), w.n-len(out))] {
			out = append(out, &b[i])
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return strings.Compare(a.Path, b.Path) })
	return dropHollow(out, w.hollow, entryPath), w.local, nil
}

// checkVaultFolder refuses a vault folder that is not a folder (a link to one
// included: Replace would turn it into a real folder).
func checkVaultFolder(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("vault folder: %w", err)
	}
	if t := fi.Mode().Type(); t != 0 && t != fs.ModeDir {
		return fail.New(fail.Refused, "point the vault folder setting at a real folder instead of a link",
			"the vault folder %q is a %s, not a folder", filepath.ToSlash(dir), kindOf(t))
	}
	if !fi.IsDir() {
		return fail.New(fail.Failure, "move the file away or change the vault folder setting",
			"the vault folder %q is a file, not a folder", filepath.ToSlash(dir))
	}
	return nil
}

// walk lists the folder at abs (rel below the vault; "" for the vault itself)
// and, depth first in name order, the folders below it.
func (w *walker) walk(rel, abs string) error {
	f, err := openFolder(abs)
	if err != nil {
		return err
	}
	ds, err := f.list(rel, abs, &w.sc)
	if err != nil {
		f.close()
		return err
	}
	slices.SortFunc(ds, func(a, b dirent) int { return strings.Compare(a.path[a.name:], b.path[b.name:]) })
	// The folder stays open for the chunks that state its files, but not while
	// the walk is below it (a deep vault would hold a descriptor per level): it
	// is opened again for files that come after a subfolder.
	d := newOpenDir(f, abs, rel)
	var c *chunk
	leave := func() { // sends the chunk being made and lets go of the folder
		if c != nil {
			w.chunks = append(w.chunks, c)
			w.work <- c
			c = nil
		}
		if d != nil {
			d.release()
			d = nil
		}
	}
	defer leave()
	// Entries in name order, a folder's content right after the folder: WalkDir's
	// order, so the first refused entry is the one it would report.
	for _, de := range ds {
		r := de.path
		isDir := de.typ == fs.ModeDir
		if w.ig.Match(r, isDir) {
			// Local-only (.vsyncignore): never listed, so never pushed nor an edit.
			w.local = append(w.local, r)
			for q := range parents(r) {
				w.hollow[q] = true
			}
			continue
		}
		if de.typ != 0 && !isDir {
			return refused(r, de.typ)
		}
		if isDir {
			w.add(entry{Path: r, Dir: true})
			leave() // chunks stay in walk order
			if err := w.walk(r, filepath.Join(abs, r[de.name:])); err != nil {
				return err
			}
			continue
		}
		if d == nil {
			f, err := openFolder(abs)
			if err != nil {
				return err
			}
			d = newOpenDir(f, abs, rel)
		}
		if c == nil {
			d.refs.Add(1)
			c = &chunk{d: d}
		}
		c.ents = append(c.ents, w.add(entry{Path: r}))
		if len(c.ents) == chunkFiles {
			w.chunks = append(w.chunks, c)
			w.work <- c
			c = nil
		}
	}
	return nil
}

// newOpenDir holds the open folder f for the walk (its reference, which
// release gives back).
func newOpenDir(f folder, abs, rel string) *openDir {
	d := &openDir{f: f, path: abs, rel: rel}
	d.refs.Store(1)
	return d
}

func refused(rel string, t fs.FileMode) error {
	return fail.New(fail.Refused, refusedHint, "vault entry %q is a %s; only regular files and folders can be synced", rel, kindOf(t))
}

// statChunk fills the stamps of a chunk's entries, refusing a file that is no
// longer a regular file.
func statChunk(c *chunk) error {
	for _, e := range c.ents {
		name := e.Path[len(c.d.rel):]
		if c.d.rel != "" {
			name = name[1:] // the "/"
		}
		t, err := statAt(c.d, name, &e.st)
		if err != nil {
			return &fs.PathError{Op: "lstat", Path: filepath.Join(c.d.path, name), Err: err}
		}
		if t != 0 { // replaced since it was listed
			return refused(e.Path, t)
		}
		e.keyed = haveStatKeys
	}
	return nil
}
