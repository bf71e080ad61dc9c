package keychain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
)

// Remembered keys (docs/design.md, "Remembered keys"): the AES key derived from a
// key of the keychain (PBKDF2, SPEC §4.1) is kept in the same keychain, so that a
// later process reads it instead of deriving it again. Anyone who can read the key
// can derive it, so the entry exposes nothing the keychain did not hold already.
// The entries live under a service of our own, which the TypeScript tool never
// reads or writes (NativeDerived), with the account of the key they come from.

// DerivedService is the keychain service of remembered keys.
const DerivedService = "git-vsync.derived"

// derivedVersion starts every value; a later format takes another.
const derivedVersion = "gv1"

// maxDerived bounds a value before it is parsed: a gv1 value is 93 bytes.
const maxDerived = 128

// derivedLen is the length of the AES key and of the tag.
const derivedLen = 32

// ErrDerivedInvalid is the error of DecodeDerived for a value that is not a gv1
// value of this key, salt and iteration count.
var ErrDerivedInvalid = errors.New("not a remembered key of this key and salt")

// derivedTag binds aes to the inputs of its derivation: SHA-256 over a domain
// string, the length-prefixed key and salt, the iteration count and aes. A value
// written for another key, salt or count (a rotation, a salt from an import, the
// lowered count of tests), or one whose key was altered, fails the check, so only
// the key PBKDF2 would give is ever used.
func derivedTag(key, salt string, iter int, aes []byte) []byte {
	h := sha256.New()
	h.Write([]byte("git-vsync remembered key v1\x00"))
	var n [8]byte
	for _, s := range []string{key, salt} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	binary.BigEndian.PutUint64(n[:], uint64(iter))
	h.Write(n[:])
	h.Write(aes)
	return h.Sum(nil)
}

// EncodeDerived is the keychain value that remembers aes, derived from key and salt
// with iter iterations: "gv1.<base64 aes>.<base64 tag>".
func EncodeDerived(key, salt string, iter int, aes []byte) string {
	enc := base64.StdEncoding
	return derivedVersion + "." + enc.EncodeToString(aes) + "." + enc.EncodeToString(derivedTag(key, salt, iter, aes))
}

// DecodeDerived returns the AES key a value of EncodeDerived holds, when the value
// is exactly that format and its tag matches key, salt and iter; otherwise
// ErrDerivedInvalid.
func DecodeDerived(value, key, salt string, iter int) ([]byte, error) {
	// The base64 decoder skips '\r' and '\n'; only the exact text is accepted.
	if len(value) > maxDerived || strings.ContainsFunc(value, func(r rune) bool { return !isDerivedChar(r) }) {
		return nil, ErrDerivedInvalid
	}
	parts := strings.Split(value, ".")
	if len(parts) != 3 || parts[0] != derivedVersion {
		return nil, ErrDerivedInvalid
	}
	enc := base64.StdEncoding.Strict()
	aes, err := enc.DecodeString(parts[1])
	if err != nil || len(aes) != derivedLen {
		return nil, ErrDerivedInvalid
	}
	tag, err := enc.DecodeString(parts[2])
	if err != nil || len(tag) != derivedLen {
		return nil, ErrDerivedInvalid
	}
	if subtle.ConstantTimeCompare(tag, derivedTag(key, salt, iter, aes)) != 1 {
		return nil, ErrDerivedInvalid
	}
	return aes, nil
}

func isDerivedChar(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+/=.", r)
}

// DerivedRemoveCommand is the command that removes the remembered key of account by
// hand on this platform.
func DerivedRemoveCommand(account string) string {
	switch runtime.GOOS {
	case "darwin":
		return "security delete-generic-password -s " + DerivedService + " -a " + account
	case "windows":
		return "cmdkey /delete:" + DerivedService + "/" + account
	}
	return "secret-tool clear service " + DerivedService + " account " + account
}
