package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// The two halves (config file, keychain entries) change together or not at all:
// init, import, rotate and keystore import each get a failure injected after
// their first write, and both halves must be as before — every keychain entry
// the command touched holds its old value (or is absent again) and the config
// folder is byte for byte what it was. The keychain is the real one (gnome-keyring
// under scripts/ci-env.sh); a wrapper only makes chosen writes fail.

// watchedKeychain is a real keychain that remembers, for every entry written or
// deleted, what it held first, and fails Set for accounts failSet matches.
type watchedKeychain struct {
	keychain.Keychain
	mu      sync.Mutex
	before  map[string]*string // nil value: the entry did not exist
	failSet func(account string) bool
	derived *watchedKeychain // the remembered keys (App.Remembered), watched alike
}

func (w *watchedKeychain) remember(ctx context.Context, account string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.before[account]; ok {
		return
	}
	v, err := w.Keychain.Get(ctx, account)
	if err != nil {
		w.before[account] = nil
		return
	}
	w.before[account] = &v
}

func (w *watchedKeychain) Set(ctx context.Context, account, secret string) error {
	w.remember(ctx, account)
	if w.failSet != nil && w.failSet(account) {
		return &fail.Error{Code: fail.NotSetUp, What: "injected keychain failure", Hint: "none"}
	}
	return w.Keychain.Set(ctx, account, secret)
}

func (w *watchedKeychain) Delete(ctx context.Context, account string) error {
	w.remember(ctx, account)
	return w.Keychain.Delete(ctx, account)
}

// unchanged fails the test for every touched entry that differs from its first value,
// the remembered keys included.
func (w *watchedKeychain) unchanged(t *testing.T) {
	t.Helper()
	if len(w.before) == 0 {
		t.Fatal("no keychain entry was written: the failure was not after the first half")
	}
	if w.derived != nil {
		w.derived.sameAsBefore(t)
	}
	w.sameAsBefore(t)
}

func (w *watchedKeychain) sameAsBefore(t *testing.T) {
	t.Helper()
	for account, was := range w.before {
		now, err := w.Keychain.Get(bg, account)
		switch {
		case was == nil && !errors.Is(err, keychain.ErrNotFound):
			t.Errorf("keychain entry %s was absent and is now there (%v)", account, err)
		case was != nil && (err != nil || now != *was):
			t.Errorf("keychain entry %s was not put back (%v)", account, err)
		}
	}
}

// realKeychain returns the OS keychain, watched, with its remembered keys
// (keychain.NativeDerived) watched in derived; entries they wrote are removed
// after the test. Without one it skips (fails under CI=true).
func realKeychain(t *testing.T) *watchedKeychain {
	t.Helper()
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		testenv.Missing(t, "no D-Bus session bus for the keychain; run under scripts/ci-env.sh")
	}
	kc := keychain.Native()
	probe := "vsync-test-probe/" + uniq(t)
	if err := kc.Set(bg, probe, "x"); err != nil {
		testenv.Missing(t, "no usable keychain: %v", err)
	}
	_ = kc.Delete(bg, probe)
	w := watched(t, kc)
	w.derived = watched(t, keychain.NativeDerived())
	return w
}

func watched(t *testing.T, kc keychain.Keychain) *watchedKeychain {
	w := &watchedKeychain{Keychain: kc, before: map[string]*string{}}
	t.Cleanup(func() {
		for account := range w.before {
			_ = kc.Delete(bg, account)
		}
	})
	return w
}

func uniq(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// halvesMachine is a machine whose clone "b" uses the real keychain under a
// repository name of its own, so parallel runs never share keychain entries.
func halvesMachine(t *testing.T) (*machine, *clone, *watchedKeychain, string) {
	m := newMachine(t)
	c := m.newClone("b")
	repoName := "halves_" + uniq(t)
	if err := os.WriteFile(filepath.Join(c.dir, ".vsync"), []byte("repo="+repoName+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kc := realKeychain(t)
	c.app.Keychain, c.app.Remembered = kc, kc.derived
	return m, c, kc, repoName
}

// failConfigWrites makes every config write fail until the test ends.
func failConfigWrites(t *testing.T) {
	old := saveConfigFile
	saveConfigFile = func(*config.File, string) error { return errors.New("injected config write failure") }
	t.Cleanup(func() { saveConfigFile = old })
}

// inject arms the fault named: every config write fails, or the keychain
// writes keyFault picks.
func inject(t *testing.T, fault string, kc *watchedKeychain, keyFault func(account string) bool) {
	switch fault {
	case "config":
		failConfigWrites(t)
	case "keychain":
		kc.failSet = keyFault
	default:
		t.Fatalf("unknown fault %q", fault)
	}
}

func wantInjected(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("%s: want the injected failure, got %v", what, err)
	}
}

func configTree(t *testing.T, m *machine) map[string]string {
	return tree(t, m.env["XDG_CONFIG_HOME"])
}

// watch starts recording from now: entries written before (the setup) count as
// they are now.
func (w *watchedKeychain) watch() {
	w.mu.Lock()
	w.before = map[string]*string{}
	w.mu.Unlock()
	if w.derived != nil {
		w.derived.watch()
	}
}

func TestHalvesInitRollsBack(t *testing.T) {
	for _, fault := range []string{"config", "keychain"} {
		t.Run(fault, func(t *testing.T) {
			m, c, kc, repoName := halvesMachine(t)
			before := configTree(t, m)
			inject(t, fault, kc, func(string) bool { return true })
			_, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true})
			wantInjected(t, err, "init")
			kc.unchanged(t)
			if _, err := kc.Keychain.Get(bg, keychain.Account(repoName, "dev")); !errors.Is(err, keychain.ErrNotFound) {
				t.Errorf("a key was left behind: %v", err)
			}
			sameTree(t, configTree(t, m), before)
		})
	}
}

