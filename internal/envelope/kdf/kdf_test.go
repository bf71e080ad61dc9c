package kdf

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
)

// derive is Key for tests, failing the test on the FIPS-only error.
func derive(t testing.TB, passphrase, salt string) []byte {
	t.Helper()
	k, err := Key(passphrase, salt)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func derivationCount() int {
	mu.Lock()
	defer mu.Unlock()
	return derivations
}

func TestCacheKeySeparatesFields(t *testing.T) {
	keys := map[[32]byte]string{}
	for _, c := range []struct {
		p, s string
		n    int
	}{{"ab", "c", 1}, {"a", "bc", 1}, {"abc", "", 1}, {"", "abc", 1}, {"ab", "c", 2}} {
		k := cacheKey(c.p, c.s, c.n)
		if prev, dup := keys[k]; dup {
			t.Fatalf("cache key collision: %+v and %s", c, prev)
		}
		keys[k] = fmt.Sprint(c)
		if bytes.Contains(k[:], []byte(c.p)) && c.p != "" {
			t.Fatal("cache key contains the passphrase")
		}
	}
}

// Known answer at the wire count, computed independently (Python hashlib); also
// covers non-ASCII text being fed as UTF-8.
func TestDeriveKnownAnswer600k(t *testing.T) {
	SetTestIterations(t, Iterations)
	got := hex.EncodeToString(derive(t, "pässwörd", "sälz"))
	if want := "6b45e7fe4587d4f2e5c76e15e584b0d415ad92b1ea60e02b5aedab7ba089e555"; got != want {
		t.Fatalf("Derive = %s, want %s", got, want)
	}
}

func TestDeriveCachesAndCopies(t *testing.T) {
	SetTestIterations(t, Iterations)
	before := derivationCount()
	var wg sync.WaitGroup
	results := make([][]byte, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = derive(t, "cache-me", "cache-salt")
		}()
	}
	wg.Wait()
	if n := derivationCount() - before; n != 1 {
		t.Fatalf("8 concurrent derives of one pair ran PBKDF2 %d times, want 1", n)
	}
	for _, r := range results {
		if len(r) != KeyLen || !bytes.Equal(r, results[0]) {
			t.Fatal("concurrent derives disagree")
		}
	}
	want := bytes.Clone(results[0])
	results[0][0] ^= 0xff // a caller wiping its copy must not poison the cache
	if again := derive(t, "cache-me", "cache-salt"); !bytes.Equal(again, want) {
		t.Fatal("cache returned a key modified by a caller")
	}
	if derivationCount()-before != 1 {
		t.Fatal("second derive was not served from the cache")
	}
}

func TestCachedDerivesNothing(t *testing.T) {
	ForgetCache(t)
	n := Derivations(t)
	if _, ok := Cached("cached-p", "cached-s"); ok {
		t.Fatal("Cached found a key never derived")
	}
	k := derive(t, "cached-p", "cached-s")
	got, ok := Cached("cached-p", "cached-s")
	if !ok || !bytes.Equal(got, k) {
		t.Fatalf("Cached after Key = %x, %v", got, ok)
	}
	if _, ok := Cached("cached-p", "other"); ok {
		t.Fatal("Cached found the key of another salt")
	}
	if d := Derivations(t) - n; d != 1 {
		t.Fatalf("%d derivations, want 1", d)
	}
	ForgetCache(t)
	if _, ok := Cached("cached-p", "cached-s"); ok {
		t.Fatal("Cached found a key after ForgetCache")
	}
	if Count() != 1000 {
		t.Fatalf("Count = %d, want the lowered 1000", Count())
	}
}
