package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
)

// tsKeytree builds a .keytree file as SPEC §14.2 describes it, without any of our
// envelope code.
func tsKeytree(t *testing.T, passphrase string, payload any) []byte {
	t.Helper()
	plain, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return sealFramed(t, "VKT1", passphrase, plain)
}

// readKeytree opens a .keytree file without any of our envelope code.
func readKeytree(t *testing.T, passphrase string, data []byte) map[string]any {
	t.Helper()
	plain := openFramed(t, "VKT1", passphrase, data)
	var p map[string]any
	if err := json.Unmarshal(plain, &p); err != nil {
		t.Fatalf("plaintext is not raw JSON: %v", err)
	}
	return p
}

func TestKeystoreExportReadByIndependentReader(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("a")
	for _, env := range []string{"dev", "prod"} {
		if _, err := c.app.Init(bg, c.app.Resolve(""), env, InitOptions{NoHooks: true, Store: "file://" + filepath.ToSlash(t.TempDir()) + "#team"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.app.ProfileAdd(ProfileInput{Name: "team", Endpoint: "https://minio.example:9000", Bucket: "b", AccessKeyID: "AK", SecretAccessKey: "SK-secret"}); err != nil {
		t.Fatal(err)
	}
	// A config without a key is skipped by --all.
	os.WriteFile(filepath.Join(m.ConfigDir(), "acme_web", "env_stage"), mustBytes(t, "dev", m), 0o600)

	out := filepath.Join(m.home, "m.keytree")
	res, err := c.app.KeystoreExport(bg, KeystoreExportOptions{All: true, Profiles: true, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 2 || len(res.Profiles) != 1 || len(res.Skipped) != 1 || len(res.Passphrase) != 14 {
		t.Fatalf("result entries %v profiles %v skipped %v", res.Entries, res.Profiles, res.Skipped)
	}
	fi, _ := os.Stat(out)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	data, _ := os.ReadFile(out)
	p := readKeytree(t, res.Passphrase, data)
	if p["version"] != float64(1) || p["exportedAt"] == "" {
		t.Fatalf("version/exportedAt: %v %v", p["version"], p["exportedAt"])
	}
	entries := p["entries"].([]any)
	for i, env := range []string{"dev", "prod"} {
		e := entries[i].(map[string]any)
		key, _ := m.kc.Get(bg, "acme_web/"+env)
		if e["repo"] != "acme_web" || e["env"] != env || e["key"] != key {
			t.Fatalf("entry %d: repo %v env %v", i, e["repo"], e["env"])
		}
		cj, _ := json.Marshal(e["config"])
		tsReadableJSON(t, cj)
	}
	prof := p["profiles"].([]any)[0].(map[string]any)
	if prof["name"] != "team" || prof["secretAccessKey"] != "SK-secret" || prof["version"] != float64(1) {
		t.Fatalf("profile %v", prof["name"])
	}
	// Not over an existing file without --force.
	_, err = c.app.KeystoreExport(bg, KeystoreExportOptions{All: true, Out: out})
	wantCode(t, err, fail.Refused, "already exists")
	// A named pair without both halves is an error.
	_, err = c.app.KeystoreExport(bg, KeystoreExportOptions{Pairs: [][2]string{{"acme_web", "stage"}}, Out: out + "2"})
	wantCode(t, err, fail.NotSetUp, "both halves")
}

// mustBytes is the config file of env on m.
func mustBytes(t *testing.T, env string, m *machine) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.ConfigDir(), "acme_web", "env_"+env))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeystoreImportTypeScriptFile(t *testing.T) {
	m := newMachine(t)
	c := m.bareClone("a")
	cfg := tsConfig(t.TempDir())
	pass := "long enough passphrase"
	payload := map[string]any{
		"version": 1, "exportedAt": "2026-01-01T00:00:00.000Z",
		"entries": []any{
			map[string]any{"repo": "acme_web", "env": "dev", "config": cfg, "key": tsKey},
			map[string]any{"repo": "billing", "env": "prod", "config": cfg, "key": tsKey},
		},
		"profiles": []any{map[string]any{"name": "team", "version": 1, "endpoint": "https://r2.example", "region": "auto", "bucket": "b", "accessKeyId": "A", "secretAccessKey": "S"}},
	}
	file := writeFile(t, m.home, "old.keytree", tsKeytree(t, pass, payload))
	root := m.ConfigDir()

	// Broken files write nothing: a wrong passphrase, an invalid entry anywhere.
	_, err := c.app.KeystoreImport(bg, file, "wrong passphrase", KeystoreImportOptions{})
	wantCode(t, err, fail.Integrity, "wrong passphrase")
	for name, mutate := range map[string]func(p map[string]any){
		"bad env": func(p map[string]any) { p["entries"].([]any)[1].(map[string]any)["env"] = "Prod!" },
		"bad config": func(p map[string]any) {
			p["entries"].([]any)[1].(map[string]any)["config"] = map[string]any{"version": 2}
		},
		"bad profile": func(p map[string]any) { p["profiles"].([]any)[0].(map[string]any)["name"] = "../x" },
		"duplicate":   func(p map[string]any) { p["entries"] = append(p["entries"].([]any), p["entries"].([]any)[0]) },
	} {
		js, _ := json.Marshal(payload)
		var p map[string]any
		json.Unmarshal(js, &p)
		mutate(p)
		bad := writeFile(t, m.home, "bad.keytree", tsKeytree(t, pass, p))
		_, err := c.app.KeystoreImport(bg, bad, pass, KeystoreImportOptions{})
		wantCode(t, err, fail.Integrity, "")
		if _, err := os.Stat(root); !os.IsNotExist(err) {
			t.Fatalf("%s: wrote %s", name, root)
		}
		if _, err := m.kc.Get(bg, "acme_web/dev"); err == nil {
			t.Fatalf("%s: wrote a key", name)
		}
	}

	res, err := c.app.KeystoreImport(bg, file, pass, KeystoreImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Added, ",") != "acme_web/dev,billing/prod,profile team" || len(res.Kept)+len(res.Replaced)+len(res.Differs) != 0 {
		t.Fatalf("first import: %+v", res)
	}
	for _, acct := range []string{"acme_web/dev", "billing/prod"} {
		if k, err := m.kc.Get(bg, acct); err != nil || k != tsKey {
			t.Fatalf("keychain %s: %v", acct, err)
		}
	}
	tsReadable(t, filepath.Join(root, "billing", "env_prod"))
	if p, err := config.LoadProfile(root, "team"); err != nil || p.Endpoint != "https://r2.example" {
		t.Fatalf("profile: %v", err)
	}

	// Again: everything kept.
	res, err = c.app.KeystoreImport(bg, file, pass, KeystoreImportOptions{})
	if err != nil || len(res.Kept) != 3 || len(res.Added) != 0 {
		t.Fatalf("second import: %+v %v", res, err)
	}

	// This machine has another key for dev now: kept without --force, replaced
	// with it (the old key kept aside).
	newKey, _ := keychain.NewKey()
	m.kc.Set(bg, "acme_web/dev", newKey)
	res, err = c.app.KeystoreImport(bg, file, pass, KeystoreImportOptions{})
	if err != nil || strings.Join(res.Differs, ",") != "acme_web/dev" {
		t.Fatalf("import over another key: %+v %v", res, err)
	}
	if k, _ := m.kc.Get(bg, "acme_web/dev"); k != newKey {
		t.Fatal("the local key was replaced without --force")
	}
	res, err = c.app.KeystoreImport(bg, file, pass, KeystoreImportOptions{Force: true})
	if err != nil || strings.Join(res.Replaced, ",") != "acme_web/dev" {
		t.Fatalf("--force: %+v %v", res, err)
	}
	if k, _ := m.kc.Get(bg, "acme_web/dev"); k != tsKey {
		t.Fatal("not replaced")
	}
	if k, err := m.kc.Get(bg, oldKeyAccount("acme_web", "dev", sls1.Fingerprint(newKey))); err != nil || k != newKey {
		t.Fatalf("old key not kept aside: %v", err)
	}
}

// Export on one machine, import on another: both halves arrive and pull works.
func TestKeystoreRoundTrip(t *testing.T) {
	m1 := newMachine(t)
	a, _ := setup(t, m1, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	passFile := writeFile(t, m1.home, "pass", []byte("long enough passphrase\n"))
	pass, _ := a.app.ReadPassphraseFile(passFile)
	out := filepath.Join(m1.home, "x.keytree")
	if _, err := a.app.KeystoreExport(bg, KeystoreExportOptions{Pairs: [][2]string{{"acme_web", "dev"}}, Out: out, Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	m2 := newMachine(t)
	b := m2.newClone("b")
	res, err := b.app.KeystoreImport(bg, out, pass, KeystoreImportOptions{})
	if err != nil || strings.Join(res.Added, ",") != "acme_web/dev" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, b.vault("dev")), tree(t, a.vault("dev")))
	list, err := b.app.KeystoreList(bg)
	if err != nil || len(list) != 1 || !list[0].Config || !list[0].Key || list[0].LastSync == "" || list[0].SyncedBy != "this clone" {
		t.Fatalf("list %+v %v", list, err)
	}
}
