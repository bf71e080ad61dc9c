package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
)

// halvesTx edits the two halves of an env — its config file and its keychain
// entries (the key, and the entries that keep older keys) — as one change. Each
// write records how to put back what it replaced; rollback undoes them newest
// first, so a failure after the first half leaves both as they were. init,
// import, rotate and keystore import write the halves only through it:
//
//	tx := a.beginHalves(ctx)
//	defer tx.rollback() // a no-op after commit
//	… tx.setKey, tx.saveConfig …
//	tx.commit()
type halvesTx struct {
	a    *App
	ctx  context.Context
	undo []func() error
	done bool
}

func (a *App) beginHalves(ctx context.Context) *halvesTx { return &halvesTx{a: a, ctx: ctx} }

// saveConfigFile writes a config file; tests replace it to fail a config write
// (as root, a read-only folder does not).
var saveConfigFile = (*config.File).Save

// setKey writes secret as the keychain entry account.
func (t *halvesTx) setKey(account, secret string) error {
	old, err := t.a.Keychain.Get(t.ctx, account)
	had := err == nil
	if err != nil && !errors.Is(err, keychain.ErrNotFound) {
		return err
	}
	if had && old == secret {
		return nil
	}
	// No remembered key outlives the key it was derived from.
	t.forgetRemembered(account)
	if err := t.a.Keychain.Set(t.ctx, account, secret); err != nil {
		return err
	}
	t.undo = append(t.undo, func() error {
		bg := context.WithoutCancel(t.ctx)
		if had {
			return t.a.Keychain.Set(bg, account, old)
		}
		return t.a.Keychain.Delete(bg, account)
	})
	return nil
}

// saveConfig writes c as the config file at path (atomically, 0600).
func (t *halvesTx) saveConfig(path string, c *config.File) error {
	old, err := atomicfile.ReadRegularFollow(path, 1<<20)
	had := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := saveConfigFile(c, path); err != nil {
		return err
	}
	t.undo = append(t.undo, func() error {
		if had {
			return atomicfile.Write(path, old, 0o600)
		}
		return os.Remove(path)
	})
	return nil
}

// created records a file made aside (a kept config) to remove on rollback.
func (t *halvesTx) created(path string) {
	t.undo = append(t.undo, func() error { return os.Remove(path) })
}

// rollback undoes every write since beginHalves, newest first, unless commit
// came before. What cannot be put back is said as a warning.
func (t *halvesTx) rollback() {
	if t.done {
		return
	}
	t.done = true
	for i := len(t.undo) - 1; i >= 0; i-- {
		if err := t.undo[i](); err != nil {
			t.a.warnf("could not put back what was there before: %v", err)
		}
	}
}

// commit keeps every write.
func (t *halvesTx) commit() { t.done = true }

// halves is what a machine holds of one (repo, env) before an import replaces it.
type halves struct {
	repo, env   string
	cfgPath     string
	account     string
	cfgExists   bool
	oldCfgBytes []byte
	oldCfg      *config.File // nil when missing or unreadable (unreadable counts as different)
	oldKey      string       // "" when there is none
}

func (a *App) readHalves(ctx context.Context, root, repoName, env string) (*halves, error) {
	h := &halves{repo: repoName, env: env, cfgPath: config.EnvPath(root, repoName, env), account: keychain.Account(repoName, env)}
	// As config.Load reads it: a link is followed, a FIFO or device refused
	// without blocking, at most 1 MiB.
	data, err := atomicfile.ReadRegularFollow(h.cfgPath, config.MaxBytes)
	h.cfgExists = err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fail.Wrap(fail.Failure, pathCause(err), "check the permissions of "+h.cfgPath, "read the existing config")
	}
	if h.cfgExists {
		h.oldCfgBytes = data
		h.oldCfg, _ = config.Parse(data)
	}
	key, err := a.Keychain.Get(ctx, h.account)
	switch {
	case errors.Is(err, keychain.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		h.oldKey = strings.TrimSpace(key)
	}
	return h, nil
}

// same reports whether the key and the config here equal the given ones.
func (h *halves) same(cfg *config.File, key string) (sameKey, sameCfg bool) {
	return h.oldKey == key, h.oldCfg != nil && equivalentConfig(h.oldCfg, cfg)
}

