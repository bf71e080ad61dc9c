package rqe1

import (
	"bytes"
	"errors"
	"io"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

// growing is an envelope being written (a download): ready blocks until more
// than off bytes are there, the end, or a failure.
type growing struct {
	mu      sync.Mutex
	cond    *sync.Cond
	data    []byte
	final   bool
	err     error
	maxRead int64 // the furthest byte read so far
}

func newGrowing() *growing {
	g := &growing{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *growing) write(p []byte) {
	g.mu.Lock()
	g.data = append(g.data, p...)
	g.mu.Unlock()
	g.cond.Broadcast()
}

func (g *growing) end(err error) {
	g.mu.Lock()
	g.final, g.err = err == nil, err
	g.mu.Unlock()
	g.cond.Broadcast()
}

func (g *growing) ready(off int64) (int64, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.final && g.err == nil && int64(len(g.data)) <= off {
		g.cond.Wait()
	}
	return int64(len(g.data)), g.final, g.err
}

func (g *growing) ReadAt(p []byte, off int64) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if off+int64(len(p)) > int64(len(g.data)) {
		// A reader that reads what was not announced yet is wrong.
		return 0, errors.New("read past what is written")
	}
	g.maxRead = max(g.maxRead, off+int64(len(p)))
	return copy(p, g.data[off:]), nil
}

// feed writes env into g in pieces of random sizes, then ends it with err.
func feed(g *growing, env []byte, rng *mrand.Rand, err error) {
	for rest := env; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(3*chunkSize/2))
		if rng.IntN(3) == 0 {
			k = min(len(rest), 1+rng.IntN(40))
		}
		g.write(rest[:k])
		rest = rest[k:]
	}
	g.end(err)
}

func openGrowing(t *testing.T, key, env []byte, rng *mrand.Rand) (*Plaintext, error) {
	t.Helper()
	g := newGrowing()
	go feed(g, env, mrand.New(mrand.NewPCG(rng.Uint64(), 0)), nil)
	return OpenGrowing(key, g, g.ready)
}

// OpenGrowing opens what crypto/cipher's GCM sealed, written in pieces while it
// reads, and gives the plaintext OpenAt gives.
func TestOpenGrowingOfStdlib(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	for _, n := range streamLengths(rng) {
		key, pt := randBytes(32), randBytes(n)
		env := stdSeal(t, key, randBytes(NonceSize), pt)
		p, err := openGrowing(t, key, env, rng)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got := make([]byte, p.Size())
		if k, err := p.ReadAt(got, 0); k != n || (err != nil && err != io.EOF) || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: read back %d, %v, equal %v", n, k, err, bytes.Equal(got, pt))
		}
	}
}

// Every failure is classified exactly as Open classifies it: flipped bytes
// anywhere (header, ciphertext at chunk edges, tag), cuts, a wrong key, foreign
// headers.
func TestOpenGrowingClassifiesLikeOpen(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(7, 8))
	for _, n := range []int{0, 22, chunkSize - 16, chunkSize + 17, 3 * chunkSize} {
		pt := randBytes(n)
		env := mustSeal(t, testKey, pt)
		var positions []int
		for i := 0; i < len(env); i++ {
			if len(env) < 200 || i < 40 || i > len(env)-40 || i%9001 == 0 || (i%chunkSize > chunkSize-20 || i%chunkSize < 40) {
				positions = append(positions, i)
			}
		}
		for _, i := range positions {
			bad := bytes.Clone(env)
			bad[i] ^= 0x01
			_, want := Open(testKey, bad)
			p, got := openGrowing(t, testKey, bad, rng)
			if p != nil || got == nil || got.Error() != want.Error() || envelope.KindOf(got) != envelope.KindOf(want) {
				t.Fatalf("%d bytes, flip at %d: %v, Open says %v", n, i, got, want)
			}
		}
		for _, cut := range []int{0, 1, 3, 4, 16, MinSize - 1, MinSize, len(env) - TagSize, len(env) - 1, len(env) - chunkSize} {
			if cut > len(env) || cut < 0 {
				continue
			}
			_, want := Open(testKey, env[:cut])
			_, got := openGrowing(t, testKey, env[:cut], rng)
			if (want == nil) != (got == nil) || (got != nil && got.Error() != want.Error()) {
				t.Fatalf("%d bytes cut to %d: %v, Open says %v", n, cut, got, want)
			}
		}
		other := bytes.Clone(testKey)
		other[0] ^= 1
		if _, err := openGrowing(t, other, env, rng); !errors.Is(err, envelope.ErrWrongPassphrase) {
			t.Fatalf("wrong key: %v", err)
		}
	}
	for _, data := range [][]byte{
		[]byte("RQE2" + string(make([]byte, 40))),
		[]byte("XYZ1" + string(make([]byte, 3*chunkSize))),
		[]byte("RQE2"),
	} {
		_, want := Open(testKey, data)
		_, got := openGrowing(t, testKey, data, rng)
		if got == nil || got.Error() != want.Error() {
			t.Fatalf("%q: %v, Open says %v", data[:4], got, want)
		}
	}
}

