package state

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
)

// Digest is the stat digest of a vault listing: SHA-256 over one record per
// entry in path order, "path NUL d" for a folder and "path NUL f" then the
// size and the count and fields of the stat key as big-endian 64-bit numbers
// for a regular file. No path holds a NUL, so equal digests mean equal
// listings: the same paths, kinds, sizes and stat keys. Save records it over a
// state's files; an up-to-date check computes it over a walk of the vault and
// compares one value instead of every file. The stat key goes in as numbers
// (its text "size:mtime:ctime:dev:ino" parsed, see KeyFields) so that the walk
// need not format 100,000 of them.
type Digest struct {
	h   hash.Hash
	buf []byte
}

// digestDomain starts every digest: another definition takes another name.
const digestDomain = "git-vsync stat digest v2\x00"

// maxKeyFields bounds the fields of a stat key (the vault's have 5).
const maxKeyFields = 8

// NewDigest starts a digest.
func NewDigest() *Digest {
	d := &Digest{h: sha256.New(), buf: make([]byte, 0, 32<<10)}
	d.buf = append(d.buf, digestDomain...)
	return d
}

// Add records the next entry of the listing (paths in increasing byte order):
// a folder, or a regular file of size bytes with the fields of its stat key
// (at most 8).
func (d *Digest) Add(path string, dir bool, size int64, key []uint64) {
	if len(d.buf) > 30<<10 {
		d.h.Write(d.buf)
		d.buf = d.buf[:0]
	}
	d.buf = append(d.buf, path...)
	if dir {
		d.buf = append(d.buf, 0, 'd')
		return
	}
	d.buf = append(d.buf, 0, 'f')
	d.buf = binary.BigEndian.AppendUint64(d.buf, uint64(size))
	d.buf = append(d.buf, byte(len(key)))
	for _, v := range key {
		d.buf = binary.BigEndian.AppendUint64(d.buf, v)
	}
}

// Sum is the digest of the entries added, in hex.
func (d *Digest) Sum() string {
	d.h.Write(d.buf)
	d.buf = d.buf[:0]
	return hex.EncodeToString(d.h.Sum(nil))
}

// KeyFields parses a stat key into its fields: ":"-separated integers written
// as strconv writes them, at most 8, each as the uint64 of its int64 (a
// negative one as its two's complement). ok is false for anything else, and for
// a field of 2^63 or more written unsigned (it would read as a negative one),
// which then has no digest: two keys have the same fields exactly when they
// are the same text.
func KeyFields(key string, out []uint64) ([]uint64, bool) {
	out = out[:0]
	for key != "" || len(out) == 0 {
		field, rest, more := strings.Cut(key, ":")
		if len(out) == maxKeyFields {
			return nil, false
		}
		var v uint64
		if strings.HasPrefix(field, "-") {
			n, err := strconv.ParseInt(field, 10, 64)
			if err != nil || n >= 0 || strconv.FormatInt(n, 10) != field {
				return nil, false
			}
			v = uint64(n)
		} else {
			n, err := strconv.ParseUint(field, 10, 63)
			if err != nil || strconv.FormatUint(n, 10) != field {
				return nil, false
			}
			v = n
		}
		out = append(out, v)
		if !more {
			break
		}
		if rest == "" {
			return nil, false // a trailing ":"
		}
		key = rest
	}
	return out, true
}

// statDigest is the Digest of files, "" when it could never match a walk that
// the up-to-date check would take as is: a regular file without a stat key or
// hash (it is hashed at every check), a stat key not in the form KeyFields
// reads, or files not in strictly increasing path order (the order of a walk).
func statDigest(files []File) string {
	d := NewDigest()
	var fields [maxKeyFields]uint64
	for i, f := range files {
		if i > 0 && files[i-1].Path >= f.Path {
			return ""
		}
		if f.Dir {
			d.Add(f.Path, true, 0, nil)
			continue
		}
		key, ok := KeyFields(f.Stat, fields[:0])
		if !ok || f.SHA256 == "" {
			return ""
		}
		d.Add(f.Path, false, f.Size, key)
	}
	return d.Sum()
}
