package app

import (
	"context"
	"errors"

	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/keychain"
)

// Remembered keys (docs/design.md, "Remembered keys"): the AES key derived from a
// key of the OS keychain is kept in that keychain (App.Remembered, service
// keychain.DerivedService, the key's account), so that a later process reads it
// instead of running PBKDF2 again. The value is bound to the key, the salt and the
// iteration count (keychain.EncodeDerived): an entry left from another key or salt
// is never used, only replaced. Reading and writing it are best effort and silent:
// a keychain that refuses them costs one derivation, never the command.

// aesKey is deriveAES for the key text of account, which came from source. A key
// from the OS keychain is read from its remembered entry when that holds the key
// PBKDF2 would give, and remembered after a derivation; a key from the environment
// (CI, headless machines) is derived and never written anywhere.
func (a *App) aesKey(ctx context.Context, account, keyText, source, salt string) ([]byte, error) {
	if source != keychain.SourceKeychain || a.Remembered == nil {
		return deriveAES(keyText, salt)
	}
	if k, ok := kdf.Cached(keyText, salt); ok {
		return k, nil
	}
	v, err := a.Remembered.Get(ctx, account)
	if err == nil {
		if k, derr := keychain.DecodeDerived(v, keyText, salt, kdf.Count()); derr == nil {
			return k, nil
		}
	}
	k, derr := deriveAES(keyText, salt)
	if derr != nil {
		return nil, derr
	}
	// A keychain that did not answer the read would make the write wait its whole
	// timeout again; every other outcome (absent, stale, damaged) is overwritten.
	if !errors.Is(err, keychain.ErrUnavailable) {
		a.rememberDerived(ctx, account, keyText, salt)
	}
	return k, nil
}

// rememberDerived remembers the AES key of keyText and salt as account's, when this
// process has derived it (kdf.Cached). It reports whether the entry was written.
func (a *App) rememberDerived(ctx context.Context, account, keyText, salt string) bool {
	if a.Remembered == nil {
		return false
	}
	k, ok := kdf.Cached(keyText, salt)
	if !ok {
		return false
	}
	return a.Remembered.Set(ctx, account, keychain.EncodeDerived(keyText, salt, kdf.Count(), k)) == nil
}

// arrival is the derivation of a key that has just arrived on this machine (init,
// import), started on another goroutine while the command does the rest of its work
// (the store check, the keychain, the config, the hooks), so that the command can
// remember the key and the first push or pull reads it instead of deriving it.
// Keys of the environment (VSYNC_KEY*) never arrive this way, and keystore import,
// which brings the keys of many repositories at once, derives none of them.
type arrival struct {
	a                  *App
	account, key, salt string
	done               chan struct{}
}

// deriveArriving starts the derivation of keyText and salt (kdf.Key, whose cache
// makes a command that needs the same key wait for this derivation instead of
// running a second one). Without a keychain for remembered keys it derives nothing.
func (a *App) deriveArriving(account, keyText, salt string) *arrival {
	if a.Remembered == nil {
		return nil
	}
	v := &arrival{a: a, account: account, key: keyText, salt: salt, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		_, _ = kdf.Key(keyText, salt) // a failure leaves nothing to remember
	}()
	return v
}

// wait waits for the derivation to end, so that no command returns with it still
// running (the caller defers it, also on the paths that fail; a no-op after
// remember).
func (v *arrival) wait() {
	if v != nil {
		<-v.done
	}
}

// remember waits for the derivation and remembers its key. Call it once the key is
// stored (after the transaction that wrote it, which removed what was remembered
// before).
func (v *arrival) remember(ctx context.Context) {
	if v == nil {
		return
	}
	v.wait()
	v.a.rememberDerived(ctx, v.account, v.key, v.salt)
}

// forgetRemembered removes the remembered key of account, if any. When that fails
// it warns with the command that removes it by hand; the entry cannot be used with
// another key or salt anyway.
func (a *App) forgetRemembered(ctx context.Context, account string) {
	if a.Remembered == nil {
		return
	}
	if err := a.Remembered.Delete(ctx, account); err != nil && !errors.Is(err, keychain.ErrNotFound) {
		a.warnRemembered(account, err)
	}
}

func (a *App) warnRemembered(account string, err error) {
	a.warnf("could not remove the remembered key of %s (%v); remove it with `%s`", account, err, keychain.DerivedRemoveCommand(account))
}

// forgetRemembered removes the remembered key of account as part of the change:
// rollback puts it back, with the key and config it belongs to.
func (t *halvesTx) forgetRemembered(account string) {
	r := t.a.Remembered
	if r == nil {
		return
	}
	old, getErr := r.Get(t.ctx, account)
	if errors.Is(getErr, keychain.ErrNotFound) {
		return
	}
	if err := r.Delete(t.ctx, account); err != nil {
		if !errors.Is(err, keychain.ErrNotFound) {
			t.a.warnRemembered(account, err)
		}
		return
	}
	if getErr == nil {
		t.undo = append(t.undo, func() error {
			return r.Set(context.WithoutCancel(t.ctx), account, old)
		})
	}
}
