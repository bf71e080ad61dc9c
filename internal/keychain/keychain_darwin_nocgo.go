//go:build darwin && !cgo

package keychain

import "github.com/git-vsync/git-vsync/internal/fail"

// NativeDerived is Native: the same error for DerivedService.
func NativeDerived() Keychain { return Native() }

// Native returns a keychain whose every call fails: a build without cgo cannot reach
// the macOS Keychain, and handing the key to `security` would put it in argv.
func Native() Keychain {
	return unsupported{name: "macOS Keychain (not in this build)", err: func() error {
		return &fail.Error{
			Code: fail.NotSetUp,
			What: "this build has no macOS Keychain support (built without cgo)",
			Hint: "set VSYNC_KEY or VSYNC_KEY_FILE, or install a cgo build of git-vsync",
			Err:  ErrUnavailable,
		}
	}}
}
