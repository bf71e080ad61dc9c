package app

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// tsShare builds a .share file the way SPEC §4.5 describes (as the TypeScript tool
// writes it), without any of our envelope code.
func tsShare(t *testing.T, passphrase string, payload map[string]any) []byte {
	t.Helper()
	js, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(js)
	zw.Close()
	plain := []byte(base64.StdEncoding.EncodeToString(gz.Bytes()))
	return sealFramed(t, "SLS1", passphrase, plain)
}

// sealFramed seals plain the way SLS1 and VKT1 files are framed (magic, salt length,
// 24-character salt, RQE1 under PBKDF2 of the passphrase), with the standard library
// only.
func sealFramed(t *testing.T, magic, passphrase string, plain []byte) []byte {
	t.Helper()
	raw := make([]byte, 16)
	rand.Read(raw)
	salt := base64.StdEncoding.EncodeToString(raw) // 24 chars with "=="
	key, err := pbkdf2.Key(sha256.New, passphrase, []byte(salt), testenv.KDFIterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	rand.Read(nonce)
	out := []byte(magic)
	out = append(out, byte(len(salt)))
	out = append(out, salt...)
	out = append(out, "RQE1"...)
	out = append(out, nonce...)
	return gcm.Seal(out, nonce, plain, nil)
}

// openFramed checks the framing of an SLS1 or VKT1 file and decrypts it, with the
// standard library only.
func openFramed(t *testing.T, magic, passphrase string, data []byte) []byte {
	t.Helper()
	if string(data[:4]) != magic {
		t.Fatalf("magic %q", data[:4])
	}
	l := int(data[4])
	salt := string(data[5 : 5+l])
	if l != 24 || !strings.HasSuffix(salt, "==") {
		t.Fatalf("salt %q is not 24 chars of base64 of 16 bytes", salt)
	}
	env := data[5+l:]
	if string(env[:4]) != "RQE1" {
		t.Fatalf("envelope magic %q", env[:4])
	}
	key, _ := pbkdf2.Key(sha256.New, passphrase, []byte(salt), testenv.KDFIterations, 32)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, env[4:16], env[16:], nil)
	if err != nil {
		t.Fatalf("GCM open: %v", err)
	}
	return plain
}

