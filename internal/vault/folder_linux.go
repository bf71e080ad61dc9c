package vault

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// folder is an open folder of the vault: a bare descriptor. An os.File costs
// five more system calls a folder (its registration with the poller, the
// switches of blocking mode for Fd) and an allocation per entry listed.
type folder int

// openFolder opens a folder of the vault for listing, refusing a symbolic link
// that replaced it since its parent was listed.
func openFolder(abs string) (folder, error) {
	for {
		fd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			return folder(fd), nil
		}
		if err != unix.EINTR {
			return -1, &fs.PathError{Op: "open", Path: abs, Err: err}
		}
	}
}

func (f folder) close() { unix.Close(int(f)) }

// scratch is what list reuses from folder to folder: the getdents buffer, the
// paths being made and where each is.
type scratch struct {
	buf   []byte
	paths []byte
	ents  []direntAt
}

// direntAt is a dirent whose path is paths[start:end].
type direntAt struct {
	start, name, end int
	typ              fs.FileMode
}

// list returns the entries of the folder at abs, in no particular order; rel
// is the folder's path below the vault. The paths of a folder's entries are one
// allocation, not one each.
func (f folder) list(rel, abs string, sc *scratch) ([]dirent, error) {
	if sc.buf == nil {
		sc.buf = make([]byte, 16<<10)
	}
	sc.paths, sc.ents = sc.paths[:0], sc.ents[:0]
	for {
		n, err := unix.Getdents(int(f), sc.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: abs, Err: err}
		}
		if n <= 0 {
			break
		}
		if err := sc.parse(f, rel, abs, sc.buf[:n]); err != nil {
			return nil, err
		}
	}
	all := string(sc.paths)
	out := make([]dirent, len(sc.ents))
	for i, e := range sc.ents {
		out[i] = dirent{path: all[e.start:e.end], name: e.name - e.start, typ: e.typ}
	}
	return out, nil
}

// The fields of a struct linux_dirent64 (getdents64(2)).
const (
	direntReclen = 16 // uint16
	direntType   = 18 // uint8
	direntName   = 19 // NUL-terminated
)

// parse adds the entries of one getdents buffer.
func (sc *scratch) parse(f folder, rel, abs string, b []byte) error {
	for len(b) >= direntName {
		reclen := int(binary.NativeEndian.Uint16(b[direntReclen:]))
		if reclen < direntName || reclen > len(b) {
			return &fs.PathError{Op: "readdirent", Path: abs, Err: unix.EIO}
		}
		rec := b[:reclen]
		b = b[reclen:]
		ino := binary.NativeEndian.Uint64(rec)
		name := rec[direntName:]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if ino == 0 || string(name) == "." || string(name) == ".." || len(name) == 0 {
			continue
		}
		if bytes.IndexByte(name, '/') >= 0 { // never from the kernel
			return &fs.PathError{Op: "readdirent", Path: abs, Err: unix.EIO}
		}
		var typ fs.FileMode
		switch rec[direntType] {
		case unix.DT_REG:
		case unix.DT_DIR:
			typ = fs.ModeDir
		case unix.DT_LNK:
			typ = fs.ModeSymlink
		case unix.DT_FIFO:
			typ = fs.ModeNamedPipe
		case unix.DT_SOCK:
			typ = fs.ModeSocket
		case unix.DT_CHR, unix.DT_BLK:
			typ = fs.ModeDevice
		default: // DT_UNKNOWN: the file system does not say; lstat does
			var st unix.Stat_t
			if err := fstatat(int(f), string(name), &st); err != nil {
				return &fs.PathError{Op: "lstat", Path: filepath.Join(abs, string(name)), Err: err}
			}
			typ = typeOf(st.Mode)
		}
		e := direntAt{start: len(sc.paths), typ: typ}
		if rel != "" {
			sc.paths = append(append(sc.paths, rel...), '/')
		}
		e.name = len(sc.paths)
		sc.paths = append(sc.paths, name...)
		e.end = len(sc.paths)
		sc.ents = append(sc.ents, e)
	}
	return nil
}

// statAt lstats name in the open folder d into s, and returns its type (0 for a
// regular file).
func statAt(d *openDir, name string, s *stamp) (fs.FileMode, error) {
	var st unix.Stat_t
	if err := fstatat(int(d.f), name, &st); err != nil {
		return 0, err
	}
	*s = stampOf(&st)
	return typeOf(uint32(st.Mode)), nil
}

// fstatatCopy is fstatat through unix.Fstatat (which copies the name).
func fstatatCopy(fd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(fd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}
