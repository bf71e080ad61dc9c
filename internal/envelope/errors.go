// Package envelope holds the error taxonomy shared by the wire formats of SPEC §4
// (RQE1, RQEM0001, SLS1, runtime token). The format code lives in the sub-packages.
package envelope

import (
	"errors"
	"fmt"
)

// Kind names an error class. The values are the names the conformance vectors use.
type Kind string

const (
	KindBundleCorrupt            Kind = "BundleCorruptError"
	KindWrongPassphrase          Kind = "WrongPassphraseError"
	KindUnsupportedSpecVersion   Kind = "UnsupportedSpecVersionError"
	KindConfigMissing            Kind = "ConfigMissingError"
	KindConfigUnsupportedVersion Kind = "ConfigUnsupportedVersionError"
)

// Kinds lists every kind; fail.KindCode gives each its exit code (SPEC §9).
var Kinds = []Kind{KindBundleCorrupt, KindWrongPassphrase, KindUnsupportedSpecVersion, KindConfigMissing, KindConfigUnsupportedVersion}

// summary is the fixed part of the message; Detail adds what was found.
func (k Kind) summary() string {
	switch k {
	case KindBundleCorrupt:
		return "data is corrupt or not in a format vsync understands"
	case KindWrongPassphrase:
		return "decryption failed: wrong key or passphrase, or the data was tampered with"
	case KindUnsupportedSpecVersion:
		return "data uses a format version this git-vsync does not support"
	case KindConfigMissing:
		return "runtime config token missing (expected a value starting with \"vsync-cfg-v1:\")"
	case KindConfigUnsupportedVersion:
		return "runtime config token has an unsupported version or encoding"
	}
	return "envelope error"
}

// Error is a classified format error. Detail is written by this module and must
// never contain key material, passphrases or decrypted bytes.
type Error struct {
	Kind   Kind
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.summary()
	}
	return e.Kind.summary() + ": " + e.Detail
}

// Is makes errors.Is(err, ErrX) true for any *Error of the same kind, whatever its detail.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// Sentinels for errors.Is.
var (
	ErrBundleCorrupt            = &Error{Kind: KindBundleCorrupt}
	ErrWrongPassphrase          = &Error{Kind: KindWrongPassphrase}
	ErrUnsupportedSpecVersion   = &Error{Kind: KindUnsupportedSpecVersion}
	ErrConfigMissing            = &Error{Kind: KindConfigMissing}
	ErrConfigUnsupportedVersion = &Error{Kind: KindConfigUnsupportedVersion}
)

// New returns an *Error of kind k.
func New(k Kind, detail string) *Error { return &Error{Kind: k, Detail: detail} }

// Errorf returns an *Error of kind k with a formatted detail. Never pass secrets.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Detail: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the first *Error in err's chain, or "".
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.Kind
	}
	return ""
}
