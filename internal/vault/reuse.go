package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Reuse lets a new vault being unpacked beside the current one take over a file
// of the current vault by a hard link instead of writing it again, when the file
// holds exactly the content of the entry being unpacked (docs/design.md, "Files
// the new vault already holds"). The data is then written once (the backup of
// the replaced vault) instead of twice, and deleting the replaced vault frees no
// blocks for that file. Anything short of certainty writes the file as before.
//
// A nil *Reuse links nothing; NewReuse returns nil where the platform gives no
// stat keys or link counts (Windows, OpenBSD).
type Reuse struct {
	dir   string
	known map[string]Known
	racy  int64 // ns: a recorded hash vouches only for files modified before it
	fresh int64 // ns: a file hashed now must have been changed before it
	uid   int
	off   atomic.Bool // links fail on this file system: stop trying

	mu     sync.Mutex
	linked map[string]stamp // by path: the file's stamp right after the link
}

// Candidate reports whether the entry at path p (slash-separated, relative to
// the vault) of size bytes might be linked: the last sync recorded a file of that
// size there. It does no I/O, so it is cheap enough to ask for every entry.
func (r *Reuse) Candidate(p string, size int64) bool {
	if r == nil || r.off.Load() {
		return false
	}
	k, ok := r.known[p]
	return ok && k.Size == size
}

func (r *Reuse) record(p string, s stamp) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.linked == nil {
		r.linked = map[string]stamp{}
	}
	r.linked[p] = s
}

// newReuse is NewReuse once the platform said it can link.
func newReuse(dir string, known []Known, racy, now time.Time, uid int) *Reuse {
	r := &Reuse{dir: dir, known: make(map[string]Known, len(known)), racy: unixNano(racy),
		fresh: unixNano(now.Add(-RacyWindow)), uid: uid}
	for _, k := range known {
		if k.SHA256 != "" {
			r.known[k.Path] = k
		}
	}
	return r
}

// RacyWindow covers file systems with coarse time stamps: a file modified this
// close to the moment its stat was recorded (or, for Reuse, to the moment it is
// hashed to vouch for a link) is always hashed again, since a change within the
// same clock tick would not show in its stat.
const RacyWindow = 2 * time.Second

func (r *Reuse) src(p string) string { return filepath.Join(r.dir, filepath.FromSlash(p)) }

// Verified returns, for each path of files that was linked, the stat key a sync
// state may record for the file now at that path in the vault dir: its key when
// it holds the content files record (its SHA256) and nothing changed it while it
// was read, else "" (no key: it is hashed at the next check). The keys taken
// before the swap do not do: deleting the replaced vault's names of the linked
// files moved their change times, and a change by another program between the
// link and that delete would be hidden by it.
func (r *Reuse) Verified(dir string, files []File) map[string]string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	want := make(map[string]string, len(r.linked))
	for _, f := range files {
		if _, ok := r.linked[f.Path]; ok && !f.Dir {
			want[f.Path] = f.SHA256
		}
	}
	r.mu.Unlock()
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	keys := make([]string, len(paths))
	idx := make(map[string]int, len(paths))
	for i, p := range paths {
		idx[p] = i
	}
	_ = inParallel(paths, func(p string) error {
		keys[idx[p]] = verifiedKey(dir, p, want[p])
		return nil
	})
	out := make(map[string]string, len(paths))
	for i, p := range paths {
		out[p] = keys[i]
	}
	return out
}

// verifiedKey is the stat key of the vault file p when it hashes to sum and its
// stamp was the same before and after it was read; "" otherwise.
func verifiedKey(dir, p, sum string) string {
	f, err := Open(dir, p)
	if err != nil {
		return ""
	}
	defer f.Close()
	got, s, ok := hashStill(f)
	if !ok || hex.EncodeToString(got) != sum {
		return ""
	}
	return s.key()
}

// hashBufs are the read buffers of hashStill: a pull may hash thousands of
// linked files, and a buffer each would only feed the garbage collector.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// hashStill is the SHA-256 of the open regular file f and its stamp, which was
// the same before and after the read (ok false otherwise): a change made while
// it was read moves the change time.
func hashStill(f *os.File) (sum []byte, s stamp, ok bool) {
	before, ok := fstamp(f)
	if !ok {
		return nil, stamp{}, false
	}
	buf := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(buf)
	h := sha256.New()
	if _, err := io.CopyBuffer(h, onlyReader{f}, *buf); err != nil {
		return nil, stamp{}, false
	}
	if after, ok := fstamp(f); !ok || after != before {
		return nil, stamp{}, false
	}
	return h.Sum(nil), before, true
}
