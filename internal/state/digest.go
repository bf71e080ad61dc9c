package state

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
)

// Digest is the stat digest of a vault listing: SHA-256 over one record per
// entry in path order, "path NUL d NUL" for a folder and "path NUL f size :
// stat-key NUL" for a regular file. No path and no stat key holds a NUL, so
// equal digests mean equal listings: the same paths, kinds, sizes and stat keys.
// Save records it over a state's files; an up-to-date check computes it over a
// walk of the vault and compares one value instead of every file.
type Digest struct {
	h   hash.Hash
	buf []byte
}

// digestDomain starts every digest: another definition takes another name.
const digestDomain = "git-vsync stat digest v1\x00"

// NewDigest starts a digest.
func NewDigest() *Digest {
	d := &Digest{h: sha256.New(), buf: make([]byte, 0, 32<<10)}
	d.buf = append(d.buf, digestDomain...)
	return d
}

// Add records the next entry of the listing (paths in increasing byte order):
// a folder, or a regular file of size bytes with its stat key.
func (d *Digest) Add(path string, dir bool, size int64, key []byte) {
	if len(d.buf) > 30<<10 {
		d.h.Write(d.buf)
		d.buf = d.buf[:0]
	}
	d.buf = append(d.buf, path...)
	if dir {
		d.buf = append(d.buf, 0, 'd', 0)
		return
	}
	d.buf = append(d.buf, 0, 'f')
	d.buf = strconv.AppendInt(d.buf, size, 10)
	d.buf = append(d.buf, ':')
	d.buf = append(d.buf, key...)
	d.buf = append(d.buf, 0)
}

// Sum is the digest of the entries added, in hex.
func (d *Digest) Sum() string {
	d.h.Write(d.buf)
	d.buf = d.buf[:0]
	return hex.EncodeToString(d.h.Sum(nil))
}

// statDigest is the Digest of files, "" when it could never match a walk that
// the up-to-date check would take as is: a regular file without a stat key or
// hash (it is hashed at every check), or files not in strictly increasing path
// order (the order of a walk).
func statDigest(files []File) string {
	d := NewDigest()
	for i, f := range files {
		if i > 0 && files[i-1].Path >= f.Path {
			return ""
		}
		if !f.Dir && (f.Stat == "" || f.SHA256 == "") {
			return ""
		}
		d.Add(f.Path, f.Dir, f.Size, []byte(f.Stat))
	}
	return d.Sum()
}
