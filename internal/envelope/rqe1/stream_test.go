package rqe1

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

// stdSeal is the reference: the standard library's AES-GCM with a given nonce.
func stdSeal(t testing.TB, key, nonce, pt []byte) []byte {
	t.Helper()
	aead, err := newGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	return sealWithNonce(aead, nonce, pt)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// streamSeal seals pt with the Writer, written in pieces of random sizes.
func streamSeal(t testing.TB, key, nonce, pt []byte, rng *mrand.Rand) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := newWriterNonce(key, nonce, &out)
	if err != nil {
		t.Fatal(err)
	}
	for rest := pt; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(3*chunkSize/2))
		if rng.IntN(4) == 0 {
			k = min(len(rest), 1+rng.IntN(40))
		}
		if n, err := w.Write(rest[:k]); err != nil || n != k {
			t.Fatalf("write: %d %v", n, err)
		}
		rest = rest[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(out.Len()) {
		t.Fatalf("Size() = %d, wrote %d", w.Size(), out.Len())
	}
	return out.Bytes()
}

func streamLengths(rng *mrand.Rand) []int {
	ls := []int{0, 1, 15, 16, 17, 31, 32, 33, 255, 4096,
		chunkSize - 17, chunkSize - 16, chunkSize - 1, chunkSize, chunkSize + 1, chunkSize + 16,
		2*chunkSize - 1, 2 * chunkSize, 2*chunkSize + 5, 5<<20 + 3}
	for i := 0; i < 12; i++ {
		ls = append(ls, rng.IntN(4*chunkSize))
	}
	return ls
}

// The streaming seal is byte-identical to crypto/cipher's GCM with the same nonce.
func TestStreamMatchesStdlib(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range streamLengths(rng) {
		key, nonce, pt := randBytes(32), randBytes(NonceSize), randBytes(n)
		want := stdSeal(t, key, nonce, pt)
		got := streamSeal(t, key, nonce, pt, rng)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: streaming seal differs from crypto/cipher's GCM", n)
		}
		// SealFile with a random nonce opens with Open.
		var buf bytes.Buffer
		size, err := SealFile(key, &buf, bytes.NewReader(pt))
		if err != nil || size != int64(buf.Len()) || size != int64(MinSize+n) {
			t.Fatalf("SealFile of %d bytes: size %d, wrote %d, %v", n, size, buf.Len(), err)
		}
		if back, err := Open(key, buf.Bytes()); err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("Open of SealFile's %d bytes: %v", n, err)
		}
	}
}

