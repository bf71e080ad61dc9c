package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, map[string]string{
		".env.dev":         "A=1\n",
		"tls/server.crt":   "cert",
		"tls/empty/":       "/",
		"a-b":              "x",
		"a/z":              "",
		"ünïcode/ключ.txt": "k",
	})
	got, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: ".env.dev", Size: 4, SHA256: sum("A=1\n")},
		{Path: "a", Dir: true},
		{Path: "a-b", Size: 1, SHA256: sum("x")},
		{Path: "a/z", Size: 0, SHA256: sum("")},
		{Path: "tls", Dir: true},
		{Path: "tls/empty", Dir: true},
		{Path: "tls/server.crt", Size: 4, SHA256: sum("cert")},
		{Path: "ünïcode", Dir: true},
		{Path: "ünïcode/ключ.txt", Size: 1, SHA256: sum("k")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Scan:\n got %+v\nwant %+v", got, want)
	}
}

func TestScanMissing(t *testing.T) {
	_, err := Scan(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want ErrNotExist, got %v", err)
	}
}

func wantRefused(t *testing.T, err error, name string) {
	t.Helper()
	var fe *fail.Error
	if !errors.As(err, &fe) || fe.Code != fail.Refused {
		t.Fatalf("want a Refused fail.Error, got %v", err)
	}
	if name != "" && !strings.Contains(fe.What, name) {
		t.Fatalf("message %q does not name %q", fe.What, name)
	}
}

func TestScanRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, map[string]string{"sub/real": "x"})
	if err := os.Symlink("real", filepath.Join(dir, "sub", "link")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	_, err := Scan(dir)
	wantRefused(t, err, `"sub/link"`)
	_, err = Open(dir, "sub/link")
	wantRefused(t, err, `"sub/link"`)
}

func TestScanRefusesSymlinkedVault(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, map[string]string{"real/x": "x"})
	link := filepath.Join(dir, "vault")
	if err := os.Symlink("real", link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	_, err := Scan(link)
	wantRefused(t, err, "")
	err = Replace(link, func(string) error { return nil })
	wantRefused(t, err, "")
}

func TestDiff(t *testing.T) {
	old := []File{
		{Path: ".env", Size: 1, SHA256: sum("a")},
		{Path: "gone", Dir: true},
		{Path: "gone/f", Size: 1, SHA256: sum("f")},
		{Path: "keep", Size: 1, SHA256: sum("k")},
		{Path: "t", Size: 1, SHA256: sum("t")},
		{Path: "was-empty", Dir: true},
	}
	cur := []File{
		{Path: ".env", Size: 1, SHA256: sum("b")},
		{Path: "keep", Size: 1, SHA256: sum("k")},
		{Path: "new", Dir: true},
		{Path: "new/f", Size: 1, SHA256: sum("f")},
		{Path: "newempty", Dir: true},
		{Path: "t", Dir: true},
	}
	a, c, r := Diff(old, cur)
	if !reflect.DeepEqual(a, []string{"new/f", "newempty/"}) {
		t.Errorf("added %q", a)
	}
	if !reflect.DeepEqual(c, []string{".env", "t"}) {
		t.Errorf("changed %q", c)
	}
	if !reflect.DeepEqual(r, []string{"gone/f", "was-empty/"}) {
		t.Errorf("removed %q", r)
	}
	a, c, r = Diff(cur, cur)
	if a != nil || c != nil || r != nil {
		t.Errorf("self diff: %q %q %q", a, c, r)
	}
}

// TestDiffSortedAgreesWithMaps: the one-pass Diff of listings in path order
// gives what the map-based one gives, on random listings.
func TestDiffSortedAgreesWithMaps(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "a/b", "a/c", "a-b", "b", "b/x", "b/x/y", "c", "c.d", "z"}
	pick := func() []File {
		var fs []File
		for _, n := range names {
			switch rnd.IntN(4) {
			case 0:
			case 1:
				fs = append(fs, File{Path: n, Dir: true})
			default:
				fs = append(fs, File{Path: n, Size: int64(rnd.IntN(2)), SHA256: sum(string(rune('a' + rnd.IntN(2))))})
			}
		}
		slices.SortFunc(fs, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
		return fs
	}
	for range 2000 {
		old, cur := pick(), pick()
		a1, c1, r1 := diffSorted(old, cur)
		a2, c2, r2 := diffMaps(old, cur)
		if !reflect.DeepEqual(a1, a2) || !reflect.DeepEqual(c1, c2) || !reflect.DeepEqual(r1, r2) {
			t.Fatalf("old %v cur %v: sorted %q %q %q, maps %q %q %q", old, cur, a1, c1, r1, a2, c2, r2)
		}
	}
}