// replaceHalves writes newCfg and newKey as the halves of h's (repo, env). What it
// replaces is kept first: the old key in the keychain as "<account>#<fingerprint>",
// the old config beside the new one; the new config keeps this machine's older keys,
// plus the one it replaces, so versions sealed before stay readable here. When the
// config cannot be written everything is put back (halvesTx), so the halves stay a pair.
func (a *App) replaceHalves(ctx context.Context, h *halves, newCfg *config.File, newKey string) (keptKey, keptConfig string, err error) {
	sameKey, sameCfg := h.same(newCfg, newKey)
	fp := sls1.Fingerprint(newKey)
	if h.oldCfg != nil {
		newCfg.PreviousKeys = append(newCfg.PreviousKeys, h.oldCfg.PreviousKeys...)
	}
	if h.oldKey != "" && !sameKey && h.oldCfg != nil {
		newCfg.PreviousKeys = addPreviousKey(newCfg.PreviousKeys, config.PreviousKey{Fingerprint: sls1.Fingerprint(h.oldKey), Salt: h.oldCfg.Salt})
	}
	newCfg.PreviousKeys = dropPreviousKey(newCfg.PreviousKeys, fp, newCfg.Salt)

	tx := a.beginHalves(ctx)
	defer tx.rollback()
	if h.oldKey != "" && !sameKey {
		if keptKey, err = tx.keepKey(h.repo, h.env, h.oldKey); err != nil {
			return "", "", err
		}
	}
	if h.cfgExists && !sameCfg {
		p, created, err := keepOldConfig(h.cfgPath, h.oldCfgBytes, h.oldKey, a.Now())
		if err != nil {
			return "", "", fail.Wrap(fail.Failure, err, "check the permissions of "+filepath.Dir(h.cfgPath), "keep the existing config aside (nothing was replaced)")
		}
		if created {
			tx.created(p)
		}
		keptConfig = p
	}
	if !sameKey {
		if err := tx.setKey(h.account, newKey); err != nil {
			return "", "", err
		}
	}
	writeCfg := !sameCfg
	if sameCfg && !reflect.DeepEqual(h.oldCfg.PreviousKeys, newCfg.PreviousKeys) {
		writeCfg = true
	}
	if sameKey && (h.oldCfg == nil || h.oldCfg.Salt != newCfg.Salt) {
		// The same key with another salt: what was remembered is no longer its AES key.
		tx.forgetRemembered(h.account)
	}
	if writeCfg {
		if err := tx.saveConfig(h.cfgPath, newCfg); err != nil {
			return "", "", fail.Wrap(fail.Failure, err, "check the permissions of "+filepath.Dir(h.cfgPath), "write the config (nothing was replaced)")
		}
	}
	tx.commit()
	return keptKey, keptConfig, nil
}

// oldKeyAccount is where a replaced key is kept: "<repo>/<env>#<fingerprint>".
func oldKeyAccount(repoName, env, fingerprint string) string {
	return keychain.Account(repoName, env) + "#" + fingerprint
}

// keepKey stores key under its "#<fingerprint>" account, which may already
// hold it; an entry holding another key is never overwritten.
func (t *halvesTx) keepKey(repoName, env, key string) (account string, err error) {
	account = oldKeyAccount(repoName, env, sls1.Fingerprint(key))
	cur, err := t.a.Keychain.Get(t.ctx, account)
	switch {
	case err == nil && strings.TrimSpace(cur) == key:
		return account, nil
	case err == nil:
		return "", fail.New(fail.Refused, "inspect the keychain entry "+keychain.Service+" "+account+" and remove it if it is not needed",
			"the keychain entry %s already holds another key; refusing to overwrite it", account)
	case !errors.Is(err, keychain.ErrNotFound):
		return "", err
	}
	return account, t.setKey(account, key)
}

// keepOldConfig copies a config file that is about to be replaced to
// env_<env>.bak-<fingerprint of its key> beside it (the "." keeps it out of
// config.ListEnvs), never over another file. created is false when an equal copy
// was there already.
func keepOldConfig(cfgPath string, data []byte, key string, now time.Time) (p string, created bool, err error) {
	tag := rqem.FormatTS(now)
	if key != "" {
		tag = sls1.Fingerprint(key)
	}
	base := cfgPath + ".bak-" + tag
	p = base
	for i := 2; ; i++ {
		old, err := atomicfile.ReadRegularFollow(p, config.MaxBytes)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err == nil && bytes.Equal(old, data) {
			return p, false, nil
		}
		p = fmt.Sprintf("%s-%d", base, i)
	}
	return p, true, atomicfile.WriteNew(p, data, 0o600)
}
