package rqe1

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

// The streaming API seals and opens envelopes of any size (up to GCM's 64 GiB)
// with a few chunks of memory. Its output is byte for byte what Seal would give
// with the same nonce, and it opens what Seal made (see ghash.go for how).

// ErrTooLong is returned by Writer when the plaintext passes GCM's limit.
var ErrTooLong = errors.New("rqe1: plaintext longer than AES-GCM allows (64 GiB)")

type streamKey struct {
	block cipher.Block
	aead  cipher.AEAD
}

func newStreamKey(key []byte) (*streamKey, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("rqe1: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &streamKey{block: block, aead: aead}, nil
}

// ctrAt returns the keystream of nonce positioned at plaintext byte off.
func (k *streamKey) ctrAt(nonce []byte, off int64) cipher.Stream {
	var iv [16]byte
	copy(iv[:], nonce)
	binary.BigEndian.PutUint32(iv[12:], uint32(2+off/16))
	s := cipher.NewCTR(k.block, iv[:])
	if r := off % 16; r != 0 {
		var skip [16]byte
		s.XORKeyStream(skip[:r], skip[:r])
	}
	return s
}

// Writer seals what is written to it into an envelope written to dst: the header
// on the first Write (or Close), ciphertext in chunks, the tag on Close. Nothing
// is complete before Close returns nil.
type Writer struct {
	dst    io.Writer
	nonce  [NonceSize]byte
	ctr    cipher.Stream
	gh     *ghash
	buf    []byte // plaintext waiting to fill a chunk
	n      int64  // plaintext bytes written
	header bool   // header written
	err    error  // sticky
	closed bool
}

// NewWriter returns a Writer sealing under a 32-byte key with a fresh random nonce.
func NewWriter(key []byte, dst io.Writer) (*Writer, error) {
	var nonce [NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("rqe1: no randomness for the nonce: %w", err)
	}
	return newWriterNonce(key, nonce[:], dst)
}

func newWriterNonce(key, nonce []byte, dst io.Writer) (*Writer, error) {
	k, err := newStreamKey(key)
	if err != nil {
		return nil, err
	}
	w := &Writer{dst: dst, buf: make([]byte, 0, chunkSize)}
	copy(w.nonce[:], nonce)
	w.ctr = k.ctrAt(w.nonce[:], 0)
	w.gh = newGHASH(k.block, k.aead, w.nonce[:])
	return w, nil
}

func (w *Writer) writeHeader() error {
	if w.header {
		return nil
	}
	w.header = true
	var h [HeaderSize]byte
	copy(h[:], Magic)
	copy(h[len(Magic):], w.nonce[:])
	_, err := w.dst.Write(h[:])
	return err
}

// flush encrypts, hashes and writes the buffered plaintext.
func (w *Writer) flush() error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	if len(w.buf) == 0 {
		return nil
	}
	w.ctr.XORKeyStream(w.buf, w.buf)
	w.gh.write(w.buf)
	_, err := w.dst.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// Write encrypts p. It fails once the plaintext passes 64 GiB.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errors.New("rqe1: write after Close")
	}
	if int64(len(p)) > maxPlaintext-w.n {
		w.err = ErrTooLong
		return 0, w.err
	}
	written := 0
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		written += k
		w.n += int64(k)
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				w.err = err
				return written, err
			}
		}
	}
	return written, nil
}

