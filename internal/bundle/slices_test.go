package bundle

import (
	"bytes"
	"io"
	"time"

	"github.com/git-vsync/git-vsync/internal/vault"
)

// The tests hold archives in memory: ListAt and ExtractAt of a byte slice; and
// ExtractAt is ExtractDatedAt without dates.

// List validates the archive like Extract does and returns its entries below the
// root, sorted by Path, without unpacking anything. Sizes are as declared.
func List(data []byte, lim Limits) ([]Entry, error) {
	return ListAt(bytes.NewReader(data), int64(len(data)), lim)
}

// Extract validates the archive data (see the package comment), then unpacks it below
// its root into destDir, which must be missing (it is created 0700; its parent must
// exist) or an empty folder. Files are written 0600, folders 0700; nothing is
// flushed to disk: the caller does that for the whole tree at once (vault.Replace). Sizes are enforced while decompressing too, so a header that lies about them
// cannot get past the limits. On any error destDir is left as it was: what was
// written is removed again (and destDir too if Extract created it).
//
// It returns every file and folder written, relative to destDir, as vault.Scan would
// list them (folders implied by deeper entries included).
func Extract(data []byte, destDir string, lim Limits) ([]vault.File, error) {
	return ExtractAt(bytes.NewReader(data), int64(len(data)), destDir, lim)
}

// ExtractAt is Extract of the size bytes of an archive read through r, which must
// not change while it is read.
func ExtractAt(r io.ReaderAt, size int64, destDir string, lim Limits) ([]vault.File, error) {
	return ExtractDatedAt(r, size, destDir, lim, time.Time{}, nil)
}
