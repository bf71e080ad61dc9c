//go:build (darwin && !cgo) || js || wasip1 || plan9

package keychain

import "context"

// unsupported is a Keychain whose every call fails with the same error: the
// platforms and builds that have no keychain backend.
type unsupported struct {
	name string
	err  func() error
}

func (u unsupported) Get(context.Context, string) (string, error) { return "", u.err() }
func (u unsupported) Set(context.Context, string, string) error   { return u.err() }
func (u unsupported) Delete(context.Context, string) error        { return u.err() }
func (u unsupported) Name() string                                { return u.name }