// readShare opens a .share file without any of our envelope code.
func readShare(t *testing.T, passphrase string, data []byte) map[string]any {
	t.Helper()
	plain := openFramed(t, "SLS1", passphrase, data)
	gz, err := base64.StdEncoding.DecodeString(string(plain))
	if err != nil {
		t.Fatalf("plaintext is not base64: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(zr)
	var p map[string]any
	if err := json.Unmarshal(js, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

const tsKey = "dGhpcyBpcyBhIDMyIGJ5dGUga2V5IGZvciB0ZXN0cyE="

func tsConfig(storeDir string) map[string]any {
	return map[string]any{
		"version":    1,
		"s3":         map[string]any{"endpoint": "file://" + filepath.ToSlash(storeDir), "region": "us-east-1", "bucket": "team", "accessKeyId": "", "secretAccessKey": "", "useSsl": true},
		"encryption": map[string]any{"salt": "c2FsdHNhbHRzYWx0c2FsdHNh"},
		"sync":       map[string]any{"gh": map[string]any{"repo": "acme/web"}},
		"prefix":     "acme_web/dev/",
	}
}

// bareClone is a git repository without pin or origin: no identity.
func (m *machine) bareClone(name string) *clone {
	m.t.Helper()
	c := m.newClone(name)
	os.Remove(filepath.Join(c.dir, ".vsync"))
	return c
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestShareImportTypeScriptFormat(t *testing.T) {
	m := newMachine(t)
	c := m.bareClone("b")
	share := writeFile(t, m.home, "ts.share", tsShare(t, "pass phrase 1", map[string]any{
		"version": 2, "repo": "acme_web", "env": "development", "config": tsConfig(t.TempDir()), "key": tsKey,
	}))
	res, err := c.app.Import(bg, c.app.Resolve(""), "dev", share, "pass phrase 1", ImportOptions{NoHooks: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Repo != "acme_web" || res.ShareEnv != "development" || !res.PinWritten || res.Fingerprint != sls1.Fingerprint(tsKey) {
		t.Fatalf("result %+v", res)
	}
	if k, err := m.kc.Get(bg, "acme_web/dev"); err != nil || k != tsKey {
		t.Fatalf("keychain: %v", err)
	}
	cfg, err := config.Load(filepath.Join(m.ConfigDir(), "acme_web", "env_dev"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Salt != "c2FsdHNhbHRzYWx0c2FsdHNh" || cfg.S3.Bucket != "team" || string(cfg.Sync) != `{"gh":{"repo":"acme/web"}}` {
		t.Fatalf("config %+v", cfg)
	}
	pin, _ := os.ReadFile(filepath.Join(c.dir, ".vsync"))
	if !strings.Contains(string(pin), "repo=acme_web\n") {
		t.Fatalf("pin %q", pin)
	}
	// The same share again: nothing to do.
	res, err = c.app.Import(bg, c.app.Resolve(""), "dev", share, "pass phrase 1", ImportOptions{NoHooks: true})
	if err != nil || !res.Unchanged {
		t.Fatalf("re-import: %+v %v", res, err)
	}
}

func TestShareExportReadByIndependentReader(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	passFile := writeFile(t, m.home, "pass", []byte("long enough passphrase\r\n"))
	pass, err := a.app.ReadPassphraseFile(passFile)
	if err != nil || pass != "long enough passphrase" {
		t.Fatalf("passphrase %q %v", pass, err)
	}
	res, err := a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Passphrase: pass})
	if err != nil {
		t.Fatal(err)
	}
	if res.Passphrase != "" || filepath.Base(res.Path) != "acme_web-dev.share" {
		t.Fatalf("result %+v", res)
	}
	fi, err := os.Stat(res.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("share file mode: %v %v", fi.Mode(), err)
	}
	data, _ := os.ReadFile(res.Path)
	p := readShare(t, pass, data)
	key, _ := m.kc.Get(bg, "acme_web/dev")
	if p["version"] != float64(2) || p["repo"] != "acme_web" || p["env"] != "dev" || p["key"] != key {
		t.Fatalf("payload version/repo/env/key wrong: %v %v %v", p["version"], p["repo"], p["env"])
	}
	cfg := p["config"].(map[string]any)
	e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	if cfg["version"] != float64(1) || cfg["encryption"].(map[string]any)["salt"] != e.Config.Salt {
		t.Fatalf("config in share: %v", cfg)
	}
	// Never over an existing file without --force.
	_, err = a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Passphrase: pass})
	wantCode(t, err, fail.Refused, "already exists")
	res2, err := a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Force: true})
	if err != nil || len(res2.Passphrase) != 14 {
		t.Fatalf("forced export with generated passphrase: %+v %v", res2, err)
	}
	// Short passphrases are refused.
	_, err = a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Passphrase: "short", Out: "x.share"})
	wantCode(t, err, fail.Usage, "at least 8")

	// A teammate on another machine imports it and pulls.
	m2 := newMachine(t)
	b := m2.newClone("b")
	if _, err := b.app.Import(bg, b.app.Resolve(""), "dev", res2.Path, res2.Passphrase, ImportOptions{NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, b.vault("dev")), tree(t, a.vault("dev")))
}

func TestShareBadInputWritesNothing(t *testing.T) {
	m := newMachine(t)
	good := tsShare(t, "right passphrase", map[string]any{"version": 2, "repo": "acme_web", "env": "dev", "config": tsConfig(t.TempDir()), "key": tsKey})
	flipped := bytes.Clone(good)
	flipped[len(flipped)-20] ^= 1
	bad := func(cfg any, key string) []byte {
		return tsShare(t, "right passphrase", map[string]any{"version": 2, "repo": "acme_web", "env": "dev", "config": cfg, "key": key})
	}
	escape := tsConfig(t.TempDir())
	escape["files"] = map[string]any{"vaultFolder": "../../outside"}
	gitDir := tsConfig(t.TempDir())
	gitDir["files"] = map[string]any{"vaultFolder": "infra/.GIT/hooks"}
	// 198.51.100.0/24 is a documentation range: the refusal comes before any request.
	plainHTTP := tsConfig(t.TempDir())
	plainHTTP["s3"] = map[string]any{"endpoint": "http://198.51.100.7:9000", "bucket": "team", "accessKeyId": "AK", "secretAccessKey": "SK", "useSsl": true}
	plainHTTPUnset := tsConfig(t.TempDir())
	plainHTTPUnset["s3"] = map[string]any{"endpoint": "http://198.51.100.7:9000", "bucket": "team", "accessKeyId": "AK", "secretAccessKey": "SK"}
	cases := []struct {
		name string
		data []byte
		pass string
		code fail.Code
	}{
		{"wrong passphrase", good, "wrong passphrase", fail.Integrity},
		{"flipped byte", flipped, "right passphrase", fail.Integrity},
		{"truncated", good[:40], "right passphrase", fail.Integrity},
		{"empty", nil, "right passphrase", fail.Integrity},
		{"foreign", []byte("PK\x03\x04 this is a zip, not a share"), "right passphrase", fail.Integrity},
		{"future format", append([]byte("SLS2"), good[4:]...), "right passphrase", fail.Integrity},
		{"config version 2", bad(map[string]any{"version": 2}, tsKey), "right passphrase", fail.Integrity},
		{"vault folder escapes", bad(escape, tsKey), "right passphrase", fail.Integrity},
		{"vault folder in .GIT", bad(gitDir, tsKey), "right passphrase", fail.Integrity},
		{"plain http store", bad(plainHTTP, tsKey), "right passphrase", fail.Refused},
		{"plain http store, useSsl unset", bad(plainHTTPUnset, tsKey), "right passphrase", fail.Refused},
		{"short key", bad(tsConfig(t.TempDir()), "short"), "right passphrase", fail.Integrity},
		{"key with newline", bad(tsConfig(t.TempDir()), tsKey+"\n"), "right passphrase", fail.Integrity},
		{"bad repo", tsShare(t, "right passphrase", map[string]any{"version": 2, "repo": "..", "env": "dev", "config": tsConfig(t.TempDir()), "key": tsKey}), "right passphrase", fail.Integrity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := m.bareClone(strings.ReplaceAll(tc.name, " ", "-"))
			p := writeFile(t, m.home, "x.share", tc.data)
			_, err := c.app.Import(bg, c.app.Resolve(""), "dev", p, tc.pass, ImportOptions{NoHooks: true})
			wantCode(t, err, tc.code, "")
			if strings.Contains(err.Error(), tsKey) || strings.Contains(err.Error(), "right passphrase") {
				t.Fatal("error quotes a secret")
			}
			if n := len(m.kc.Accounts()); n != 0 {
				t.Fatalf("keychain has %d entries", n)
			}
			if _, err := os.Stat(m.env["XDG_CONFIG_HOME"]); !os.IsNotExist(err) {
				t.Fatalf("config folder written: %v", err)
			}
			if _, err := os.Stat(filepath.Join(c.dir, ".vsync")); !os.IsNotExist(err) {
				t.Fatal("pin written")
			}
		})
	}
	// A missing file is a usage error.
	c := m.bareClone("missing")
	_, err := c.app.Import(bg, c.app.Resolve(""), "dev", filepath.Join(m.home, "nope.share"), "x", ImportOptions{})
	wantCode(t, err, fail.Usage, "")
}

