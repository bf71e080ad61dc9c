//go:build js || wasip1 || plan9

package keychain

import "github.com/git-vsync/git-vsync/internal/fail"

// NativeDerived is Native: the same error for DerivedService.
func NativeDerived() Keychain { return Native() }

// Native returns a keychain whose every call fails: this platform has none.
func Native() Keychain {
	return unsupported{name: "keychain (none on this platform)", err: func() error {
		return &fail.Error{
			Code: fail.NotSetUp,
			What: "this platform has no keychain git-vsync can use",
			Hint: "set VSYNC_KEY or VSYNC_KEY_FILE",
			Err:  ErrUnavailable,
		}
	}}
}
