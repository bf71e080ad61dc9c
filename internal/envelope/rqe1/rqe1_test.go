package rqe1

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

func mustSeal(t testing.TB, key, pt []byte) []byte {
	t.Helper()
	env, err := Seal(key, pt)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestRoundTrip(t *testing.T) {
	for _, pt := range [][]byte{nil, {}, []byte("hello world"), bytes.Repeat([]byte{0, 0xff}, 70000)} {
		env := mustSeal(t, testKey, pt)
		if len(env) != MinSize+len(pt) || string(env[:4]) != Magic {
			t.Fatalf("bad layout: len %d for %d bytes", len(env), len(pt))
		}
		got, err := Open(testKey, env)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip of %d bytes failed", len(pt))
		}
	}
}

func TestFreshNonce(t *testing.T) {
	a, b := mustSeal(t, testKey, []byte("x")), mustSeal(t, testKey, []byte("x"))
	if bytes.Equal(a[4:16], b[4:16]) {
		t.Fatal("two seals reused a nonce")
	}
}

func TestBadKeyLengthIsNotAKind(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := Seal(make([]byte, n), nil); err == nil || envelope.KindOf(err) != "" {
			t.Errorf("Seal with %d-byte key: %v", n, err)
		}
		if _, err := Open(make([]byte, n), mustSeal(t, testKey, nil)); err == nil || envelope.KindOf(err) != "" {
			t.Errorf("Open with %d-byte key: %v", n, err)
		}
	}
}

func wantKind(t *testing.T, what string, err error, k envelope.Kind) {
	t.Helper()
	if got := envelope.KindOf(err); got != k {
		t.Fatalf("%s: kind %q (%v), want %q", what, got, err, k)
	}
}

// Flipping one byte anywhere must be classified by where it lands (SPEC §4.2).
func TestTamperEveryByte(t *testing.T) {
	pt := []byte("secret-plaintext-value")
	env := mustSeal(t, testKey, pt)
	for i := range env {
		bad := bytes.Clone(env)
		bad[i] ^= 0x01
		_, err := Open(testKey, bad)
		switch {
		case i < 3:
			wantKind(t, "magic", err, envelope.KindBundleCorrupt)
		case i == 3:
			wantKind(t, "version", err, envelope.KindUnsupportedSpecVersion)
		default: // nonce, ciphertext, tag
			wantKind(t, "body", err, envelope.KindWrongPassphrase)
		}
		if strings.Contains(err.Error(), string(pt)) {
			t.Fatal("error quotes the plaintext")
		}
	}
}

func TestTruncation(t *testing.T) {
	env := mustSeal(t, testKey, []byte("0123456789"))
	for n := 0; n < len(env); n++ {
		_, err := Open(testKey, env[:n])
		if n < MinSize {
			wantKind(t, "short", err, envelope.KindBundleCorrupt)
		} else {
			wantKind(t, "cut", err, envelope.KindWrongPassphrase)
		}
	}
	// Length is checked before the version byte: a short RQE2 is corrupt.
	_, err := Open(testKey, []byte("RQE2"))
	wantKind(t, "short RQE2", err, envelope.KindBundleCorrupt)
	_, err = Open(testKey, append([]byte("RQE\x00"), make([]byte, 40)...))
	wantKind(t, "RQE\\0", err, envelope.KindUnsupportedSpecVersion)
	if strings.ContainsRune(err.Error(), 0) {
		t.Fatal("raw version byte in message")
	}
}

func TestWrongKey(t *testing.T) {
	env := mustSeal(t, testKey, []byte("x"))
	other := bytes.Clone(testKey)
	other[31] ^= 1
	_, err := Open(other, env)
	wantKind(t, "wrong key", err, envelope.KindWrongPassphrase)
}

func TestPassphraseHelpers(t *testing.T) {
	const pass, salt = "Hunter2-Passphrase", "c2FsdHNhbHRzYWx0c2FsdA=="
	env, err := SealWithPassphrase(pass, salt, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenWithPassphrase(pass, salt, env)
	if err != nil || string(got) != "payload" {
		t.Fatalf("round trip: %q %v", got, err)
	}
	_, err = OpenWithPassphrase("Hunter3-Passphrase", salt, env)
	wantKind(t, "wrong passphrase", err, envelope.KindWrongPassphrase)
	_, err = OpenWithPassphrase(pass, salt+"x", env)
	wantKind(t, "wrong salt", err, envelope.KindWrongPassphrase)
	if strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), "Hunter") {
		t.Fatal("error quotes the passphrase")
	}
	_, err = OpenWithPassphrase(pass, salt, []byte("short"))
	wantKind(t, "short", err, envelope.KindBundleCorrupt)
}

func FuzzOpen(f *testing.F) {
	for _, dir := range []string{"rqe1-decrypt", "rqe1-decrypt-error", "error-taxonomy"} {
		paths, _ := filepath.Glob(filepath.Join("..", "testdata", "conformance", dir, "*.bin"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	valid := mustSeal(f, testKey, []byte("fuzz me"))
	f.Add(valid)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		pt, err := Open(testKey, data)
		if err != nil {
			switch envelope.KindOf(err) {
			case envelope.KindBundleCorrupt, envelope.KindUnsupportedSpecVersion, envelope.KindWrongPassphrase:
			default:
				t.Fatalf("unclassified error: %v", err)
			}
			if pt != nil {
				t.Fatal("plaintext returned with an error")
			}
			return
		}
		if len(pt) != len(data)-MinSize {
			t.Fatalf("plaintext length %d for envelope length %d", len(pt), len(data))
		}
	})
}