func TestShareImportIdentity(t *testing.T) {
	m := newMachine(t)
	share := writeFile(t, m.home, "s.share", tsShare(t, "passphrase", map[string]any{"version": 2, "repo": "acme_web", "env": "dev", "config": tsConfig(t.TempDir()), "key": tsKey}))
	// A clone whose origin names another repository refuses.
	c := m.bareClone("other")
	gitRun(t, c.dir, "remote", "add", "origin", "https://github.com/other/thing.git")
	_, err := c.app.Import(bg, c.app.Resolve(""), "dev", share, "passphrase", ImportOptions{NoHooks: true})
	wantCode(t, err, fail.Refused, "is for repository acme_web")
	if !strings.Contains(fail.HintOf(err), "--repo acme_web") {
		t.Fatalf("hint %q", fail.HintOf(err))
	}
	// --repo naming the share's repository works.
	if _, err := c.app.Import(bg, c.app.Resolve("acme_web"), "dev", share, "passphrase", ImportOptions{NoHooks: true}); err != nil {
		t.Fatal(err)
	}
}

func TestShareImportForceKeepsOldHalves(t *testing.T) {
	m := newMachine(t)
	a, oldTS := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	oldKey, _ := m.kc.Get(bg, "acme_web/dev")
	cfgPath := filepath.Join(m.ConfigDir(), "acme_web", "env_dev")
	oldCfg, _ := os.ReadFile(cfgPath)
	share := writeFile(t, m.home, "new.share", tsShare(t, "passphrase", map[string]any{"version": 2, "repo": "acme_web", "env": "dev", "config": tsConfig(t.TempDir()), "key": tsKey}))

	_, err := a.app.Import(bg, a.app.Resolve(""), "dev", share, "passphrase", ImportOptions{NoHooks: true})
	wantCode(t, err, fail.Refused, "different key")
	if k, _ := m.kc.Get(bg, "acme_web/dev"); k != oldKey {
		t.Fatal("refused import changed the key")
	}

	res, err := a.app.Import(bg, a.app.Resolve(""), "dev", share, "passphrase", ImportOptions{Force: true, NoHooks: true})
	if err != nil {
		t.Fatal(err)
	}
	fp := sls1.Fingerprint(oldKey)
	if res.KeptKey != "acme_web/dev#"+fp || res.KeptConfig != cfgPath+".bak-"+fp {
		t.Fatalf("kept %q %q", res.KeptKey, res.KeptConfig)
	}
	if k, _ := m.kc.Get(bg, res.KeptKey); k != oldKey {
		t.Fatal("old key not kept")
	}
	if b, _ := os.ReadFile(res.KeptConfig); !bytes.Equal(b, oldCfg) {
		t.Fatal("old config not kept")
	}
	envs, _ := config.ListEnvs(m.ConfigDir(), "acme_web")
	if len(envs) != 1 || envs[0] != "dev" {
		t.Fatalf("ListEnvs = %v", envs)
	}
	cfg, _ := config.Load(cfgPath)
	if len(cfg.PreviousKeys) != 1 || cfg.PreviousKeys[0].Fingerprint != fp {
		t.Fatalf("previousKeys %+v", cfg.PreviousKeys)
	}
	_ = oldTS
}

