// Package vault reads and replaces the local vault folder of one env (SPEC §3, §5.3, §6.1).
//
// A vault holds regular files and folders only, dotfiles included. Symbolic links,
// devices, pipes, sockets and other special files are refused with a message naming
// the path, and so is a vault folder that is itself a symbolic link: replacing it
// (Replace) would silently turn the link into a real folder.
package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// File is one entry of a vault: a regular file or a folder.
type File struct {
	Path   string // slash-separated, relative to the vault folder; never empty
	Size   int64  // bytes; 0 for folders
	SHA256 string // lower-case hex of the content; empty for folders (and in List results)
	Dir    bool
}

// entry is a listed File with what the file system said about it: the stamp of
// a regular file (keyed: it is a stat key; false for folders and where the
// platform gives no change time).
type entry struct {
	Path  string
	st    stamp // of a regular file; st.size is its size
	Dir   bool
	keyed bool
}

// file is the entry as a File (no hash).
func (e *entry) file() File { return File{Path: e.Path, Size: e.st.size, Dir: e.Dir} }

const refusedHint = "keep only regular files and folders in the vault: replace the entry with a regular file or move it out of the vault folder"

// List walks the vault folder and returns every file and folder below it (the folder
// itself excluded), sorted by Path, without reading contents: SHA256 is empty and Size
// is the size the file system reports. Special files are refused like Scan does.
// A missing folder gives an error that matches fs.ErrNotExist.
func List(dir string) ([]File, error) {
	es, err := listEntries(dir)
	if err != nil || len(es) == 0 {
		return nil, err
	}
	out := make([]File, len(es))
	for i, e := range es {
		out[i] = e.file()
	}
	return out, nil
}

// Stats returns the stat key of every regular file of the vault by path, for
// ScanKnown. Take it before reading the files whose hashes it will vouch for.
func Stats(dir string) (map[string]string, error) {
	es, err := listEntries(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(es))
	for _, e := range es {
		if e.keyed {
			out[e.Path] = e.st.key()
		}
	}
	return out, nil
}

func listEntries(dir string) ([]*entry, error) {
	es, _, err := walkVault(dir)
	return es, err
}

// parents yields the folders above the slash-separated path p, innermost first,
// down to its top ("." and "/" are not yielded). path.Dir of "/" is "/": a loop
// that stopped only at "." never ended for a path that starts with a slash (the
// fuzzer found one in Ignore.Filter).
func parents(p string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for q := path.Dir(p); q != "." && q != "/"; q = path.Dir(q) {
			if !yield(q) {
				return
			}
		}
	}
}

// dropHollow leaves out the folders that hold local-only entries and nothing
// else that is listed: a pull that keeps a local-only file in a folder the
// version does not have must not make that folder look like an edit.
func dropHollow[T any](es []T, hollow map[string]bool, pathOf func(*T) (string, bool)) []T {
	if len(hollow) == 0 {
		return es
	}
	keptChild := map[string]bool{}
	drop := map[int]bool{}
	for i := len(es) - 1; i >= 0; i-- { // children sort after their folder
		p, dir := pathOf(&es[i])
		if dir && hollow[p] && !keptChild[p] {
			drop[i] = true
			continue
		}
		for q := range parents(p) {
			keptChild[q] = true
		}
	}
	kept := es[:0]
	for i, e := range es {
		if !drop[i] {
			kept = append(kept, e)
		}
	}
	return kept
}

func entryPath(e **entry) (string, bool) { return (*e).Path, (*e).Dir }

func filePath(f *File) (string, bool) { return f.Path, f.Dir }

// Visible returns the entries of files that the vault at dir lists (List's
// rules: local-only entries and folders holding only them left out).
func Visible(dir string, files []File) ([]File, error) {
	out, _, err := VisibleStats(dir, files)
	return out, err
}

// VisibleStats is Visible that also returns the stat keys Stats gives, from the
// same walk.
func VisibleStats(dir string, files []File) ([]File, map[string]string, error) {
	es, err := listEntries(dir)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool, len(es))
	stats := make(map[string]string, len(es))
	for _, e := range es {
		seen[e.Path] = true
		if e.keyed {
			stats[e.Path] = e.st.key()
		}
	}
	out := make([]File, 0, len(files))
	for _, f := range files {
		if seen[f.Path] {
			out = append(out, f)
		}
	}
	return out, stats, nil
}

// Scan is List plus the size and SHA-256 of every file, computed while streaming the
// contents (a file is never held in memory whole).
func Scan(dir string) ([]File, error) {
	return ScanKnown(dir, nil, time.Time{})
}

// Known is what a sync state recorded about a file: its path, hash and stat key.
type Known struct {
	Path   string
	Size   int64
	SHA256 string
	Stat   string
}

