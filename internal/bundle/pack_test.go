package bundle

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/testenv"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// The headers written whole (CreateRaw) read back like those zip.Writer makes
// itself: flags (UTF-8 included), versions, MS-DOS and extended times.
func TestRawHeaderMatchesCreateHeader(t *testing.T) {
	mod := time.Date(2024, 7, 8, 9, 10, 11, 0, time.UTC)
	data := []byte("some content")
	for _, name := range []string{"infra/vault/dev/a.txt", "infra/vault/dev/ünïcode/ключ.json", "infra/vault/dev/til~de"} {
		var viaHeader, viaRaw bytes.Buffer
		zw := zip.NewWriter(&viaHeader)
		h := header(name, false, mod)
		h.Method = zip.Store
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		zw.Close()
		zw = zip.NewWriter(&viaRaw)
		w, err = zw.CreateRaw(rawHeader(name, mod, zip.Store, crc32.ChecksumIEEE(data), len(data), len(data)))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		zw.Close()
		a, b := readOne(t, viaHeader.Bytes()), readOne(t, viaRaw.Bytes())
		if a.Flags&0x8 == 0 || b.Flags&0x8 != 0 {
			t.Fatalf("%s: data descriptor flags %#x (CreateHeader) %#x (raw)", name, a.Flags, b.Flags)
		}
		a.Flags &^= 0x8
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: headers differ\nCreateHeader %+v\nraw          %+v", name, a, b)
		}
	}
}

func readOne(t *testing.T, z []byte) zip.FileHeader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil || len(zr.File) != 1 {
		t.Fatalf("read back: %v", err)
	}
	return zr.File[0].FileHeader
}

// Only what shrinks is deflated; the rest is stored without a data descriptor,
// small files (prepared by the workers) and large ones (streamed) alike, and
// Go and Info-ZIP unzip read it back to the same files.
func TestCompressOnlyWhatShrinks(t *testing.T) {
	random := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return string(b)
	}
	text := func(n int) string {
		return strings.Repeat("API_KEY=0123456789abcdef\nDB_URL=postgres://user:pass@host/db\n", n/60+1)[:n]
	}
	tree := map[string]string{
		"random-small.bin": random(50 << 10),
		"random-large.bin": random(memFileMax + 300<<10),
		"text-small.env":   text(100 << 10),
		"text-large.env":   text(memFileMax + 300<<10),
		"empty":            "",
		"tiny":             "x",
	}
	want := map[string]uint16{
		"random-small.bin": zip.Store, "random-large.bin": zip.Store, "empty": zip.Store, "tiny": zip.Store,
		"text-small.env": zip.Deflate, "text-large.env": zip.Deflate,
	}
	src := newVault(t, tree)
	z := archive(t, src, "infra/vault/dev")
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		base := strings.TrimPrefix(f.Name, "infra/vault/dev/")
		m, ok := want[base]
		if !ok {
			continue
		}
		if f.Method != m {
			t.Errorf("%s: method %d, want %d", base, f.Method, m)
		}
		if f.Method == zip.Store && f.Flags&0x8 != 0 {
			t.Errorf("%s: stored entry with a data descriptor", base)
		}
		if f.Method == zip.Deflate && f.CompressedSize64*2 > f.UncompressedSize64 {
			t.Errorf("%s: deflated to %d of %d bytes", base, f.CompressedSize64, f.UncompressedSize64)
		}
		delete(want, base)
	}
	if len(want) != 0 {
		t.Fatalf("entries missing: %v", want)
	}
	dest := filepath.Join(t.TempDir(), "x")
	got, err := Extract(z, dest, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "extracted", got, scan(t, src))
	sameFiles(t, "on disk", scan(t, dest), scan(t, src))

	unzip := testenv.NeedCommand(t, "unzip")
	zipPath := filepath.Join(t.TempDir(), "b.zip")
	if err := os.WriteFile(zipPath, z, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(unzip, "-tq", zipPath).CombinedOutput(); err != nil || !strings.Contains(string(b), "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, b)
	}
	out := t.TempDir()
	if b, err := exec.Command(unzip, "-q", zipPath, "-d", out).CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("unzip: %v\n%s", err, b)
	}
	sameFiles(t, "unzip", scan(t, filepath.Join(out, "infra", "vault", "dev")), scan(t, src))
}

// A small vault is prepared by one worker, whose deflate tables (~1 MB of fresh
// memory, which a command living a fraction of a second pays for in page faults)
// are made for the first file sampled: three small files allocate one set of
// tables, empty files none; a larger vault still gets a worker per CPU.
func TestSmallVaultPacksWithOneDeflater(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	allocated := func(tree map[string]string) uint64 {
		src := newVault(t, tree)
		var b bytes.Buffer
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if err := Write(&b, src, "infra/vault/dev"); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	small := allocated(map[string]string{
		".env.dev": "API_TOKEN=1\nDB_URL=postgres://u@h/db\n", "tls/server.key": strings.Repeat("k", 3000), "tls/server.crt": strings.Repeat("c", 2000),
	})
	empty := allocated(map[string]string{"a": "", "b/c": ""})
	t.Logf("allocated: %d KiB (three small files), %d KiB (empty files)", small>>10, empty>>10)
	if small > 1600<<10 {
		t.Errorf("packing three small files allocated %d KiB; one deflater is ~1.2 MiB", small>>10)
	}
	if empty > 400<<10 {
		t.Errorf("packing empty files allocated %d KiB; they need no deflater", empty>>10)
	}
	files := []vault.File{{Path: "a", Size: smallVault / 2}, {Path: "b", Size: smallVault / 2}}
	if n := packWorkers(files); n != 1 {
		t.Errorf("packWorkers(%d bytes) = %d, want 1", smallVault, n)
	}
	files = append(files, vault.File{Path: "c", Size: 1})
	if n := packWorkers(files); n != 4 {
		t.Errorf("packWorkers(%d bytes) = %d, want GOMAXPROCS (4)", smallVault+1, n)
	}
}
