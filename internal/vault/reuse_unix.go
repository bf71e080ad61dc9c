//go:build linux || darwin || freebsd || netbsd

package vault

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// NewReuse offers the files of the vault dir that known (the last sync of it)
// lists to a new vault being unpacked beside it. A recorded hash vouches for a
// file only while its stat key is the recorded one and it was modified before
// racy (the rules of ScanKnown); any other file is hashed when it is offered.
// now dates that hashing.
func NewReuse(dir string, known []Known, racy, now time.Time) *Reuse {
	return newReuse(dir, known, racy, now, os.Geteuid())
}

// Link makes dst a hard link of the file at p in the current vault when that
// file holds exactly the content whose SHA-256 is sum, and reports whether it
// did. It links only a regular file (not a symbolic link) with one name (a file
// the user also linked elsewhere must not come to share its inode with the new
// vault), owned by this user, of mode 0600 (the mode unpacked files get: the
// shared inode is not changed, so a swap that does not happen leaves the file as
// it was). The content is the recorded hash when the file's stat key is the
// recorded one and it was not modified close to that record; otherwise the file
// is read and hashed, and must not change meanwhile. After the link, dst must be
// that same file, unchanged, with two names. Anything else, or a failed link,
// returns false and the caller writes the file; a file system that refuses hard
// links (EPERM, EXDEV, ENOTSUP) is not asked again.
func (r *Reuse) Link(p string, sum []byte, dst string) bool {
	if r == nil || r.off.Load() {
		return false
	}
	k, ok := r.known[p]
	if !ok {
		return false
	}
	src := r.src(p)
	var st unix.Stat_t
	if lstat(src, &st) != nil || !r.linkable(&st, 1) {
		return false
	}
	s1 := stampOf(&st)
	var have []byte
	switch {
	case s1.vouches(k, r.racy):
		have, _ = hex.DecodeString(k.SHA256)
	case s1.mtime < r.fresh && s1.ctime < r.fresh:
		have = hashIfStill(src, s1)
	}
	if have == nil || !bytes.Equal(have, sum) {
		return false
	}
	if err := os.Link(src, dst); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			r.off.Store(true)
		}
		return false
	}
	// The same file, untouched since it was vouched for, now with exactly the
	// two names: the vault's and dst.
	s2, err := r.stampLinked(dst)
	if err != nil || s2.ino != s1.ino || s2.dev != s1.dev || s2.size != s1.size || s2.mtime != s1.mtime {
		os.Remove(dst)
		return false
	}
	r.record(p, s2)
	return true
}

// stampLinked is the stamp of dst, a file just linked, when it still is one
// Link may keep (with its two names).
func (r *Reuse) stampLinked(dst string) (stamp, error) {
	var st unix.Stat_t
	if err := lstat(dst, &st); err != nil {
		return stamp{}, err
	}
	if !r.linkable(&st, 2) {
		return stamp{}, errors.New("not the file linked")
	}
	return stampOf(&st), nil
}

// linkable: a regular file with nlink names, owned by this user, of mode 0600.
func (r *Reuse) linkable(st *unix.Stat_t, nlink uint64) bool {
	return uint32(st.Mode)&unix.S_IFMT == unix.S_IFREG && uint32(st.Mode)&0o7777 == 0o600 &&
		uint64(st.Nlink) == nlink && int(st.Uid) == r.uid
}

// hashIfStill is the SHA-256 of the file at path, read without following a
// link, when its stamp is s before and after the read; nil otherwise.
func hashIfStill(path string, s stamp) []byte {
	f, err := openNoFollow(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sum, got, ok := hashStill(f)
	if !ok || got != s {
		return nil
	}
	return sum
}

func lstat(path string, st *unix.Stat_t) error {
	for {
		err := unix.Lstat(path, st)
		if err != unix.EINTR {
			return err
		}
	}
}

// fstamp is the stamp of the open regular file f.
func fstamp(f *os.File) (stamp, bool) {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || uint32(st.Mode)&unix.S_IFMT != unix.S_IFREG {
		return stamp{}, false
	}
	return stampOf(&st), true
}

func stampOf(st *unix.Stat_t) stamp {
	return stamp{size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), dev: uint64(st.Dev), ino: uint64(st.Ino)}
}
