// Package kdf derives RQE1 keys from text secrets as SPEC §4.1 fixes them:
// PBKDF2-HMAC-SHA256 over the UTF-8 bytes, 600000 iterations, 32 bytes.
package kdf

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// Iterations is the wire iteration count. Only a test can lower it (testing.go).
const Iterations = 600000

// testIterations replaces Iterations when positive. Only the setters in testing.go
// write it, and they need a test's handle: no flag, variable or file of the product
// binary reaches it (make vet's deadcode check proves no product path calls them).
var testIterations atomic.Int64

// iterations is read at each derivation, so a test can change it between calls.
func iterations() int {
	if n := testIterations.Load(); n > 0 {
		return int(n)
	}
	return Iterations
}

// Count is the iteration count of the derivations of this process: Iterations,
// unless a test lowered it. A key remembered outside the process records it, so a
// key derived at a test's count never passes for one of the wire count.
func Count() int { return iterations() }

// KeyLen is the derived key length (AES-256).
const KeyLen = 32

// maxCached bounds the cache: a process needs a handful of keys, and a fuzzer
// or a long-lived caller must not grow it without limit.
const maxCached = 64

type entry struct {
	once  sync.Once
	key   []byte
	err   error
	ready atomic.Bool // key is set (after once.Do succeeded), for Cached
}

var (
	mu    sync.Mutex
	cache = map[[sha256.Size]byte]*entry{}
	// derivations counts real PBKDF2 runs, so tests can prove the cache works.
	derivations int
)

// cacheKey hashes the inputs, length-prefixed so ("ab","c") and ("a","bc") differ,
// so the map never holds a passphrase in the clear.
func cacheKey(passphrase, salt string, iter int) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(iter))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(len(passphrase)))
	h.Write(n[:])
	h.Write([]byte(passphrase))
	binary.BigEndian.PutUint64(n[:], uint64(len(salt)))
	h.Write(n[:])
	h.Write([]byte(salt))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// Cached returns the key of (passphrase, salt) when this process derived it already,
// without deriving it.
func Cached(passphrase, salt string) ([]byte, bool) {
	ck := cacheKey(passphrase, salt, iterations())
	mu.Lock()
	e, ok := cache[ck]
	mu.Unlock()
	if !ok {
		return nil, false
	}
	if !e.ready.Load() { // not yet derived, or failed
		return nil, false
	}
	return append([]byte(nil), e.key...), true
}

// Key derives the 32-byte key for (passphrase, salt), once per process per pair;
// concurrent callers for the same pair wait for a single derivation.
// The error is only possible when Go runs in FIPS 140-only mode.
func Key(passphrase, salt string) ([]byte, error) {
	iter := iterations()
	ck := cacheKey(passphrase, salt, iter)
	mu.Lock()
	e, ok := cache[ck]
	if !ok {
		if len(cache) >= maxCached {
			for k := range cache { // evict one arbitrary entry
				delete(cache, k)
				break
			}
		}
		e = &entry{}
		cache[ck] = e
	}
	mu.Unlock()
	e.once.Do(func() {
		mu.Lock()
		derivations++
		mu.Unlock()
		e.key, e.err = pbkdf2.Key(sha256.New, passphrase, []byte(salt), iter, KeyLen)
		e.ready.Store(e.err == nil)
	})
	if e.err != nil {
		mu.Lock()
		if cache[ck] == e { // do not remember failures
			delete(cache, ck)
		}
		mu.Unlock()
		return nil, e.err
	}
	// A copy, so a caller that wipes or edits its key cannot corrupt the cache.
	return append([]byte(nil), e.key...), nil
}
