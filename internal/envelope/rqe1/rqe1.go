// Package rqe1 implements the RQE1 envelope of SPEC §4.2:
// "RQE1" | 12-byte nonce | AES-256-GCM ciphertext | 16-byte tag, no additional data.
package rqe1

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
)

const (
	Magic     = "RQE1"
	NonceSize = 12
	TagSize   = 16
	// MinSize is magic + nonce + tag: an envelope of the empty plaintext.
	MinSize = len(Magic) + NonceSize + TagSize
)

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		// A caller bug, not a property of the data: deliberately not a Kind.
		return nil, fmt.Errorf("rqe1: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext under a 32-byte key with a fresh random nonce.
func Seal(key, plaintext []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	var nonce [NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("rqe1: no randomness for the nonce: %w", err)
	}
	return sealWithNonce(aead, nonce[:], plaintext), nil
}

// sealWithNonce is Seal with a given nonce: the standard library's AES-GCM, which
// the streaming Writer is tested against.
func sealWithNonce(aead cipher.AEAD, nonce, plaintext []byte) []byte {
	out := make([]byte, len(Magic)+NonceSize, MinSize+len(plaintext))
	copy(out, Magic)
	copy(out[len(Magic):], nonce)
	return aead.Seal(out, out[len(Magic):], plaintext, nil)
}

// Open decrypts an envelope, classifying failures exactly as SPEC §4.2 does.
func Open(key, data []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(data); err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, data[len(Magic):len(Magic)+NonceSize], data[len(Magic)+NonceSize:], nil)
	if err != nil {
		return nil, envelope.New(envelope.KindWrongPassphrase, "RQE1 authentication failed")
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// checkHeader applies the structural checks that need no key.
func checkHeader(data []byte) error { return checkHeaderOf(data, int64(len(data))) }

// checkHeaderOf is checkHeader for an envelope of size bytes that starts with
// prefix (at least 4 bytes of it when size ≥ MinSize).
func checkHeaderOf(prefix []byte, size int64) error {
	data := prefix
	if size < int64(MinSize) {
		return envelope.Errorf(envelope.KindBundleCorrupt, "RQE1 envelope too short (%d bytes, minimum %d)", size, MinSize)
	}
	if string(data[:3]) != Magic[:3] {
		return envelope.New(envelope.KindBundleCorrupt, "not an RQE1 envelope (bad magic)")
	}
	if data[3] != Magic[3] {
		return envelope.Errorf(envelope.KindUnsupportedSpecVersion, "envelope version %q, only RQE1 is supported", printable(data[3]))
	}
	return nil
}

// printable keeps a foreign version byte readable without echoing raw binary.
func printable(b byte) string {
	if b >= 0x21 && b <= 0x7e {
		return "RQE" + string(rune(b))
	}
	return fmt.Sprintf("RQE\\x%02x", b)
}

// SealWithPassphrase derives the key with kdf and seals.
func SealWithPassphrase(passphrase, salt string, plaintext []byte) ([]byte, error) {
	key, err := kdf.Key(passphrase, salt)
	if err != nil {
		return nil, fmt.Errorf("rqe1: key derivation failed: %w", err)
	}
	return Seal(key, plaintext)
}

// OpenWithPassphrase checks the header first so a foreign file costs no key derivation.
func OpenWithPassphrase(passphrase, salt string, data []byte) ([]byte, error) {
	if err := checkHeader(data); err != nil {
		return nil, err
	}
	key, err := kdf.Key(passphrase, salt)
	if err != nil {
		return nil, fmt.Errorf("rqe1: key derivation failed: %w", err)
	}
	return Open(key, data)
}

// HeaderSize is magic + nonce: where the ciphertext starts.
const HeaderSize = len(Magic) + NonceSize