// A download that fails part way ends OpenGrowing with its error, and no
// plaintext.
func TestOpenGrowingWriterFails(t *testing.T) {
	env := mustSeal(t, testKey, randBytes(3*chunkSize))
	broken := errors.New("connection reset")
	for _, at := range []int{0, 5, HeaderSize, chunkSize + 3, len(env) - 1} {
		g := newGrowing()
		go func() {
			g.write(env[:at])
			g.end(broken)
		}()
		p, err := OpenGrowing(testKey, g, g.ready)
		if p != nil || !errors.Is(err, broken) {
			t.Fatalf("failure after %d bytes: %v", at, err)
		}
	}
}

// The ciphertext is hashed while it arrives: before the last bytes are written,
// everything but the last chunk and the tag has been read.
func TestOpenGrowingHashesAsItArrives(t *testing.T) {
	pt := randBytes(10*chunkSize + 100)
	env := mustSeal(t, testKey, pt)
	g := newGrowing()
	res := make(chan error, 1)
	go func() {
		_, err := OpenGrowing(testKey, g, g.ready)
		res <- err
	}()
	hold := len(env) - 10
	g.write(env[:hold])
	// Everything that is surely ciphertext (a whole chunk with TagSize bytes
	// after it) is read before the rest comes.
	wantRead := int64(HeaderSize + 9*chunkSize)
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		r := g.maxRead
		g.mu.Unlock()
		if r >= wantRead {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %d bytes while the envelope grew, want %d", r, wantRead)
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-res:
		t.Fatalf("OpenGrowing returned before the end: %v", err)
	default:
	}
	g.write(env[hold:])
	g.end(nil)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
}

// FuzzOpenGrowing feeds arbitrary bytes, written in pieces whose sizes the seed
// picks, to OpenGrowing: it must not panic, and must accept exactly what Open
// accepts, with the same plaintext, and fail with Open's error otherwise.
func FuzzOpenGrowing(f *testing.F) {
	f.Add(mustSeal(f, testKey, []byte("fuzz me")), uint64(1))
	f.Add(mustSeal(f, testKey, bytes.Repeat([]byte("z"), chunkSize+33)), uint64(2))
	f.Add(mustSeal(f, testKey, nil), uint64(3))
	f.Add([]byte("RQE1"), uint64(4))
	f.Add([]byte{}, uint64(5))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		want, werr := Open(testKey, data)
		p, err := openGrowing(t, testKey, data, mrand.New(mrand.NewPCG(seed, 0)))
		if (err == nil) != (werr == nil) {
			t.Fatalf("OpenGrowing: %v, Open: %v", err, werr)
		}
		if err != nil {
			if p != nil || err.Error() != werr.Error() || envelope.KindOf(err) != envelope.KindOf(werr) {
				t.Fatalf("OpenGrowing: %v (plaintext %v), Open: %v", err, p != nil, werr)
			}
			return
		}
		got := make([]byte, p.Size())
		if n, rerr := p.ReadAt(got, 0); n != len(want) || (rerr != nil && rerr != io.EOF) || !bytes.Equal(got, want) {
			t.Fatalf("OpenGrowing read %d bytes (%v), Open gives %d; equal %v", n, rerr, len(want), bytes.Equal(got, want))
		}
	})
}