func TestSharePassphraseFile(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("a")
	for in, want := range map[string]string{"abc\n": "abc", "abc\r\n": "abc", "abc": "abc", "abc\n\n": "abc\n", " abc ": " abc "} {
		got, err := c.app.ReadPassphraseFile(writeFile(t, m.home, "p", []byte(in)))
		if err != nil || got != want {
			t.Fatalf("%q: got %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "\n", "\r\n"} {
		_, err := c.app.ReadPassphraseFile(writeFile(t, m.home, "p", []byte(in)))
		wantCode(t, err, fail.Usage, "empty")
	}
}

func TestShareConfigPreviousKeysRoundTrip(t *testing.T) {
	c, err := config.ParseJSON([]byte(`{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"},"previousKeys":[{"fingerprint":"0123abcd","salt":"old"},{"fingerprint":"../x","salt":"bad"}],"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PreviousKeys) != 1 || c.PreviousKeys[0].Salt != "old" {
		t.Fatalf("%+v", c.PreviousKeys)
	}
	js, _ := shareConfigJSON(c)
	if strings.Contains(string(js), "previousKeys") || !strings.Contains(string(js), `"x":1`) {
		t.Fatalf("share config %s", js)
	}
	js, _ = c.JSON()
	if !strings.Contains(string(js), `"previousKeys":[{"fingerprint":"0123abcd","salt":"old"}]`) {
		t.Fatalf("config %s", js)
	}
}

// FuzzShareValidate feeds arbitrary decrypted payloads to the checks import runs
// after sls1: no panic, every refusal is exit 6, and an accepted share is safe to
// write (usable repo name, contained vault folder, no white space in the key).
func FuzzShareValidate(f *testing.F) {
	cfg, _ := json.Marshal(tsConfig("/tmp/store"))
	f.Add("acme_web", "dev", cfg, tsKey)
	f.Add("..", "dev", []byte(`{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"},"files":{"vaultFolder":"../x"}}`), tsKey)
	f.Add("a/b", "x", []byte(`{"version":1,"s3":{"bucket":"b","endpoint":"ftp://x"},"encryption":{"salt":"s"}}`), "k k k k k k k k k k k k")
	f.Add("Acme-Web", "dev", []byte(`{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"},"previousKeys":[{"fingerprint":"00000000","salt":"x"}]}`), tsKey)
	f.Fuzz(func(t *testing.T, repoName, env string, cfg []byte, key string) {
		sh, err := validateShare(sls1.Payload{Version: 2, Repo: repoName, Env: env, Config: cfg, Key: key})
		if err != nil {
			if fail.CodeOf(err) != fail.Integrity || fail.HintOf(err) == "" {
				t.Fatalf("unexpected error %v", err)
			}
			if len(key) >= 8 && strings.Contains(err.Error(), key) {
				t.Fatal("error quotes the key")
			}
			return
		}
		if sh.Repo == "" || strings.ContainsAny(sh.Repo, `/\`) || strings.Trim(sh.Repo, ".") == "" {
			t.Fatalf("accepted repo %q", sh.Repo)
		}
		if strings.ContainsFunc(sh.Key, func(r rune) bool { return r <= ' ' }) {
			t.Fatal("accepted a key with white space")
		}
		if len(sh.Config.PreviousKeys) != 0 {
			t.Fatal("kept the share's previousKeys")
		}
		if vf := sh.Config.Vault("dev"); config.CheckVaultFolder(vf) != nil {
			t.Fatalf("accepted vault folder %q", vf)
		}
	})
}

// TestShareImportStoreFirst: import tells where the share points before any
// network request; plain http is accepted on loopback or when the share says
// useSsl=false; --verify opens the latest version with the share's key before
// anything is written.
func TestShareImportStoreFirst(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, fileStoreURL(t))
	out := filepath.Join(m.home, "dev.share")
	if _, err := a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Out: out, Passphrase: "right passphrase"}); err != nil {
		t.Fatal(err)
	}
	m2 := newMachine(t)
	b := m2.newClone("b")
	var told string
	res, err := b.app.Import(bg, b.app.Resolve(""), "dev", out, "right passphrase", ImportOptions{NoHooks: true, Verify: true,
		Announce: func(store, repo, env string) { told = store + " " + repo + "/" + env }})
	if err != nil || res.Unchanged {
		t.Fatalf("import --verify: %+v %v", res, err)
	}
	if !strings.Contains(told, "file://") || !strings.Contains(told, "acme_web/dev") {
		t.Fatalf("announced %q", told)
	}

	// --verify with a share whose key does not open the store's versions: nothing written.
	otherKey, _ := keychain.NewKey()
	e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	cfg, _ := e.Config.JSON()
	var cfgMap map[string]any
	json.Unmarshal(cfg, &cfgMap)
	wrong := writeFile(t, m.home, "wrong.share", tsShare(t, "pp", map[string]any{"version": 2, "repo": "acme_web", "env": "dev", "config": cfgMap, "key": otherKey}))
	m3 := newMachine(t)
	c := m3.newClone("c")
	_, err = c.app.Import(bg, c.app.Resolve(""), "dev", wrong, "pp", ImportOptions{NoHooks: true, Verify: true})
	wantCode(t, err, fail.Integrity, "--verify")
	if n := len(m3.kc.Accounts()); n != 0 {
		t.Fatalf("a refused --verify wrote the key")
	}

	// Plain http on loopback, or with useSsl=false said explicitly, is accepted
	// (no request: no --verify, no audit).
	for i, s3 := range []map[string]any{
		{"endpoint": "http://127.0.0.1:1", "bucket": "team"},
		{"endpoint": "http://[::1]:1", "bucket": "team"},
		{"endpoint": "http://localhost:1", "bucket": "team"},
		{"endpoint": "http://198.51.100.7:9000", "bucket": "team", "useSsl": false},
	} {
		cfg := tsConfig(t.TempDir())
		cfg["s3"] = s3
		p := writeFile(t, m.home, "h.share", tsShare(t, "pp", map[string]any{"version": 2, "repo": "acme_web", "env": "dev", "config": cfg, "key": tsKey}))
		mm := newMachine(t)
		cl := mm.newClone("h")
		if _, err := cl.app.Import(bg, cl.app.Resolve(""), "dev", p, "pp", ImportOptions{NoHooks: true, Audit: AuditOptions{Disabled: true}}); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
	}
}
