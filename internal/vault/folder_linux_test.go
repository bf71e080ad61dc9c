package vault

import (
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// dirent64 is one struct linux_dirent64 record, padded to 8 bytes as the
// kernel pads them.
func dirent64(ino uint64, typ byte, name string) []byte {
	n := (direntName + len(name) + 1 + 7) &^ 7
	b := make([]byte, n)
	binary.NativeEndian.PutUint64(b, ino)
	binary.NativeEndian.PutUint16(b[direntReclen:], uint16(n))
	b[direntType] = typ
	copy(b[direntName:], name)
	return b
}

// TestParseDirents: the getdents records of a folder become its entries with
// their paths and types; ".", ".." and deleted records (inode 0) are left out;
// an entry whose type the file system does not give (DT_UNKNOWN) is lstat'ed;
// a record whose length does not fit is an error, not a crash.
func TestParseDirents(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o600)
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	os.Symlink("plain", filepath.Join(dir, "link"))
	f, err := openFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	var buf []byte
	for _, r := range [][]byte{
		dirent64(1, unix.DT_DIR, "."), dirent64(2, unix.DT_DIR, ".."),
		dirent64(3, unix.DT_REG, "a"), dirent64(0, unix.DT_REG, "deleted"),
		dirent64(4, unix.DT_DIR, "d"), dirent64(5, unix.DT_FIFO, "p"),
		dirent64(6, unix.DT_UNKNOWN, "plain"), dirent64(7, unix.DT_UNKNOWN, "sub"), dirent64(8, unix.DT_UNKNOWN, "link"),
	} {
		buf = append(buf, r...)
	}
	var sc scratch
	if err := sc.parse(f, "v", dir, buf); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range sc.ents {
		got = append(got, string(sc.paths[e.start:e.end])+"="+e.typ.String()+"@"+string(sc.paths[e.name:e.end]))
	}
	want := []string{"v/a=----------@a", "v/d=d---------@d", "v/p=p---------@p", "v/plain=----------@plain", "v/sub=d---------@sub", "v/link=L---------@link"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entries %q\nwant %q", got, want)
	}
	sc = scratch{}
	if err := sc.parse(f, "", dir, dirent64(9, unix.DT_UNKNOWN, "gone")); !errorsIsNotExist(err) {
		t.Fatalf("an unknown entry gone before its lstat: %v", err)
	}
	bad := dirent64(3, unix.DT_REG, "a")
	binary.NativeEndian.PutUint16(bad[direntReclen:], 200)
	if err := sc.parse(f, "", dir, bad); err == nil {
		t.Fatal("a record longer than the buffer was read")
	}
	if err := sc.parse(f, "", dir, dirent64(3, unix.DT_UNKNOWN, "../plain")); err == nil {
		t.Fatal("a name with a slash was taken")
	}
}

func errorsIsNotExist(err error) bool {
	pe, ok := err.(*fs.PathError)
	return ok && pe.Err == unix.ENOENT
}

// FuzzParseDirents: whatever getdents buffer it is given, parse ends (an error
// or entries) without reading past the buffer, and every path it makes is the
// folder's path, "/" and a name of no NUL and no "/" from the buffer.
func FuzzParseDirents(f *testing.F) {
	f.Add(append(dirent64(3, unix.DT_REG, "a"), dirent64(4, unix.DT_DIR, "dd")...))
	f.Add(dirent64(3, unix.DT_UNKNOWN, "x"))
	f.Add([]byte{1, 2, 3})
	dir := f.TempDir()
	fd, err := openFolder(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var sc scratch
		if err := sc.parse(fd, "r", dir, b); err != nil {
			return
		}
		for _, e := range sc.ents {
			p := string(sc.paths[e.start:e.end])
			name := string(sc.paths[e.name:e.end])
			if p != "r/"+name || name == "" || name == "." || name == ".." {
				t.Fatalf("entry %q (name %q)", p, name)
			}
			for _, c := range []byte(name) {
				if c == 0 || c == '/' {
					t.Fatalf("a name with a NUL or a slash: %q", name)
				}
			}
		}
	})
}
