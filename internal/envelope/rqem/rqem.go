// Package rqem implements the RQEM0001 seal of SPEC §4.3, the plaintext inside a
// bundle's RQE1 envelope: "RQEM0001" | 15-byte UTC timestamp | payload (the zip).
package rqem

import (
	"fmt"
	"time"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

const (
	Magic    = "RQEM0001"
	TSLen    = 15
	TSLayout = "20060102-150405"
	// HeaderSize is where the payload starts.
	HeaderSize = len(Magic) + TSLen
)

// ValidTS reports whether s matches ^\d{8}-\d{6}$ (ASCII digits only).
func ValidTS(s string) bool {
	if len(s) != TSLen {
		return false
	}
	for i := 0; i < TSLen; i++ {
		c := s[i]
		if i == 8 {
			if c != '-' {
				return false
			}
		} else if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PointerTS reports whether s can name the latest version: ValidTS, a real date
// and time, before the year 9999. A pointer like 99999999-999999 (the SPEC's
// pattern allows it) or 99991231-235959, after which no next second can be
// written in the format, is no clock's: it is treated as a corrupt pointer, whose
// ways out work, instead of stopping every push.
func PointerTS(s string) bool {
	if !ValidTS(s) {
		return false
	}
	t, err := time.Parse(TSLayout, s)
	return err == nil && t.Year() < 9999
}

// FormatTS renders t in UTC as a seal timestamp.
func FormatTS(t time.Time) string { return t.UTC().Format(TSLayout) }

// Seal builds a seal. ts must satisfy ValidTS (use FormatTS); anything else is a
// programming error, and panics rather than writing a bundle no reader accepts.
func Seal(ts string, payload []byte) []byte {
	if !ValidTS(ts) {
		panic(fmt.Sprintf("rqem: invalid seal timestamp %q", ts))
	}
	out := make([]byte, 0, HeaderSize+len(payload))
	out = append(out, Magic...)
	out = append(out, ts...)
	return append(out, payload...)
}

// Parse splits a seal. The payload aliases data (bundles can be large).
func Parse(data []byte) (ts string, payload []byte, err error) {
	if len(data) < HeaderSize {
		return "", nil, envelope.Errorf(envelope.KindBundleCorrupt, "RQEM0001 seal too short (%d bytes, minimum %d)", len(data), HeaderSize)
	}
	if string(data[:len(Magic)]) != Magic {
		return "", nil, envelope.New(envelope.KindBundleCorrupt, "bundle plaintext is not an RQEM0001 seal (bad magic)")
	}
	ts = string(data[len(Magic):HeaderSize])
	// Not echoed when invalid: those bytes are decrypted plaintext.
	if !ValidTS(ts) {
		return "", nil, envelope.New(envelope.KindBundleCorrupt, "RQEM0001 seal timestamp is not YYYYMMDD-HHMMSS")
	}
	return ts, data[HeaderSize:], nil
}

// Open parses a seal and refuses it unless it was sealed at wantTS, so a bundle
// copied or replayed under another version name is rejected.
func Open(data []byte, wantTS string) ([]byte, error) {
	ts, payload, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if ts != wantTS {
		return nil, envelope.Errorf(envelope.KindBundleCorrupt, "bundle is sealed at %s but was read as version %q", ts, wantTS)
	}
	return payload, nil
}
