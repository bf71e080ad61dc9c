package sls1

import (
	"crypto/rand"
	"fmt"
)

// PassphraseAlphabet omits look-alikes (0 1 i l o I L O).
const PassphraseAlphabet = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"

// GeneratePassphrase returns 12 random alphabet characters as XXXX-XXXX-XXXX.
func GeneratePassphrase() (string, error) {
	const n = len(PassphraseAlphabet)
	// Bytes at or above limit are rejected: accepting them would favour the first
	// 256%n letters (modulo bias).
	const limit = 256 - 256%n
	out := make([]byte, 0, 14)
	var buf [32]byte
	for len(out) < 14 {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("sls1: no randomness for the passphrase: %w", err)
		}
		for _, b := range buf {
			if len(out) == 14 {
				break
			}
			if int(b) >= limit {
				continue
			}
			if len(out) == 4 || len(out) == 9 {
				out = append(out, '-')
			}
			out = append(out, PassphraseAlphabet[int(b)%n])
		}
	}
	return string(out), nil
}
