//go:build darwin && cgo

package keychain

import (
	"context"
	"errors"

	gokc "github.com/keybase/go-keychain"
)

var macBackend = backend{
	name:  "macOS Keychain",
	stuck: "answer the Keychain dialog if one is open, and make sure the login keychain is unlocked",
}

const hintMacLocked = "unlock the login keychain (`security unlock-keychain`, or log in at the desktop) and allow access, " +
	"or give the key as VSYNC_KEY or VSYNC_KEY_FILE"

// macKeychain stores keys as generic passwords (service, account) in the default
// keychain.
type macKeychain struct{ service string }

// Native returns the keychain of this platform: the macOS Keychain.
func Native() Keychain { return macKeychain{Service} }

// NativeDerived returns the keychain of this platform for DerivedService.
func NativeDerived() Keychain { return macKeychain{DerivedService} }

func (macKeychain) Name() string { return macBackend.name }

func (m macKeychain) query(account string) gokc.Item {
	q := gokc.NewItem()
	q.SetSecClass(gokc.SecClassGenericPassword)
	q.SetService(m.service)
	q.SetAccount(account)
	return q
}

func (m macKeychain) Get(ctx context.Context, account string) (string, error) {
	var key string
	err := bounded(ctx, macBackend, func(context.Context) error {
		q := m.query(account)
		q.SetMatchLimit(gokc.MatchLimitOne)
		q.SetReturnData(true)
		res, err := gokc.QueryItem(q)
		if err != nil {
			return macErr(err, account, "cannot read the key from the macOS Keychain")
		}
		if len(res) == 0 {
			return macBackend.notFound(account)
		}
		key = string(res[0].Data)
		clear(res[0].Data)
		return nil
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

func (m macKeychain) Set(ctx context.Context, account, secret string) error {
	return bounded(ctx, macBackend, func(context.Context) error {
		data := []byte(secret)
		defer clear(data)
		item := m.query(account)
		item.SetLabel(m.service + "/" + account)
		item.SetData(data)
		item.SetAccessible(gokc.AccessibleWhenUnlocked)
		err := gokc.AddItem(item)
		if errors.Is(err, gokc.ErrorDuplicateItem) {
			update := gokc.NewItem()
			update.SetData(data)
			err = gokc.UpdateItem(m.query(account), update)
		}
		if err != nil {
			return macErr(err, account, "cannot store the key in the macOS Keychain")
		}
		return nil
	})
}

func (m macKeychain) Delete(ctx context.Context, account string) error {
	return bounded(ctx, macBackend, func(context.Context) error {
		if err := gokc.DeleteGenericPasswordItem(m.service, account); err != nil {
			return macErr(err, account, "cannot delete the key from the macOS Keychain")
		}
		return nil
	})
}

func macErr(err error, account, what string) error {
	switch {
	case errors.Is(err, gokc.ErrorItemNotFound):
		return macBackend.notFound(account)
	case errors.Is(err, gokc.ErrorInteractionNotAllowed),
		errors.Is(err, gokc.ErrorAuthFailed),
		errors.Is(err, gokc.ErrorUserCanceled),
		errors.Is(err, gokc.ErrorNotAvailable),
		errors.Is(err, gokc.ErrorNoSuchKeychain):
		return macBackend.unavailable(err, hintMacLocked, "the macOS Keychain refused access")
	}
	return macBackend.failed(err, "%s", what)
}
