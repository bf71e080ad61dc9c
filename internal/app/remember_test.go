package app

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
)

// Remembered keys (remember.go) against the real keychain (gnome-keyring under
// scripts/ci-env.sh). A new process is played by a new App after kdf.ForgetCache;
// kdf.Derivations tells whether PBKDF2 ran.

// rememberSetup is a clone b of repoName with the real keychain and its remembered
// keys, dev set up and pushed once; it returns the key's account.
func rememberSetup(t *testing.T) (*machine, *clone, *watchedKeychain, string) {
	t.Helper()
	m, c, kc, repoName := halvesMachine(t)
	if _, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	c.write("dev", ".env.dev", "A=1\n")
	if _, err := c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	return m, c, kc, keychain.Account(repoName, "dev")
}

// newProcess gives c a new App with the same world and empties the cache of
// derived keys, as a new git-vsync process starts.
func (c *clone) newProcess(t *testing.T) {
	a := *c.app
	c.app = &a
	kdf.ForgetCache(t)
}

// realClone is another clone of repoName on m, with keychain kc.
func (m *machine) realClone(t *testing.T, name, repoName string, kc *watchedKeychain) *clone {
	c := m.newClone(name)
	if err := os.WriteFile(filepath.Join(c.dir, ".vsync"), []byte("repo="+repoName+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.app.Keychain, c.app.Remembered = kc, kc.derived
	return c
}

// wantAES is the AES key of dev on c computed here, from the keychain's key and the
// config's salt, without the kdf package.
func wantAES(t *testing.T, c *clone, kc *watchedKeychain, account string) (key, salt string, aes []byte) {
	t.Helper()
	key, err := kc.Keychain.Get(bg, account)
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.app.Resolve("").Get()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := w.LoadConfig("dev")
	if err != nil {
		t.Fatal(err)
	}
	aes, err = pbkdf2.Key(sha256.New, key, []byte(cfg.Salt), kdf.Count(), kdf.KeyLen)
	if err != nil {
		t.Fatal(err)
	}
	return key, cfg.Salt, aes
}

// wantRemembered fails unless the remembered entry of account holds c's AES key.
func wantRemembered(t *testing.T, c *clone, kc *watchedKeychain, account string) {
	t.Helper()
	key, salt, aes := wantAES(t, c, kc, account)
	v, err := kc.derived.Keychain.Get(bg, account)
	if err != nil {
		t.Fatalf("no remembered key for %s: %v", account, err)
	}
	if v != keychain.EncodeDerived(key, salt, kdf.Count(), aes) {
		t.Fatalf("the remembered key of %s is not the key PBKDF2 gives", account)
	}
}

func wantForgotten(t *testing.T, kc *watchedKeychain, account string) {
	t.Helper()
	if _, err := kc.derived.Keychain.Get(bg, account); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("the remembered key of %s is still there (%v)", account, err)
	}
}

// derives runs fn in a new process of c and returns how many PBKDF2 runs it made.
func derives(t *testing.T, c *clone, fn func()) int {
	t.Helper()
	c.newProcess(t)
	n := kdf.Derivations(t)
	fn()
	return kdf.Derivations(t) - n
}

func (c *clone) push(t *testing.T, content string) {
	t.Helper()
	c.write("dev", ".env.dev", content)
	if _, err := c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (c *clone) pull(t *testing.T) {
	t.Helper()
	if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestRememberedKeySparesTheDerivation(t *testing.T) {
	m, c, kc, account := rememberSetup(t)
	wantRemembered(t, c, kc, account)
	if n := derives(t, c, func() { c.push(t, "A=2\n") }); n != 0 {
		t.Fatalf("a push with the key remembered derived %d keys", n)
	}
	repoName, _, _ := strings.Cut(account, "/")
	other := m.realClone(t, "c", repoName, kc)
	if n := derives(t, other, func() { other.pull(t) }); n != 0 {
		t.Fatalf("a pull with the key remembered derived %d keys", n)
	}
	// What the push sealed with the remembered key opens with the key derived
	// from the keychain's key: a clone that remembers nothing pulls it.
	fresh := m.realClone(t, "d", repoName, kc)
	fresh.app.Remembered = nil
	if n := derives(t, fresh, func() { fresh.pull(t) }); n != 1 {
		t.Fatalf("a pull without remembered keys derived %d keys, want 1", n)
	}
	if b, err := os.ReadFile(filepath.Join(fresh.vault("dev"), ".env.dev")); err != nil || string(b) != "A=2\n" {
		t.Fatalf("pulled %q, %v", b, err)
	}
}

// init derives the key it makes while it does the rest, so the first push does not.
func TestRememberedKeyFromInit(t *testing.T) {
	_, c, kc, repoName := halvesMachine(t)
	account := keychain.Account(repoName, "dev")
	if _, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	wantRemembered(t, c, kc, account)
	if n := derives(t, c, func() { c.push(t, "A=1\n") }); n != 0 {
		t.Fatalf("the first push after init derived %d keys", n)
	}
	// --adopt-key with an empty store has no version to check the key against.
	w, err := c.app.Resolve("").Get()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(w.ConfigPath("dev")); err != nil {
		t.Fatal(err)
	}
	if err := kc.derived.Keychain.Delete(bg, account); err != nil {
		t.Fatal(err)
	}
	if n := derives(t, c, func() {
		if _, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true, AdoptKey: true}); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("init --adopt-key derived %d keys, want 1", n)
	}
	wantRemembered(t, c, kc, account)
}

func TestRememberedKeyStaleOrDamagedIsDerivedAgain(t *testing.T) {
	_, c, kc, account := rememberSetup(t)
	valid, err := kc.derived.Keychain.Get(bg, account)
	if err != nil {
		t.Fatal(err)
	}
	key, salt, aes := wantAES(t, c, kc, account)
	parts := strings.Split(valid, ".")
	flip := func(b64 string) string {
		b, _ := base64.StdEncoding.DecodeString(b64)
		b[0] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	for name, value := range map[string]string{
		"wrong key":   parts[0] + "." + flip(parts[1]) + "." + parts[2],
		"wrong tag":   parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"garbage":     "not a remembered key",
		"oversize":    valid + strings.Repeat("A", 200),
		"other salt":  keychain.EncodeDerived(key, salt+"x", kdf.Count(), aes),
		"other count": keychain.EncodeDerived(key, salt, kdf.Count()+1, aes),
	} {
		if err := kc.derived.Keychain.Set(bg, account, value); err != nil {
			t.Fatal(err)
		}
		if n := derives(t, c, func() { c.push(t, "A="+name+"\n") }); n != 1 {
			t.Fatalf("%s: a push derived %d keys, want 1", name, n)
		}
		wantRemembered(t, c, kc, account)
	}

	// Rotate reads the old AES key, derives the new one only, and remembers it.
	if n := derives(t, c, func() {
		if _, err := c.app.Rotate(bg, c.app.Resolve(""), "dev", RotateOptions{}); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("rotate derived %d keys, want 1 (the new one)", n)
	}
	wantRemembered(t, c, kc, account)
	// The entry of the old key, as a failed removal would leave it, is not used.
	if err := kc.derived.Keychain.Set(bg, account, valid); err != nil {
		t.Fatal(err)
	}
	if n := derives(t, c, func() { c.push(t, "A=rotated\n") }); n != 1 {
		t.Fatalf("after rotate: a push derived %d keys, want 1", n)
	}
	wantRemembered(t, c, kc, account)
}

// A key from the environment (CI) is derived every time and written nowhere.
func TestRememberedKeyNotForKeysFromTheEnvironment(t *testing.T) {
	m, c, kc, account := rememberSetup(t)
	key, err := kc.Keychain.Get(bg, account)
	if err != nil {
		t.Fatal(err)
	}
	if err := kc.derived.Keychain.Delete(bg, account); err != nil {
		t.Fatal(err)
	}
	m.Setenv(keychain.EnvVar("dev"), key)
	if n := derives(t, c, func() { c.push(t, "A=ci\n") }); n != 1 {
		t.Fatalf("a push with VSYNC_KEY_DEV derived %d keys, want 1", n)
	}
	wantForgotten(t, kc, account)
}

func TestRememberedKeyGoesWithItsKey(t *testing.T) {
	const pass = "long enough passphrase"
	t.Run("import", func(t *testing.T) {
		_, c, kc, account := rememberSetup(t)
		repoName, _, _ := strings.Cut(account, "/")
		a := otherMachine(t, repoName)
		share := filepath.Join(a.home, "dev.share")
		if _, err := a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Passphrase: pass, Out: share, AllowLocalStore: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.app.Import(bg, c.app.Resolve(""), "dev", share, pass, ImportOptions{Force: true, NoHooks: true}); err != nil {
			t.Fatal(err)
		}
		// The old key's entry went with it; import derived the new key while it
		// wrote the halves and remembered it.
		wantRemembered(t, c, kc, account)
		if n := derives(t, c, func() {
			// --force: this clone's vault was pulled with the key import replaced.
			if _, err := c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Fatalf("the first push after import derived %d keys", n)
		}
	})
	t.Run("import --verify", func(t *testing.T) {
		_, c, kc, account := rememberSetup(t)
		repoName, _, _ := strings.Cut(account, "/")
		a := otherMachine(t, repoName)
		a.write("dev", ".env.dev", "B=1\n")
		if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
			t.Fatal(err)
		}
		share := filepath.Join(a.home, "dev.share")
		if _, err := a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Passphrase: pass, Out: share, AllowLocalStore: true}); err != nil {
			t.Fatal(err)
		}
		c.newProcess(t)
		if _, err := c.app.Import(bg, c.app.Resolve(""), "dev", share, pass, ImportOptions{Force: true, NoHooks: true, Verify: true}); err != nil {
			t.Fatal(err)
		}
		// --verify derived the new key: the first pull after the import does not.
		wantRemembered(t, c, kc, account)
		if n := derives(t, c, func() {
			if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Fatalf("the first pull after import --verify derived %d keys", n)
		}
	})
	t.Run("keystore import", func(t *testing.T) {
		_, c, kc, account := rememberSetup(t)
		repoName, _, _ := strings.Cut(account, "/")
		a := otherMachine(t, repoName)
		file := filepath.Join(a.home, "x.keytree")
		if _, err := a.app.KeystoreExport(bg, KeystoreExportOptions{Pairs: [][2]string{{repoName, "dev"}}, Out: file, Passphrase: pass}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.app.KeystoreImport(bg, file, pass, KeystoreImportOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		wantForgotten(t, kc, account)
	})
}

// A key removed by hand leaves its remembered key behind; doctor names it.
func TestDoctorReportsAnOrphanedRememberedKey(t *testing.T) {
	_, c, kc, account := rememberSetup(t)
	check := func() *Check {
		rep, err := c.app.Doctor(bg, c.app.Resolve(""), "dev")
		if err != nil {
			t.Fatal(err)
		}
		for i := range rep.Checks {
			if rep.Checks[i].Name == "remembered key" {
				return &rep.Checks[i]
			}
		}
		return nil
	}
	if ch := check(); ch != nil {
		t.Fatalf("doctor reports %+v while the key is there", *ch)
	}
	if err := kc.Keychain.Delete(bg, account); err != nil {
		t.Fatal(err)
	}
	ch := check()
	if ch == nil || ch.Level != CheckWarn || !strings.Contains(ch.Hint, keychain.DerivedRemoveCommand(account)) {
		t.Fatalf("doctor after the key was removed by hand: %+v", ch)
	}
}

// A keychain that refuses the remembered keys costs a derivation, never the
// command, and says nothing.
func TestRememberedKeyFailuresAreSilent(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("a")
	if _, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	m.derived.Err = &fail.Error{Code: fail.NotSetUp, What: "injected remembered-key failure", Hint: "none", Err: keychain.ErrUnavailable}
	c.log.Reset()
	for i, content := range []string{"A=1\n", "A=2\n"} {
		if n := derives(t, c, func() { c.push(t, content) }); n != 1 {
			t.Fatalf("push %d derived %d keys, want 1", i, n)
		}
	}
	if strings.Contains(c.log.String(), "injected") || strings.Contains(c.log.String(), "warning") {
		t.Fatalf("the failure was reported:\n%s", c.log.String())
	}
	// Working again, the next push remembers the key and the one after reads it.
	m.derived.Err = nil
	c.newProcess(t)
	c.push(t, "A=3\n")
	if got := m.derived.Accounts(); len(got) != 1 || got[0] != "acme_web/dev" {
		t.Fatalf("remembered accounts = %v", got)
	}
	if n := derives(t, c, func() { c.push(t, "A=4\n") }); n != 0 {
		t.Fatalf("a push with the key remembered derived %d keys", n)
	}
}