// Close writes the rest of the ciphertext and the tag. It does not close dst.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.flush(); err != nil {
		w.err = err
		return err
	}
	var tag [TagSize]byte
	w.gh.sum(tag[:])
	if _, err := w.dst.Write(tag[:]); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Size is the envelope size of the plaintext written so far (once closed: the
// number of bytes written to dst).
func (w *Writer) Size() int64 { return int64(MinSize) + w.n }

// Plaintext is the authenticated content of an envelope read through an
// io.ReaderAt: OpenAt checked the tag over all of it, ReadAt decrypts on demand.
// The source must not change while it is used (use a private copy, such as a
// temp file of this process, or a file nobody else writes).
type Plaintext struct {
	k     *streamKey
	src   io.ReaderAt
	nonce [NonceSize]byte
	size  int64

	mu   sync.Mutex
	wins [2]window // two readers of distant parts (unpacking lanes) keep one each
	used int       // the window read last
}

// window is a decrypted chunk of the plaintext.
type window struct {
	b   []byte
	off int64 // where b starts; -1 when empty
}

// OpenAt reads the envelope of size bytes at src, checks its header like Open and
// its tag over the whole ciphertext (one pass, chunk by chunk), and returns the
// plaintext for random access. Errors are classified exactly as Open's; read
// errors of src are returned as they are.
func OpenAt(key []byte, src io.ReaderAt, size int64) (*Plaintext, error) {
	return open(key, src, func(int64) (int64, bool, error) { return size, true, nil })
}

// OpenGrowing is OpenAt of an envelope that is still being written to src (a
// download): ready(off) blocks until more than off bytes are written or the
// envelope is complete, and returns how many are written and whether that is
// all; an error of ready (the download failed) is returned as it is. The tag is
// computed over the ciphertext as it arrives, so the envelope is authenticated
// right after its last byte instead of in a pass of its own; as with OpenAt, no
// plaintext is handed out before the whole tag was checked. The bytes already
// written must not change.
func OpenGrowing(key []byte, src io.ReaderAt, ready func(off int64) (n int64, final bool, err error)) (*Plaintext, error) {
	return open(key, src, ready)
}

// open is OpenAt and OpenGrowing: the header's checks, which need the size, are
// made once the envelope is complete, before any verdict on its tag; the nonce
// is read as soon as it is there, so that the ciphertext is hashed as it comes.
// A chunk is hashed only once the bytes after it are written, so that the last
// TagSize bytes, which are the tag, are never hashed before the size is known.
func open(key []byte, src io.ReaderAt, ready func(off int64) (int64, bool, error)) (*Plaintext, error) {
	k, err := newStreamKey(key)
	if err != nil {
		return nil, err
	}
	// until waits for more than off bytes (or the end) and returns the count.
	until := func(off int64) (int64, bool, error) {
		for {
			n, final, err := ready(off)
			if err != nil || final || n > off {
				return n, final, err
			}
		}
	}
	var (
		hdr  [HeaderSize]byte
		gh   *ghash
		buf  = make([]byte, chunkSize)
		done int64 // ciphertext bytes hashed
		size int64 // the envelope's, once final
	)
	for {
		// The bytes that must be written before the next step: the header, then
		// the next chunk and TagSize bytes after it.
		need := int64(HeaderSize)
		switch {
		case gh == nil:
		case done+chunkSize > maxPlaintext:
			need = math.MaxInt64 // refused below, once the size is known
		default:
			need += done + chunkSize + TagSize
		}
		n, final, err := until(need - 1)
		if err != nil {
			return nil, err
		}
		if final {
			size = n
			break
		}
		if gh == nil {
			if err := readAt(src, hdr[:], 0); err != nil {
				return nil, err
			}
			gh = newGHASH(k.block, k.aead, hdr[len(Magic):])
			continue
		}
		if err := readAt(src, buf, int64(HeaderSize)+done); err != nil {
			return nil, err
		}
		gh.write(buf)
		done += chunkSize
	}
	if size >= int64(MinSize) && gh == nil {
		if err := readAt(src, hdr[:], 0); err != nil {
			return nil, err
		}
	}
	if err := checkHeaderOf(hdr[:], size); err != nil {
		return nil, err
	}
	p := &Plaintext{k: k, src: src, size: size - int64(MinSize)}
	p.wins[0].off, p.wins[1].off = -1, -1
	copy(p.nonce[:], hdr[len(Magic):])
	if p.size > maxPlaintext {
		return nil, envelope.New(envelope.KindWrongPassphrase, "RQE1 authentication failed")
	}
	if gh == nil {
		gh = newGHASH(k.block, k.aead, p.nonce[:])
	}
	for off := done; off < p.size; off += chunkSize {
		c := buf[:min(chunkSize, p.size-off)]
		if err := readAt(src, c, int64(HeaderSize)+off); err != nil {
			return nil, err
		}
		gh.write(c)
	}
	var want, got [TagSize]byte
	if err := readAt(src, got[:], int64(HeaderSize)+p.size); err != nil {
		return nil, err
	}
	gh.sum(want[:])
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return nil, envelope.New(envelope.KindWrongPassphrase, "RQE1 authentication failed")
	}
	p.wins[0].b, p.wins[1].b = buf[:0], make([]byte, 0, chunkSize)
	return p, nil
}

// readAt fills b from src at off. io.EOF with b filled is success (ReaderAt
// allows it at the end of the input).
func readAt(src io.ReaderAt, b []byte, off int64) error {
	n, err := src.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return readErr(err)
}

// readErr makes a source that ends before its announced size an error that says
// so (the caller gave a wrong size, or the file shrank).
func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("rqe1: the envelope ends before its size: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// windowAt returns the window that holds plaintext byte off, nil if none does,
// and makes it the one read last.
func (p *Plaintext) windowAt(off int64) *window {
	for i := range p.wins {
		if w := &p.wins[i]; w.off >= 0 && off >= w.off && off < w.off+int64(len(w.b)) {
			p.used = i
			return w
		}
	}
	return nil
}

// Size is the plaintext length.
func (p *Plaintext) Size() int64 { return p.size }

// ReadAt decrypts plaintext bytes at off. Safe for concurrent use.
func (p *Plaintext) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("rqe1: negative offset")
	}
	if off >= p.size {
		if len(b) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	var eof error
	if rest := p.size - off; int64(len(b)) > rest {
		b, eof = b[:rest], io.EOF
	}
	n := len(b)
	if n >= chunkSize {
		// Large reads bypass the window.
		if err := readAt(p.src, b, int64(HeaderSize)+off); err != nil {
			return 0, err
		}
		p.k.ctrAt(p.nonce[:], off).XORKeyStream(b, b)
		return n, eof
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(b) > 0 {
		w := p.windowAt(off)
		if w == nil {
			// Not decrypted yet: replace the window not read last.
			p.used = 1 - p.used
			w = &p.wins[p.used]
			start := off - off%chunkSize
			c := w.b[:min(chunkSize, p.size-start)]
			w.off = -1
			if err := readAt(p.src, c, int64(HeaderSize)+start); err != nil {
				return n - len(b), err
			}
			p.k.ctrAt(p.nonce[:], start).XORKeyStream(c, c)
			w.b, w.off = c, start
		}
		k := copy(b, w.b[off-w.off:])
		b, off = b[k:], off+int64(k)
	}
	return n, eof
}
