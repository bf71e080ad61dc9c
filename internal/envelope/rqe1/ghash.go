package rqe1

import (
	"crypto/cipher"
	"encoding/binary"
)

// Streaming AES-GCM (NIST SP 800-38D) with a 96-bit nonce, built from the standard
// library's pieces so that the bulk work runs in its assembly:
//
//   - Encryption is CTR mode from the counter block J0+1 = nonce || 00000002
//     (cipher.NewCTR). GCM's inc32 wraps the low 32 bits where NewCTR carries into
//     the nonce; they agree below 2^32-2 blocks, which is GCM's own length limit, so
//     longer streams are refused (maxPlaintext).
//   - The tag is GHASH_H(C ‖ len block) XOR E_K(J0), H = E_K(0^128). GHASH of the
//     ciphertext is computed chunk by chunk with the standard GCM as the engine:
//     Seal(nonce, plaintext = empty, additional data = chunk) returns
//     S = GHASH_H(chunk ‖ L) XOR E_K(J0), L = (8·|chunk| ‖ 0). GHASH is linear:
//     with Y the GHASH state after the chunk's blocks (no length block),
//     S XOR E_K(J0) = (Y XOR L)·H, so Y·H = S XOR E_K(J0) XOR L·H, and chunks
//     combine by Horner's rule: acc ← acc·H^(blocks of chunk) XOR Y_chunk·H, which
//     ends as GHASH(C)·H without a length block. The tag is then
//     acc XOR L_final·H XOR E_K(J0), L_final = (0 ‖ 8·|C|).
//
// Only a few multiplications in GF(2^128) per chunk are done in Go (gfMul), so the
// speed is the standard library's.

// maxPlaintext is GCM's limit, 2^32-2 blocks: beyond it the 32-bit counter wraps.
const maxPlaintext = (1<<32 - 2) * 16

// chunkSize is the unit of GHASH and of file I/O; a multiple of 16.
const chunkSize = 64 << 10

// gf is an element of GF(2^128) in GCM's bit order: hi holds bytes 0-7 of the
// block big-endian (its top bit is the coefficient of x^0), lo bytes 8-15.
type gf struct{ hi, lo uint64 }

func gfLoad(b []byte) gf {
	return gf{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (x gf) store(b []byte) {
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:16], x.lo)
}

func (x gf) xor(y gf) gf { return gf{x.hi ^ y.hi, x.lo ^ y.lo} }

// gfMul is Algorithm 1 of SP 800-38D (the right-shift method), written without
// data-dependent branches so that its time does not depend on H.
func gfMul(x, y gf) gf {
	var z gf
	v := y
	for i := 0; i < 128; i++ {
		var bit uint64
		if i < 64 {
			bit = (x.hi >> (63 - i)) & 1
		} else {
			bit = (x.lo >> (127 - i)) & 1
		}
		m := -bit
		z.hi ^= v.hi & m
		z.lo ^= v.lo & m
		lsb := v.lo & 1
		v.lo = v.lo>>1 | v.hi<<63
		v.hi = v.hi>>1 ^ (0xe1<<56)&-lsb
	}
	return z
}

// gfPow returns x^n (n ≥ 0) by square-and-multiply.
func gfPow(x gf, n uint64) gf {
	r := gf{hi: 1 << 63} // the element 1
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			r = gfMul(r, x)
		}
		x = gfMul(x, x)
	}
	return r
}

// lenBlock is the GCM length block of aBytes of additional data and cBytes of
// ciphertext.
func lenBlock(aBytes, cBytes uint64) gf { return gf{aBytes * 8, cBytes * 8} }

// ghash computes the GCM tag of a ciphertext fed to it in chunks whose lengths are
// multiples of 16, but for the last one.
type ghash struct {
	aead    cipher.AEAD
	nonce   []byte
	ej0     gf // E_K(J0)
	h       gf
	hChunk  gf // H^(chunkSize/16)
	lhChunk gf // lenBlock(chunkSize, 0)·H
	acc     gf
	n       uint64 // bytes hashed
	last    bool   // a chunk that is not a multiple of 16 was hashed
	scratch [16]byte
}

func newGHASH(block cipher.Block, aead cipher.AEAD, nonce []byte) *ghash {
	g := &ghash{aead: aead, nonce: nonce}
	var b [16]byte
	block.Encrypt(b[:], b[:])
	g.h = gfLoad(b[:])
	// With no data at all, GHASH is 0 and the tag is E_K(J0).
	g.ej0 = gfLoad(aead.Seal(g.scratch[:0], nonce, nil, nil))
	g.hChunk = gfPow(g.h, chunkSize/16)
	g.lhChunk = gfMul(lenBlock(chunkSize, 0), g.h)
	return g
}

// write hashes one chunk of ciphertext.
func (g *ghash) write(c []byte) {
	if len(c) == 0 {
		return
	}
	if g.last {
		panic("rqe1: GHASH chunk after a partial block")
	}
	g.last = len(c)%16 != 0
	s := gfLoad(g.aead.Seal(g.scratch[:0], g.nonce, nil, c)).xor(g.ej0)
	hn, lh := g.hChunk, g.lhChunk
	if len(c) != chunkSize {
		hn = gfPow(g.h, uint64(len(c)+15)/16)
		lh = gfMul(lenBlock(uint64(len(c)), 0), g.h)
	}
	g.acc = gfMul(g.acc, hn).xor(s.xor(lh))
	g.n += uint64(len(c))
}

// sum returns the tag of everything written.
func (g *ghash) sum(b []byte) {
	g.acc.xor(gfMul(lenBlock(0, g.n), g.h)).xor(g.ej0).store(b)
}