// knownIn looks up the Known of the listed paths, asked in path order: a walk of
// known kept in path order (sorted here when it is not), without a map of it.
type knownIn struct {
	known []Known
	next  int
}

func newKnownIn(known []Known) *knownIn {
	cmp := func(a, b Known) int { return strings.Compare(a.Path, b.Path) }
	if !slices.IsSortedFunc(known, cmp) {
		known = slices.Clone(known)
		slices.SortFunc(known, cmp)
	}
	return &knownIn{known: known}
}

// find returns the Known of p; p must not sort before the previous path asked.
func (k *knownIn) find(p string) (Known, bool) {
	for k.next < len(k.known) && k.known[k.next].Path < p {
		k.next++
	}
	if k.next < len(k.known) && k.known[k.next].Path == p {
		return k.known[k.next], true
	}
	return Known{}, false
}

// ScanKnown is Scan that takes the hash of a file from known (by path; fastest in
// path order) instead of reading the file, when its stat key is the one recorded
// and it was last modified before racy. Files modified at or after racy are always read: a change in the same
// clock tick as the recorded stat would not show in it (git's "racily clean").
func ScanKnown(dir string, known []Known, racy time.Time) ([]File, error) {
	es, err := listEntries(dir)
	return scanKnown(dir, es, err, known, racy, true)
}

// ScanForChanges is ScanKnown that leaves SHA256 empty for the files known does
// not list: a file the last sync did not have is added whatever it holds, so
// reading it would only cost time (a first push of a large vault read every file
// twice). Diff against the synced listing gives the same answer.
func ScanForChanges(dir string, known []Known, racy time.Time) ([]File, error) {
	es, err := listEntries(dir)
	return scanKnown(dir, es, err, known, racy, false)
}

// ListStats is List and Stats from one walk.
func ListStats(dir string) ([]File, map[string]string, error) {
	es, err := listEntries(dir)
	if err != nil {
		return nil, nil, err
	}
	files := make([]File, len(es))
	stats := make(map[string]string, len(es))
	for i, e := range es {
		files[i] = e.file()
		if e.keyed {
			stats[e.Path] = e.st.key()
		}
	}
	if len(files) == 0 {
		files = nil
	}
	return files, stats, nil
}

// Listing is a walk of a vault folder running in the background (StartListing),
// so that the caller reads the sync state meanwhile: on two cores an up-to-date
// check then costs the longer of the two instead of their sum.
type Listing struct {
	dir   string
	done  chan struct{}
	es    []*entry
	local []string
	err   error
}

// StartListing starts listing the vault folder dir like List does.
func StartListing(dir string) *Listing {
	l := &Listing{dir: dir, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.es, l.local, l.err = walkVault(dir)
	}()
	return l
}

// LocalOnly is LocalOnly of the listed folder, from the same walk: nil when the
// walk failed.
func (l *Listing) LocalOnly() []string {
	<-l.done
	return l.local
}

// ScanForChanges is the package's ScanForChanges over the listing: it waits for
// the walk.
func (l *Listing) ScanForChanges(known []Known, racy time.Time) ([]File, error) {
	<-l.done
	return scanKnown(l.dir, l.es, l.err, known, racy, false)
}

// EachStat calls fn with every entry of the listing in path order, a regular
// file with its size and the fields of its stat key in the order the key writes
// them (size, mtime, ctime, dev, ino; key is only valid during the call), and
// reports whether the stat keys vouch for the files' contents: false (and fn is
// called no more) at the first file that has no stat key on this platform or
// was modified at or after racy, which ScanForChanges would read. The error is
// the walk's. An up-to-date check feeds the entries to a state.Digest.
func (l *Listing) EachStat(racy time.Time, fn func(path string, dir bool, size int64, key []uint64)) (bool, error) {
	<-l.done
	if l.err != nil {
		return false, l.err
	}
	racyNs := unixNano(racy)
	var key [5]uint64
	for _, e := range l.es {
		if e.Dir {
			fn(e.Path, true, 0, nil)
			continue
		}
		if !e.keyed || e.st.mtime >= racyNs {
			return false, nil
		}
		key = [5]uint64{uint64(e.st.size), uint64(e.st.mtime), uint64(e.st.ctime), e.st.dev, e.st.ino}
		fn(e.Path, false, e.st.size, key[:])
	}
	return true, nil
}

func scanKnown(dir string, es []*entry, err error, known []Known, racy time.Time, hashNew bool) ([]File, error) {
	if err != nil || len(es) == 0 {
		return nil, err
	}
	files := make([]File, len(es))
	var buf []byte
	racyNs := unixNano(racy)
	kn := newKnownIn(known)
	for i := range es { // in path order
		files[i] = es[i].file()
		if files[i].Dir {
			continue
		}
		k, ok := kn.find(files[i].Path)
		if ok && es[i].keyed && es[i].st.vouches(k, racyNs) {
			files[i].SHA256 = k.SHA256
			continue
		}
		if !ok && !hashNew {
			continue
		}
		f, err := Open(dir, files[i].Path)
		if err != nil {
			return nil, err
		}
		if buf == nil {
			buf = make([]byte, 64<<10)
		}
		h := sha256.New()
		n, err := io.CopyBuffer(h, onlyReader{f}, buf)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read vault file %q: %w", files[i].Path, err)
		}
		files[i].Size = n
		files[i].SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	return files, nil
}

