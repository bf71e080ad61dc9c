package bundle

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// zent describes one entry of a hand-built archive. With raw set, the header is
// written as is (CreateRaw) followed by rawData, so sizes, CRC, flags and method
// can lie.
type zent struct {
	name    string
	body    string
	dir     bool
	mode    fs.FileMode // when non-zero, SetMode(mode)
	raw     *zip.FileHeader
	rawData []byte
}

func buildZip(t testing.TB, ents []zent) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range ents {
		if e.raw != nil {
			w, err := zw.CreateRaw(e.raw)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(e.rawData)
			continue
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch {
		case e.mode != 0:
			h.SetMode(e.mode)
		case e.dir:
			h.SetMode(fs.ModeDir | 0o755)
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(e.name, "/") {
			w.Write([]byte(e.body))
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func deflate(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(data)
	fw.Close()
	return b.Bytes()
}

// rawFile is a file entry whose header says what the caller wants.
func rawFile(name string, method uint16, flags uint16, data []byte, crc uint32, csize, usize uint64) zent {
	h := &zip.FileHeader{Name: name, Method: method, Flags: flags, CRC32: crc,
		CompressedSize64: csize, UncompressedSize64: usize}
	h.SetMode(0o600)
	return zent{raw: h, rawData: data}
}

type hostileCase struct {
	name      string
	ents      []zent
	data      []byte // instead of ents
	lim       Limits
	reason    Reason
	entry     string // the entry the error must name ("" = the archive)
	atUnpack  bool   // only detectable while decompressing (List accepts it)
	onWindows bool   // with the Windows name rules switched on
}

func hostileCases(t testing.TB) []hostileCase {
	ok := zent{name: "infra/vault/dev/ok", body: "fine"}
	root := zent{name: "infra/vault/dev/", dir: true}
	zeros := make([]byte, 1<<20)
	bomb := deflate(t, zeros)
	ten := []byte("0123456789")

	symlinkNTFS := &zip.FileHeader{Name: "v/link", Method: zip.Store,
		CreatorVersion: 10 << 8, ExternalAttrs: (sIFLNK | 0o777) << 16,
		CRC32: crc32.ChecksumIEEE([]byte("/etc")), CompressedSize64: 4, UncompressedSize64: 4}
	dirData := &zip.FileHeader{Name: "v/d/", Method: zip.Store,
		CRC32: crc32.ChecksumIEEE([]byte("abc")), CompressedSize64: 3, UncompressedSize64: 3}
	dirData.SetMode(fs.ModeDir | 0o700)

	return []hostileCase{
		{name: "absolute", ents: []zent{root, {name: "/etc/passwd", body: "x"}}, reason: ReasonAbsolute, entry: "/etc/passwd"},
		{name: "dotdot", ents: []zent{root, ok, {name: "infra/vault/dev/../../../evil", body: "x"}}, reason: ReasonDotDot, entry: "infra/vault/dev/../../../evil"},
		{name: "dotdot alone", ents: []zent{{name: "..", body: "x"}}, reason: ReasonDotDot, entry: ".."},
		{name: "dotdot folder", ents: []zent{{name: "../", dir: true}}, reason: ReasonDotDot, entry: "../"},
		{name: "backslash", ents: []zent{root, {name: `infra\vault\dev\x`, body: "x"}}, reason: ReasonBackslash, entry: `infra\vault\dev\x`},
		{name: "backslash dotdot", ents: []zent{{name: `..\..\evil`, body: "x"}}, reason: ReasonBackslash, entry: `..\..\evil`},
		{name: "drive", ents: []zent{{name: "C:/Windows/x", body: "x"}}, reason: ReasonDrive, entry: "C:/Windows/x"},
		{name: "drive relative", ents: []zent{{name: "c:x", body: "x"}}, reason: ReasonDrive, entry: "c:x"},
		{name: "empty name", ents: []zent{ok, {name: "", body: "x"}}, reason: ReasonEmptyName, entry: ""},
		{name: "slash only", ents: []zent{{name: "/", dir: true}}, reason: ReasonEmptyName, entry: "/"},
		{name: "nul", ents: []zent{{name: "v/a\x00b", body: "x"}}, reason: ReasonControl, entry: "v/a\x00b"},
		{name: "newline", ents: []zent{{name: "v/a\nb", body: "x"}}, reason: ReasonControl, entry: "v/a\nb"},
		{name: "invalid utf8", ents: []zent{{name: "v/a\xffb", body: "x"}}, reason: ReasonEncoding, entry: "v/a\xffb"},
		{name: "dot segment", ents: []zent{{name: "v/./b", body: "x"}}, reason: ReasonBadSegment, entry: "v/./b"},
		{name: "empty segment", ents: []zent{{name: "v//b", body: "x"}}, reason: ReasonBadSegment, entry: "v//b"},
		{name: "too long", ents: []zent{{name: strings.Repeat("a/", 3000) + "x", body: "x"}}, reason: ReasonTooLong, entry: strings.Repeat("a/", 3000) + "x"},
		{name: "symlink", ents: []zent{root, ok, {name: "infra/vault/dev/link", mode: fs.ModeSymlink | 0o777, body: "/etc/passwd"}}, reason: ReasonSymlink, entry: "infra/vault/dev/link"},
		{name: "symlink folder", ents: []zent{{raw: &zip.FileHeader{Name: "v/link/", CreatorVersion: 3 << 8, ExternalAttrs: (sIFLNK | 0o777) << 16}}}, reason: ReasonSymlink, entry: "v/link/"},
		{name: "symlink other creator", ents: []zent{{raw: symlinkNTFS, rawData: []byte("/etc")}}, reason: ReasonSymlink, entry: "v/link"},
		{name: "block device", ents: []zent{{name: "v/sda", mode: fs.ModeDevice | 0o600}}, reason: ReasonSpecial, entry: "v/sda"},
		{name: "char device", ents: []zent{{name: "v/tty", mode: fs.ModeDevice | fs.ModeCharDevice | 0o600}}, reason: ReasonSpecial, entry: "v/tty"},
		{name: "fifo", ents: []zent{{name: "v/fifo", mode: fs.ModeNamedPipe | 0o600}}, reason: ReasonSpecial, entry: "v/fifo"},
		{name: "socket", ents: []zent{{name: "v/sock", mode: fs.ModeSocket | 0o600}}, reason: ReasonSpecial, entry: "v/sock"},
		{name: "folder mode without slash", ents: []zent{{name: "v/x", mode: fs.ModeDir | 0o700}}, reason: ReasonDirMismatch, entry: "v/x"},
		{name: "folder with data", ents: []zent{{raw: dirData, rawData: []byte("abc")}}, reason: ReasonDirData, entry: "v/d/"},
		{name: "encrypted", ents: []zent{rawFile("v/enc", zip.Store, 1, ten, crc32.ChecksumIEEE(ten), 10, 10)}, reason: ReasonEncrypted, entry: "v/enc"},
		{name: "method", ents: []zent{rawFile("v/bz", 12, 0, ten, crc32.ChecksumIEEE(ten), 10, 10)}, reason: ReasonMethod, entry: "v/bz"},
		{name: "duplicate", ents: []zent{root, {name: "infra/vault/dev/a", body: "1"}, {name: "infra/vault/dev/a", body: "2"}}, reason: ReasonDuplicate, entry: "infra/vault/dev/a"},
		{name: "duplicate folder", ents: []zent{{name: "v/", dir: true}, {name: "v/", dir: true}}, reason: ReasonDuplicate, entry: "v/"},
		{name: "file and folder", ents: []zent{{name: "v/a", body: "1"}, {name: "v/a/", dir: true}}, reason: ReasonDuplicate, entry: "v/a/"},
		{name: "case duplicate", ents: []zent{{name: "v/Key.pem", body: "1"}, {name: "v/key.pem", body: "2"}}, reason: ReasonCaseDuplicate, entry: "v/key.pem"},
		{name: "case duplicate folder", ents: []zent{{name: "v/TLS/", dir: true}, {name: "v/tls/", dir: true}}, reason: ReasonCaseDuplicate, entry: "v/tls/"},
		{name: "below a file", ents: []zent{{name: "v/a", body: "1"}, {name: "v/a/b", body: "2"}}, reason: ReasonConflict, entry: "v/a"},
		{name: "below a file other case", ents: []zent{{name: "v/A", body: "1"}, {name: "v/a/b", body: "2"}}, reason: ReasonConflict, entry: "v/A"},
		{name: "too many", lim: Limits{MaxEntries: 3}, ents: []zent{root, ok, {name: "infra/vault/dev/b", body: "b"}, {name: "infra/vault/dev/c", body: "c"}}, reason: ReasonTooMany},
		{name: "too big", lim: Limits{MaxTotalBytes: 50}, ents: []zent{root, {name: "infra/vault/dev/big", body: strings.Repeat("x", 51)}}, reason: ReasonTooBig, entry: "infra/vault/dev/big"},
		{name: "too big in total", lim: Limits{MaxTotalBytes: 50}, ents: []zent{root, {name: "infra/vault/dev/a", body: strings.Repeat("x", 30)}, {name: "infra/vault/dev/b", body: strings.Repeat("x", 30)}}, reason: ReasonTooBig, entry: "infra/vault/dev/b"},
		{name: "huge declared size", ents: []zent{rawFile("v/huge", zip.Deflate, 0, bomb, crc32.ChecksumIEEE(zeros), uint64(len(bomb)), 1<<62)}, reason: ReasonTooBig, entry: "v/huge"},
		{name: "bomb lying about its size", lim: Limits{MaxTotalBytes: 1000}, ents: []zent{root, ok,
			rawFile("infra/vault/dev/zbomb", zip.Deflate, 0, bomb, crc32.ChecksumIEEE(zeros), uint64(len(bomb)), 10)},
			reason: ReasonSizeMismatch, entry: "infra/vault/dev/zbomb", atUnpack: true},
		{name: "stored lying about its size", ents: []zent{ok,
			rawFile("infra/vault/dev/s", zip.Store, 0, ten, crc32.ChecksumIEEE(ten), 10, 4)},
			reason: ReasonSizeMismatch, entry: "infra/vault/dev/s", atUnpack: true},
		{name: "short content", ents: []zent{ok, rawFile("infra/vault/dev/short", zip.Store, 0, ten, crc32.ChecksumIEEE(ten), 10, 20)},
			reason: ReasonCorrupt, entry: "infra/vault/dev/short", atUnpack: true},
		{name: "bad crc", ents: []zent{ok, rawFile("infra/vault/dev/crc", zip.Store, 0, ten, 12345, 10, 10)},
			reason: ReasonCorrupt, entry: "infra/vault/dev/crc", atUnpack: true},
		{name: "bad deflate", ents: []zent{ok, rawFile("infra/vault/dev/df", zip.Deflate, 0, []byte{0xff, 0xff, 0xff, 0xff}, 1, 4, 10)},
			reason: ReasonCorrupt, entry: "infra/vault/dev/df", atUnpack: true},
		{name: "not a zip", data: []byte("RQEM0001 this is not a zip archive"), reason: ReasonCorrupt},
		{name: "truncated zip", data: buildZip(t, []zent{root, ok})[:60], reason: ReasonCorrupt},
		{name: "dot git hooks", ents: []zent{root, {name: "infra/vault/dev/.git/hooks/post-checkout", body: "#!/bin/sh"}}, reason: ReasonGitName, entry: "infra/vault/dev/.git/hooks/post-checkout"},
		{name: "dot GIT config", ents: []zent{{name: "v/.GIT/config", body: "[core]\n\tfsmonitor = evil"}}, reason: ReasonGitName, entry: "v/.GIT/config"},
		{name: "dot Git folder", ents: []zent{{name: "v/.Git/", dir: true}}, reason: ReasonGitName, entry: "v/.Git/"},
		{name: "dot git ntfs stream", ents: []zent{{name: "v/.git::$INDEX_ALLOCATION/config", body: "x"}}, reason: ReasonGitName, entry: "v/.git::$INDEX_ALLOCATION/config"},
		{name: "dot git trailing dot", ents: []zent{{name: "v/.git./config", body: "x"}}, reason: ReasonGitName, entry: "v/.git./config"},
		{name: "dot git hfs ignorable", ents: []zent{{name: "v/.g\u200cit/config", body: "x"}}, reason: ReasonGitName, entry: "v/.g\u200cit/config"},
		{name: "git short name", ents: []zent{{name: "v/GIT~1/config", body: "x"}}, reason: ReasonGitName, entry: "v/GIT~1/config"},
		{name: "gitmodules", ents: []zent{{name: "v/.gitmodules", body: "x"}}, reason: ReasonGitName, entry: "v/.gitmodules"},
		{name: "gitattributes", ents: []zent{{name: "v/sub/.GitAttributes", body: "x"}}, reason: ReasonGitName, entry: "v/sub/.GitAttributes"},
		{name: "gitignore", ents: []zent{{name: "v/.gitignore", body: "x"}}, reason: ReasonGitName, entry: "v/.gitignore"},
		{name: "windows colon", onWindows: true, ents: []zent{{name: "v/a:stream", body: "x"}}, reason: ReasonWindows, entry: "v/a:stream"},
		{name: "windows device name", onWindows: true, ents: []zent{{name: "v/con.txt", body: "x"}}, reason: ReasonWindows, entry: "v/con.txt"},
		{name: "windows COM1", onWindows: true, ents: []zent{{name: "v/COM1/", dir: true}}, reason: ReasonWindows, entry: "v/COM1/"},
		{name: "windows trailing dot", onWindows: true, ents: []zent{{name: "v/x.", body: "x"}}, reason: ReasonWindows, entry: "v/x."},
		{name: "windows trailing space", onWindows: true, ents: []zent{{name: "v/x /", dir: true}}, reason: ReasonWindows, entry: "v/x /"},
	}
}

func TestExtractRefusesHostile(t *testing.T) {
	for _, c := range hostileCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.onWindows {
				old := checkWindowsNames
				checkWindowsNames = true
				defer func() { checkWindowsNames = old }()
			}
			data := c.data
			if data == nil {
				data = buildZip(t, c.ents)
			}
			for _, existing := range []bool{false, true} {
				tmp := t.TempDir()
				dest := filepath.Join(tmp, "stage")
				if existing {
					if err := os.Mkdir(dest, 0o700); err != nil {
						t.Fatal(err)
					}
				}
				os.WriteFile(filepath.Join(tmp, "neighbour"), []byte("keep"), 0o600)
				before := treeListing(t, tmp)
				files, err := Extract(data, dest, c.lim)
				checkHostile(t, err, c)
				if files != nil {
					t.Errorf("files returned with an error: %v", files)
				}
				if after := treeListing(t, tmp); !reflect.DeepEqual(before, after) {
					t.Fatalf("refused Extract changed the disk:\nbefore %q\nafter  %q", before, after)
				}
			}
			// HashAt refuses everything Extract refuses, without writing.
			_, herr := HashAt(bytes.NewReader(data), int64(len(data)), c.lim)
			checkHostile(t, herr, c)
			_, err := List(data, c.lim)
			if c.atUnpack {
				if err != nil {
					t.Fatalf("List refused what only unpacking can tell: %v", err)
				}
			} else {
				checkHostile(t, err, c)
			}
		})
	}
}

func checkHostile(t *testing.T, err error, c hostileCase) {
	t.Helper()
	var he *HostileError
	if !errors.As(err, &he) {
		t.Fatalf("want a *HostileError (%s), got %v", c.reason, err)
	}
	if he.Reason != c.reason || he.Entry != c.entry {
		t.Fatalf("got reason %q entry %q, want %q entry %q (%v)", he.Reason, he.Entry, c.reason, c.entry, err)
	}
	var fe *fail.Error
	if !errors.As(err, &fe) || fe.Code != fail.Integrity {
		t.Fatalf("want fail code Integrity, got %v", err)
	}
	if !strings.Contains(fe.What, string(c.reason)) {
		t.Errorf("message %q does not give the reason", fe.What)
	}
	if c.entry != "" && !strings.Contains(fe.What, quote(c.entry)) {
		t.Errorf("message %q does not name the entry", fe.What)
	}
	if strings.ContainsAny(fe.What, "\x00\n\r") || !strings.Contains(fe.Hint, "nothing was unpacked") {
		t.Errorf("message or hint not sanitised: %q / %q", fe.What, fe.Hint)
	}
}
