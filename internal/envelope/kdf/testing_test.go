package kdf

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
)

// The package's own tests run at the lowered cost, as every package's tests do
// (testenv.Main cannot be used here: testenv imports kdf).
func TestMain(m *testing.M) {
	SetTestIterationsMain(m, 1000)
	os.Exit(m.Run())
}

func TestSetTestIterationsLowersAndRestores(t *testing.T) {
	t.Run("c=1", func(t *testing.T) {
		SetTestIterations(t, 1)
		// RFC 7914 §11, PBKDF2-HMAC-SHA256 P="passwd" S="salt" c=1, first 32 bytes.
		if got, want := hex.EncodeToString(derive(t, "passwd", "salt")), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"; got != want {
			t.Fatalf("c=1: %s, want %s", got, want)
		}
	})
	if got := iterations(); got != 1000 {
		t.Fatalf("after the subtest iterations() = %d, want TestMain's 1000 back", got)
	}
	k1000 := derive(t, "pässwörd", "sälz")
	if want := "86e20b12edd4bf124acfd89c7bb40d6f45ecde5d055901b7f434e8afe9e03177"; hex.EncodeToString(k1000) != want {
		t.Fatalf("c=1000: %x", k1000)
	}
	t.Run("c=2", func(t *testing.T) {
		SetTestIterations(t, 2)
		if bytes.Equal(derive(t, "pässwörd", "sälz"), k1000) {
			t.Fatal("cache ignored the iteration count")
		}
	})
}

func TestSetTestIterationsRefusesZero(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("SetTestIterations(0) did not panic")
		}
	}()
	SetTestIterations(t, 0)
}

func TestCacheIsBounded(t *testing.T) {
	SetTestIterations(t, 1)
	for i := 0; i < 3*maxCached; i++ {
		derive(t, "p", fmt.Sprint("bounded-", i))
	}
	mu.Lock()
	n := len(cache)
	mu.Unlock()
	if n > maxCached {
		t.Fatalf("cache grew to %d entries, limit %d", n, maxCached)
	}
}

// Nothing but the setters lowers the count: in a process that never called one (the
// product binary), the variable the old testhooks builds read, or any like it, keeps
// the wire count.
func TestEnvironmentCannotLowerIterations(t *testing.T) {
	prev := testIterations.Swap(0) // as in the product binary
	t.Cleanup(func() { testIterations.Store(prev) })
	t.Setenv("VSYNC_TEST_PBKDF2_ITERATIONS", "1")
	t.Setenv("VSYNC_PBKDF2_ITERATIONS", "1")
	if got := iterations(); got != Iterations {
		t.Fatalf("iterations() = %d with the variables set in a process without a setter, want %d", got, Iterations)
	}
	lowered := pbkdf2Key(t, "env-probe", "env-salt", 1)
	if bytes.Equal(derive(t, "env-probe", "env-salt"), lowered) {
		t.Fatal("a variable lowered PBKDF2 to 1 iteration")
	}
}

func pbkdf2Key(t *testing.T, p, s string, n int) []byte {
	t.Helper()
	k, err := pbkdf2.Key(sha256.New, p, []byte(s), n, KeyLen)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