// OpenAt and OpenFile open what crypto/cipher's GCM sealed.
func TestOpenFileOfStdlib(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for _, n := range streamLengths(rng) {
		key, pt := randBytes(32), randBytes(n)
		env := stdSeal(t, key, randBytes(NonceSize), pt)
		var out bytes.Buffer
		if err := OpenFile(key, bytes.NewReader(env), int64(len(env)), &out); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(out.Bytes(), pt) {
			t.Fatalf("%d bytes: OpenFile gave other plaintext", n)
		}
		p, err := OpenAt(key, bytes.NewReader(env), int64(len(env)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Size() != int64(n) {
			t.Fatalf("Size() = %d, want %d", p.Size(), n)
		}
		// Random reads, small ones through the window and large ones around it.
		for i := 0; i < 50 && n > 0; i++ {
			off := rng.IntN(n)
			l := rng.IntN(300)
			if i%5 == 0 {
				l = rng.IntN(2 * chunkSize)
			}
			b := make([]byte, l)
			k, err := p.ReadAt(b, int64(off))
			wantK := min(l, n-off)
			if k != wantK || !bytes.Equal(b[:k], pt[off:off+wantK]) {
				t.Fatalf("ReadAt(%d, %d) of %d bytes: %d bytes, %v", l, off, n, k, err)
			}
			if (err == io.EOF) != (off+l > n) || (err != nil && err != io.EOF) {
				t.Fatalf("ReadAt(%d, %d) of %d bytes: error %v", l, off, n, err)
			}
		}
		if k, err := p.ReadAt(make([]byte, 1), int64(n)); k != 0 || err != io.EOF {
			t.Fatalf("ReadAt at the end: %d %v", k, err)
		}
	}
}

// openFileKind opens with OpenFile and checks the promise: no plaintext on failure.
func openFileKind(t *testing.T, key, env []byte) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	err := OpenFile(key, bytes.NewReader(env), int64(len(env)), &out)
	if err != nil && out.Len() > 0 {
		t.Fatalf("OpenFile wrote %d bytes and failed: %v", out.Len(), err)
	}
	return out.Bytes(), err
}

// Every failure is classified exactly as Open classifies it.
func TestOpenFileClassifiesLikeOpen(t *testing.T) {
	for _, n := range []int{0, 22, chunkSize + 17} {
		pt := randBytes(n)
		env := mustSeal(t, testKey, pt)
		positions := []int{}
		for i := 0; i < len(env); i++ {
			if len(env) < 200 || i < 40 || i > len(env)-40 || i%4099 == 0 || (i > chunkSize-20 && i < chunkSize+40) {
				positions = append(positions, i)
			}
		}
		for _, i := range positions {
			bad := bytes.Clone(env)
			bad[i] ^= 0x01
			_, want := Open(testKey, bad)
			_, got := openFileKind(t, testKey, bad)
			if envelope.KindOf(got) != envelope.KindOf(want) || envelope.KindOf(got) == "" {
				t.Fatalf("%d bytes, flip at %d: kind %q (%v), Open says %q", n, i, envelope.KindOf(got), got, envelope.KindOf(want))
			}
			if got.Error() != want.Error() {
				t.Fatalf("flip at %d: message %q, Open says %q", i, got, want)
			}
		}
		for _, cut := range []int{0, 1, 3, 4, 16, MinSize - 1, MinSize, len(env) - 1} {
			if cut > len(env) {
				continue
			}
			_, want := Open(testKey, env[:cut])
			_, got := openFileKind(t, testKey, env[:cut])
			if (want == nil) != (got == nil) || (got != nil && got.Error() != want.Error()) {
				t.Fatalf("%d bytes cut to %d: %v, Open says %v", n, cut, got, want)
			}
		}
		other := bytes.Clone(testKey)
		other[0] ^= 1
		if _, err := openFileKind(t, other, env); !errors.Is(err, envelope.ErrWrongPassphrase) {
			t.Fatalf("wrong key: %v", err)
		}
		if _, err := openFileKind(t, make([]byte, 16), env); err == nil || envelope.KindOf(err) != "" {
			t.Fatalf("bad key length: %v", err)
		}
	}
	for _, data := range [][]byte{
		[]byte("RQE2" + strings.Repeat("\x00", 40)),
		[]byte("RQE\x00" + strings.Repeat("\x00", 40)),
		[]byte("XYZ1" + strings.Repeat("\x00", 40)),
		[]byte("RQE2"),
	} {
		_, want := Open(testKey, data)
		_, got := openFileKind(t, testKey, data)
		if got == nil || got.Error() != want.Error() {
			t.Fatalf("%q: %v, Open says %v", data[:4], got, want)
		}
	}
}

// A source shorter than the size it was announced with is a read error, not a
// verdict on the data.
func TestOpenAtShortSource(t *testing.T) {
	env := mustSeal(t, testKey, randBytes(100))
	_, err := OpenAt(testKey, bytes.NewReader(env[:len(env)-5]), int64(len(env)))
	if !errors.Is(err, io.ErrUnexpectedEOF) || envelope.KindOf(err) != "" {
		t.Fatalf("short source: %v", err)
	}
}

func TestWriterLimit(t *testing.T) {
	w, err := NewWriter(testKey, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	w.n = maxPlaintext - 3
	if _, err := w.Write(make([]byte, 3)); err != nil {
		t.Fatalf("write up to the limit: %v", err)
	}
	if _, err := w.Write(make([]byte, 1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("write past the limit: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrTooLong) {
		t.Fatalf("close after the limit: %v", err)
	}
}

// A writer error is sticky and Close reports it.
func TestWriterError(t *testing.T) {
	boom := errors.New("disk full")
	w, _ := NewWriter(testKey, failWriter{boom})
	if _, err := w.Write(make([]byte, chunkSize)); !errors.Is(err, boom) {
		t.Fatalf("write: %v", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("close: %v", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestGFMul(t *testing.T) {
	one := gf{hi: 1 << 63}
	x := gfLoad(randBytes(16))
	y := gfLoad(randBytes(16))
	if gfMul(x, one) != x || gfMul(one, x) != x {
		t.Fatal("1 is not neutral")
	}
	if gfMul(x, y) != gfMul(y, x) {
		t.Fatal("not commutative")
	}
	if gfPow(x, 5) != gfMul(gfMul(gfMul(x, x), gfMul(x, x)), x) || gfPow(x, 0) != one {
		t.Fatal("gfPow")
	}
	// x^(2^128) = x in GF(2^128).
	z := x
	for i := 0; i < 128; i++ {
		z = gfMul(z, z)
	}
	if z != x {
		t.Fatal("Frobenius")
	}
}

func FuzzOpenFile(f *testing.F) {
	for _, dir := range []string{"rqe1-decrypt", "rqe1-decrypt-error", "error-taxonomy"} {
		paths, _ := filepath.Glob(filepath.Join("..", "testdata", "conformance", dir, "*.bin"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add(mustSeal(f, testKey, []byte("fuzz me")))
	f.Add(mustSeal(f, testKey, bytes.Repeat([]byte("z"), 100)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := Open(testKey, data)
		var out bytes.Buffer
		err := OpenFile(testKey, bytes.NewReader(data), int64(len(data)), &out)
		if (err == nil) != (werr == nil) {
			t.Fatalf("OpenFile: %v, Open: %v", err, werr)
		}
		if err != nil {
			if err.Error() != werr.Error() {
				t.Fatalf("OpenFile: %v, Open: %v", err, werr)
			}
			if out.Len() != 0 {
				t.Fatal("plaintext written with an error")
			}
			return
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatal("OpenFile and Open disagree on the plaintext")
		}
	})
}

// countingReader counts the reads of its source.
type countingReader struct {
	r     io.ReaderAt
	reads int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.r.ReadAt(p, off)
}

// Two readers of distant parts (the two lanes that unpack an archive) keep a
// decrypted window each: reading them in turns decrypts each chunk once.
func TestPlaintextTwoWindows(t *testing.T) {
	pt := randBytes(8 * chunkSize)
	env := mustSeal(t, testKey, pt)
	src := &countingReader{r: bytes.NewReader(env)}
	p, err := OpenAt(testKey, src, int64(len(env)))
	if err != nil {
		t.Fatal(err)
	}
	src.reads = 0
	b := make([]byte, 1000)
	for i := 0; i < 60; i++ {
		off := int64(i * 1000) // both within their first chunk
		if i%2 == 1 {
			off += 5 * chunkSize
		}
		if _, err := p.ReadAt(b, off); err != nil || !bytes.Equal(b, pt[off:off+1000]) {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
	if src.reads != 2 {
		t.Fatalf("%d chunks read for two windows", src.reads)
	}
}
