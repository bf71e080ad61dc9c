package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
)

// teammate is a second machine (own config folder and keychain) on the same store.
func teammate(t *testing.T, m *machine) *machine {
	m2 := newMachine(t)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if v, ok := m.env[k]; ok {
			m2.env[k] = v
		}
	}
	return m2
}

// handShare exports dev from c and imports it into d.
func handShare(t *testing.T, c, d *clone, force bool) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dev.share")
	res, err := c.app.Export(bg, c.app.Resolve(""), "dev", ExportOptions{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.app.Import(bg, d.app.Resolve(""), "dev", out, res.Passphrase, ImportOptions{Force: force, NoHooks: true}); err != nil {
		t.Fatal(err)
	}
}

// Issue 10.1: init on an env the store already holds refuses (exit 3) with the
// import hint and writes nothing; --force-new-key goes ahead and says what it
// does to teammates.
func TestInitRefusesEnvTheStoreHolds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, ts := setup(t, m, storeURL)
		before := bucketAll(t, a)
		b := teammate(t, m).newClone("b")
		_, err := b.app.Init(bg, b.app.Resolve(""), "dev", InitOptions{Store: storeURL, NoHooks: true})
		wantCode(t, err, fail.Refused, "already holds acme_web/dev (latest version "+ts+")")
		if h := fail.HintOf(err); !strings.Contains(h, "git vsync import dev FILE.share") || !strings.Contains(h, "--force-new-key") {
			t.Fatalf("hint: %s", h)
		}
		if _, err := b.kc.Get(bg, keychain.Account("acme_web", "dev")); err == nil {
			t.Fatal("a refused init stored a key")
		}
		if _, err := os.Stat(filepath.Join(b.ConfigDir(), "acme_web", "env_dev")); !os.IsNotExist(err) {
			t.Fatalf("a refused init wrote a config: %v", err)
		}
		sameTree(t, bucketAll(t, a), before)

		// The way the hint names works: import a share, pull.
		handShare(t, a, b, false)
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, tree(t, b.vault("dev")), tree(t, a.vault("dev")))

		// --force-new-key on a third machine: a new key, a warning for teammates.
		c := teammate(t, m).newClone("c")
		res, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{Store: storeURL, NoHooks: true, ForceNewKey: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.StoreLatest != ts || len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, " "), "teammates cannot open") {
			t.Fatalf("force-new-key result: %+v", res)
		}
		c.write("dev", ".env.dev", "API_TOKEN=restart\n")
		if _, err := c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		// a's post-checkout hook, pull and doctor now give the one complete command.
		a.log.Reset()
		a.app.HookPostCheckout(bg, a.app.Resolve(""), []string{"0", "0", "1"})
		if !strings.Contains(a.log.String(), "git vsync import dev FILE.share --force") {
			t.Fatalf("post-checkout said: %s", a.log.String())
		}
		doc, err := a.app.Doctor(bg, a.app.Resolve(""), "dev")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range doc.Checks {
			found = found || (c.Name == "latest version" && strings.Contains(c.Hint, "git vsync import dev FILE.share --force"))
		}
		if !found {
			t.Fatalf("doctor: %+v", doc.Checks)
		}
		_, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{})
		wantCode(t, err, fail.Integrity, "does not open with this machine's key")
		if !strings.Contains(fail.HintOf(err), "git vsync import dev FILE.share --force") {
			t.Fatalf("hint: %s", fail.HintOf(err))
		}
		handShare(t, c, a, true)
		if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := tree(t, a.vault("dev"))[".env.dev"]; got != "API_TOKEN=restart\n" {
			t.Fatalf("after the new share a has %q", got)
		}
	})
}

// Issue 10.8: the config folder is deleted while the key stays in the keychain.
// Every command's hint leads back in one step, and init --adopt-key does it with
// the CI token (it checks the key opens latest before writing).
func TestLostConfigRecovery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, _ := setup(t, m, storeURL)
		token, err := a.app.CIToken(a.app.Resolve(""), "dev")
		if err != nil {
			t.Fatal(err)
		}
		cfgRoot := m.ConfigDir()
		if err := os.RemoveAll(cfgRoot); err != nil {
			t.Fatal(err)
		}
		for name, run := range map[string]func() error{
			"pull":     func() error { _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); return err },
			"push":     func() error { _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); return err },
			"versions": func() error { _, err := a.app.Versions(bg, a.app.Resolve(""), "dev"); return err },
			"init": func() error {
				_, err := a.app.Init(bg, a.app.Resolve(""), "dev", InitOptions{Store: storeURL, NoHooks: true})
				return err
			},
		} {
			err := run()
			wantCode(t, err, fail.NotSetUp, "has a key in this machine's keychain but no config")
			h := fail.HintOf(err)
			if !strings.Contains(h, "git vsync import dev FILE.share --force") || !strings.Contains(h, "git vsync init dev --adopt-key") {
				t.Fatalf("%s hint: %s", name, h)
			}
		}
		st, err := a.app.Status(bg, a.app.Resolve(""), false)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Envs) != 1 || st.Envs[0].Env != "dev" || !strings.Contains(st.Envs[0].ConfigHint, "--adopt-key") {
			t.Fatalf("status: %+v", st.Envs)
		}
		doc, err := a.app.Doctor(bg, a.app.Resolve(""), "")
		if err != nil {
			t.Fatal(err)
		}
		if doc.Code != int(fail.NotSetUp) {
			t.Fatalf("doctor exit %d: %+v", doc.Code, doc.Checks)
		}

		// --adopt-key without the salt: refused, nothing written.
		_, err = a.app.Init(bg, a.app.Resolve(""), "dev", InitOptions{Store: storeURL, NoHooks: true, AdoptKey: true})
		wantCode(t, err, fail.Integrity, "does not open the latest version")
		if !strings.Contains(fail.HintOf(err), "VSYNC_CONFIG") {
			t.Fatalf("hint: %s", fail.HintOf(err))
		}
		if _, err := os.Stat(filepath.Join(cfgRoot, "acme_web", "env_dev")); !os.IsNotExist(err) {
			t.Fatalf("a refused adopt wrote a config: %v", err)
		}
		// With the CI token: the config is written around the key; pull works.
		m.env["VSYNC_CONFIG"] = token
		res, err := a.app.Init(bg, a.app.Resolve(""), "dev", InitOptions{NoHooks: true, AdoptKey: true})
		if err != nil {
			t.Fatal(err)
		}
		delete(m.env, "VSYNC_CONFIG")
		if !res.Adopted {
			t.Fatalf("%+v", res)
		}
		if _, err := os.Stat(filepath.Join(cfgRoot, "acme_web", "env_dev")); err != nil {
			t.Fatal(err)
		}
		if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

// Issue 10.8: a typo'd env lists the envs that exist instead of suggesting to
// create the typo.
func TestTypoEnvListsEnvs(t *testing.T) {
	m := newMachine(t)
	a := m.newClone("a")
	store := "file://" + filepath.ToSlash(t.TempDir())
	for _, env := range []string{"dev", "staging"} {
		if _, err := a.app.Init(bg, a.app.Resolve(""), env, InitOptions{Store: store, NoHooks: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.app.Pull(bg, a.app.Resolve(""), "stagng", PullOptions{})
	wantCode(t, err, fail.NotSetUp, `no env "stagng" for acme_web on this machine (set up here: dev, staging)`)
	h := fail.HintOf(err)
	if !strings.Contains(h, "did you mean staging?") || strings.Contains(h, "init stagng") {
		t.Fatalf("hint: %s", h)
	}
}