// unixNano is t in nanoseconds since 1970, clamped where an int64 cannot hold
// it (the zero time: nothing is older).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Open opens the vault file rel (slash-separated, relative to dir) for reading without
// following a symbolic link and without blocking on a pipe, and refuses anything that
// is not a regular file (the entry may have changed since it was listed).
func Open(dir, rel string) (*os.File, error) {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	li, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !li.Mode().IsRegular() {
		return nil, fail.New(fail.Refused, refusedHint, "vault entry %q is a %s; only regular files and folders can be synced", rel, kindOf(li.Mode().Type()))
	}
	f, err := openNoFollow(path)
	if err != nil {
		if isLinkLoop(err) {
			return nil, fail.New(fail.Refused, refusedHint, "vault entry %q is a symbolic link; only regular files and folders can be synced", rel)
		}
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fail.New(fail.Refused, refusedHint, "vault entry %q is a %s; only regular files and folders can be synced", rel, kindOf(info.Mode().Type()))
	}
	return f, nil
}

// Diff compares two listings by content (size and SHA-256; times never matter). Paths
// come back sorted. Folders appear with a trailing "/" and only when nothing below
// them is listed in the same group (so an added empty folder shows, while a new folder
// with new files shows only its files). A path that turned from file into folder or
// back is "changed".
func Diff(old, cur []File) (added, changed, removed []string) {
	if inPathOrder(old) && inPathOrder(cur) {
		return diffSorted(old, cur)
	}
	return diffMaps(old, cur)
}

// inPathOrder: strictly increasing paths (no path twice).
func inPathOrder(files []File) bool {
	for i := 1; i < len(files); i++ {
		if files[i-1].Path >= files[i].Path {
			return false
		}
	}
	return true
}

func diffMaps(old, cur []File) (added, changed, removed []string) {
	om := make(map[string]File, len(old))
	for _, f := range old {
		om[f.Path] = f
	}
	cm := make(map[string]File, len(cur))
	for _, f := range cur {
		cm[f.Path] = f
	}
	var addedF, removedF []File
	for _, c := range cur {
		o, ok := om[c.Path]
		switch {
		case !ok:
			addedF = append(addedF, c)
		case o.Dir != c.Dir:
			changed = append(changed, c.Path)
		case !c.Dir && (o.Size != c.Size || !strings.EqualFold(o.SHA256, c.SHA256)):
			changed = append(changed, c.Path)
		}
	}
	for _, o := range old {
		if _, ok := cm[o.Path]; !ok {
			removedF = append(removedF, o)
		}
	}
	sort.Strings(changed)
	return collapse(addedF), changed, collapse(removedF)
}

// diffSorted is Diff of two listings in path order, in one pass and without
// maps (an up-to-date check of a large vault compares every file).
func diffSorted(old, cur []File) (added, changed, removed []string) {
	var addedF, removedF []File
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(old) && old[i].Path < cur[j].Path):
			removedF = append(removedF, old[i])
			i++
		case i == len(old) || cur[j].Path < old[i].Path:
			addedF = append(addedF, cur[j])
			j++
		default:
			o, c := old[i], cur[j]
			if o.Dir != c.Dir || (!c.Dir && (o.Size != c.Size || !strings.EqualFold(o.SHA256, c.SHA256))) {
				changed = append(changed, c.Path)
			}
			i++
			j++
		}
	}
	return collapse(addedF), changed, collapse(removedF)
}

// collapse turns a group of files into sorted display paths, dropping folders that
// have a descendant in the group.
func collapse(group []File) []string {
	if len(group) == 0 {
		return nil
	}
	paths := make([]string, 0, len(group))
	for _, f := range group {
		paths = append(paths, f.Path)
	}
	sort.Strings(paths)
	var out []string
	for _, f := range group {
		if f.Dir {
			prefix := f.Path + "/"
			i := sort.SearchStrings(paths, prefix)
			if i < len(paths) && strings.HasPrefix(paths[i], prefix) {
				continue
			}
			out = append(out, prefix)
			continue
		}
		out = append(out, f.Path)
	}
	sort.Strings(out)
	return out
}

func kindOf(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeDevice != 0:
		return "device"
	case t == fs.ModeDir:
		return "folder"
	default:
		return "special file"
	}
}

// onlyReader hides WriterTo/ReaderFrom so CopyBuffer uses the given buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