// withHalves gives clone b its own halves of dev (its own key and store), the
// ones an import or keystore import with --force would replace, and a version
// pushed with them, which leaves the key's AES key remembered.
func withHalves(t *testing.T, c *clone, kc *watchedKeychain) {
	t.Helper()
	if _, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	c.write("dev", ".env.dev", "A=1\n")
	if _, err := c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	id, err := c.app.Resolve("").Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.derived.Get(bg, keychain.Account(id.Name, "dev")); err != nil {
		t.Fatalf("push left no remembered key: %v", err)
	}
	kc.watch()
}

// otherMachine sets up dev of repoName on a machine with the in-memory keychain
// and returns its clone.
func otherMachine(t *testing.T, repoName string) *clone {
	t.Helper()
	a := newMachine(t).newClone("a")
	if err := os.WriteFile(filepath.Join(a.dir, ".vsync"), []byte("repo="+repoName+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.app.Init(bg, a.app.Resolve(""), "dev", InitOptions{Store: fileStoreURL(t), NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestHalvesImportRollsBack(t *testing.T) {
	for _, fault := range []string{"config", "keychain"} {
		t.Run(fault, func(t *testing.T) {
			m, c, kc, repoName := halvesMachine(t)
			withHalves(t, c, kc)
			a := otherMachine(t, repoName)
			share := filepath.Join(a.home, "dev.share")
			if _, err := a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Passphrase: "long enough passphrase", Out: share, AllowLocalStore: true}); err != nil {
				t.Fatal(err)
			}
			before := configTree(t, m)
			// The old key is kept aside first; the new key's write fails.
			inject(t, fault, kc, func(acct string) bool { return !strings.Contains(acct, "#") })
			_, err := c.app.Import(bg, c.app.Resolve(""), "dev", share, "long enough passphrase", ImportOptions{Force: true, NoHooks: true})
			wantInjected(t, err, "import")
			kc.unchanged(t)
			sameTree(t, configTree(t, m), before)
		})
	}
}

func TestHalvesRotateRollsBack(t *testing.T) {
	for _, fault := range []string{"config", "keychain"} {
		t.Run(fault, func(t *testing.T) {
			m, c, kc, _ := halvesMachine(t)
			withHalves(t, c, kc)
			before, store := configTree(t, m), bucketAll(t, c)
			// The old key is kept aside first; parking the new one fails.
			first := true
			inject(t, fault, kc, func(string) bool { f := !first; first = false; return f })
			_, err := c.app.Rotate(bg, c.app.Resolve(""), "dev", RotateOptions{})
			wantInjected(t, err, "rotate")
			kc.unchanged(t)
			sameTree(t, configTree(t, m), before)
			sameTree(t, bucketAll(t, c), store)
		})
	}
}

func TestHalvesKeystoreImportRollsBack(t *testing.T) {
	for _, fault := range []string{"config", "keychain"} {
		t.Run(fault, func(t *testing.T) {
			m, c, kc, repoName := halvesMachine(t)
			withHalves(t, c, kc)
			a := otherMachine(t, repoName)
			file := filepath.Join(a.home, "x.keytree")
			const pass = "long enough passphrase"
			if _, err := a.app.KeystoreExport(bg, KeystoreExportOptions{Pairs: [][2]string{{repoName, "dev"}}, Out: file, Passphrase: pass}); err != nil {
				t.Fatal(err)
			}
			before := configTree(t, m)
			inject(t, fault, kc, func(acct string) bool { return !strings.Contains(acct, "#") })
			_, err := c.app.KeystoreImport(bg, file, pass, KeystoreImportOptions{Force: true})
			wantInjected(t, err, "keystore import")
			kc.unchanged(t)
			sameTree(t, configTree(t, m), before)
		})
	}
}
