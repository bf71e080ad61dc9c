//go:build windows

package keychain

import (
	"context"
	"errors"

	"github.com/danieljoos/wincred"
)

var winBackend = backend{
	name:  "Windows Credential Manager",
	stuck: "make sure you are logged in to an interactive Windows session",
}

// winKeychain stores keys as generic credentials, TargetName "<service>/<account>"
// ("tools.vsync/<account>"), UserName "<account>", persisted on the local machine.
type winKeychain struct{ service string }

// Native returns the keychain of this platform: Windows Credential Manager.
func Native() Keychain { return winKeychain{Service} }

// NativeDerived returns the keychain of this platform for DerivedService.
func NativeDerived() Keychain { return winKeychain{DerivedService} }

func (winKeychain) Name() string { return winBackend.name }

func (w winKeychain) target(account string) string { return w.service + "/" + account }

func (w winKeychain) Get(ctx context.Context, account string) (string, error) {
	var key string
	err := bounded(ctx, winBackend, func(context.Context) error {
		cred, err := wincred.GetGenericCredential(w.target(account))
		if err != nil {
			return winErr(err, account, "cannot read the key from Windows Credential Manager")
		}
		key = string(cred.CredentialBlob)
		clear(cred.CredentialBlob)
		return nil
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

func (w winKeychain) Set(ctx context.Context, account, secret string) error {
	return bounded(ctx, winBackend, func(context.Context) error {
		cred := wincred.NewGenericCredential(w.target(account))
		cred.UserName = account
		cred.Persist = wincred.PersistLocalMachine
		cred.CredentialBlob = []byte(secret)
		defer clear(cred.CredentialBlob)
		if err := cred.Write(); err != nil {
			return winErr(err, account, "cannot store the key in Windows Credential Manager")
		}
		return nil
	})
}

func (w winKeychain) Delete(ctx context.Context, account string) error {
	return bounded(ctx, winBackend, func(context.Context) error {
		if err := wincred.NewGenericCredential(w.target(account)).Delete(); err != nil {
			return winErr(err, account, "cannot delete the key from Windows Credential Manager")
		}
		return nil
	})
}

func winErr(err error, account, what string) error {
	if errors.Is(err, wincred.ErrElementNotFound) {
		return winBackend.notFound(account)
	}
	return winBackend.failed(err, "%s", what)
}
