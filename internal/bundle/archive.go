package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"

	"github.com/git-vsync/git-vsync/internal/vault"
)

// Archive is a validated archive opened for reading one file at a time, without
// unpacking it: what diff and pull --merge read versions through.
type Archive struct {
	lim    Limits
	files  []vault.File
	byPath map[string]*planned
}

// OpenAt validates the size bytes of an archive read through r (which must not
// change while the Archive is used) like ExtractAt does, and reads every file
// once for its size and SHA-256.
func OpenAt(r io.ReaderAt, size int64, lim Limits) (*Archive, error) {
	lim = lim.effective()
	_, entries, err := plan(r, size, lim)
	if err != nil {
		return nil, err
	}
	a := &Archive{lim: lim, byPath: make(map[string]*planned, len(entries))}
	paths, kind := layout(entries)
	a.files = make([]vault.File, 0, len(paths))
	budget := lim.MaxTotalBytes
	buf := make([]byte, 64<<10)
	h := sha256.New()
	for _, p := range paths {
		e := kind[p]
		if e == nil || e.dir {
			a.files = append(a.files, vault.File{Path: p, Dir: true})
			continue
		}
		n, err := copyEntry(io.Discard, e.f, &budget, buf, h)
		if err != nil {
			return nil, err
		}
		a.byPath[p] = e
		a.files = append(a.files, vault.File{Path: p, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	return a, nil
}

// Files lists what ExtractAt would write (folders implied by deeper entries
// included), with the size and SHA-256 of every file.
func (a *Archive) Files() []vault.File { return a.files }

// WriteFileTo copies the content of the file at path (as Files names it) to w.
func (a *Archive) WriteFileTo(path string, w io.Writer) (int64, error) {
	e, ok := a.byPath[path]
	if !ok {
		return 0, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	budget := a.lim.MaxTotalBytes
	return copyEntry(w, e.f, &budget, make([]byte, 64<<10), sha256.New())
}
