//go:build testhooks

package kdf

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
)

func TestHookLowersIterations(t *testing.T) {
	t.Setenv(TestIterationsEnv, "1")
	// RFC 7914 §11, PBKDF2-HMAC-SHA256 P="passwd" S="salt" c=1, first 32 bytes.
	got := hex.EncodeToString(Derive("passwd", "salt"))
	if want := "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"; got != want {
		t.Fatalf("c=1: %s, want %s", got, want)
	}
	t.Setenv(TestIterationsEnv, "1000")
	k1000 := Derive("pässwörd", "sälz")
	if want := "86e20b12edd4bf124acfd89c7bb40d6f45ecde5d055901b7f434e8afe9e03177"; hex.EncodeToString(k1000) != want {
		t.Fatalf("c=1000: %x", k1000)
	}
	t.Setenv(TestIterationsEnv, "2")
	if bytes.Equal(Derive("pässwörd", "sälz"), k1000) {
		t.Fatal("cache ignored the iteration count")
	}
}

func TestHookRejectsBadValues(t *testing.T) {
	for _, v := range []string{"", "0", "-5", "abc", "1e3"} {
		t.Setenv(TestIterationsEnv, v)
		if got := iterations(); got != Iterations {
			t.Errorf("%q: iterations() = %d", v, got)
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	t.Setenv(TestIterationsEnv, "1")
	for i := 0; i < 3*maxCached; i++ {
		Derive("p", fmt.Sprint("bounded-", i))
	}
	mu.Lock()
	n := len(cache)
	mu.Unlock()
	if n > maxCached {
		t.Fatalf("cache grew to %d entries, limit %d", n, maxCached)
	}
}
