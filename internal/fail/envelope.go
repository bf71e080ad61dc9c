package fail

import "github.com/git-vsync/git-vsync/internal/envelope"

// kindCodes is the one map from the envelope's error kinds (the classes of the
// conformance vectors) to SPEC §9 exit codes: damaged, tampered or unreadable data
// and a wrong key are Integrity; a missing or unknown runtime config is NotSetUp.
var kindCodes = map[envelope.Kind]Code{
	envelope.KindBundleCorrupt:            Integrity,
	envelope.KindWrongPassphrase:          Integrity,
	envelope.KindUnsupportedSpecVersion:   Integrity,
	envelope.KindConfigMissing:            NotSetUp,
	envelope.KindConfigUnsupportedVersion: NotSetUp,
}

// KindCode returns the exit code of an envelope error kind; "" (not an envelope
// error) and unknown kinds are Failure.
func KindCode(k envelope.Kind) Code {
	if c, ok := kindCodes[k]; ok {
		return c
	}
	return Failure
}

// Envelope wraps err with the exit code of its envelope kind (KindCode of
// envelope.KindOf(err)), the hint and the message what.
func Envelope(err error, hint, format string, args ...any) *Error {
	return Wrap(KindCode(envelope.KindOf(err)), err, hint, format, args...)
}
