package app

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// tsReadable opens a config file the way the TypeScript tool does (gzip of JSON, no
// code of ours for the decoding) and checks the fields and types it requires. It
// returns the s3 object.
func tsReadable(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return tsReadableJSON(t, js)
}

func tsReadableJSON(t *testing.T, js []byte) map[string]any {
	t.Helper()
	if err := typeScriptReadable(js); err != nil {
		t.Fatalf("the TypeScript tool would refuse %s: %v", js, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	return doc["s3"].(map[string]any)
}

func TestTypeScriptReadableRefuses(t *testing.T) {
	good := `{"version":1,"s3":{"endpoint":"","region":"","bucket":"b","accessKeyId":"","secretAccessKey":"","useSsl":true},"encryption":{"salt":"s"}}`
	if err := typeScriptReadable([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"version":2,"s3":{"endpoint":"","region":"","bucket":"b","accessKeyId":"","secretAccessKey":"","useSsl":true},"encryption":{"salt":"s"}}`,
		`{"version":1,"s3":{"endpoint":"","region":"","bucket":"b","accessKeyId":"","secretAccessKey":""},"encryption":{"salt":"s"}}`,
		`{"version":1,"s3":{"endpoint":"","region":"","bucket":"b","accessKeyId":"","secretAccessKey":"","useSsl":"true"},"encryption":{"salt":"s"}}`,
		`{"version":1,"s3":{"endpoint":"","bucket":"b","accessKeyId":"","secretAccessKey":"","useSsl":true},"encryption":{"salt":"s"}}`,
		`{"version":1,"s3":{"endpoint":null,"region":"","bucket":"b","accessKeyId":"","secretAccessKey":"","useSsl":true},"encryption":{"salt":"s"}}`,
		`{"version":1,"s3":{"endpoint":"","region":"","bucket":"b","accessKeyId":"","secretAccessKey":"","useSsl":true},"encryption":{"salt":1}}`,
	} {
		if typeScriptReadable([]byte(bad)) == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// Every path that writes a config writes one the TypeScript tool reads, with useSsl
// derived from the endpoint's scheme (issue 13, point 1).
func TestConfigWritersTypeScriptReadable(t *testing.T) {
	m := newMachine(t)
	wantSSL := func(t *testing.T, s3 map[string]any, want bool) {
		t.Helper()
		if s3["useSsl"] != want {
			t.Fatalf("useSsl = %v, want %v (endpoint %v)", s3["useSsl"], want, s3["endpoint"])
		}
	}
	cfgPath := func(env string) string { return filepath.Join(m.ConfigDir(), "acme_web", "env_"+env) }

	// init: the default store, a file:// store.
	c := m.newClone("a")
	if _, err := c.app.Init(bg, c.app.Resolve(""), "dflt", InitOptions{NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	wantSSL(t, tsReadable(t, cfgPath("dflt")), true)
	if _, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{NoHooks: true, Store: "file://" + filepath.ToSlash(t.TempDir()) + "#team"}); err != nil {
		t.Fatal(err)
	}
	wantSSL(t, tsReadable(t, cfgPath("dev")), true)

	// init: the store forms that need a server we cannot reach here are checked
	// at the config init builds (Init saves exactly that).
	m.env["AWS_ACCESS_KEY_ID"], m.env["AWS_SECRET_ACCESS_KEY"] = "AK", "SK"
	for url, ssl := range map[string]bool{"s3://acme-secrets": true, "https://minio.example:9000/b": true, "http://127.0.0.1:9/b": false} {
		cfg, err := c.app.initConfig(InitOptions{Store: url})
		if err != nil {
			t.Fatal(err)
		}
		js, _ := cfg.JSON()
		wantSSL(t, tsReadableJSON(t, js), ssl)
	}
	// A profile carries no useSsl: it comes from the endpoint (none → true).
	for ep, ssl := range map[string]bool{"": true, "s3.eu-central-1.amazonaws.com": true, "http://10.0.0.1:9000": false, "HTTPS://r2.example": true} {
		if _, err := c.app.ProfileAdd(ProfileInput{Name: "p", Endpoint: ep, Bucket: "b", AccessKeyID: "AK", SecretAccessKey: "SK", Force: true}); err != nil {
			t.Fatal(err)
		}
		cfg, err := c.app.initConfig(InitOptions{Profile: "p"})
		if err != nil {
			t.Fatal(err)
		}
		js, _ := cfg.JSON()
		wantSSL(t, tsReadableJSON(t, js), ssl)
	}

	// export: the config inside the share.
	c.write("dev", ".env.dev", "A=1\n")
	if _, err := c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := c.app.Export(bg, c.app.Resolve(""), "dev", ExportOptions{Passphrase: "long enough passphrase", Out: filepath.Join(m.home, "x.share")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(res.Path)
	cj, _ := json.Marshal(readShare(t, "long enough passphrase", data)["config"])
	wantSSL(t, tsReadableJSON(t, cj), true)

	// import of a share whose config has no useSsl (an older git-vsync wrote it):
	// accepted, and written with it.
	noSSL := tsConfig(t.TempDir())
	delete(noSSL["s3"].(map[string]any), "useSsl")
	share := writeFile(t, m.home, "old.share", tsShare(t, "pass phrase 1", map[string]any{
		"version": 2, "repo": "acme_web", "env": "stage", "config": noSSL, "key": tsKey,
	}))
	if _, err := c.app.Import(bg, c.app.Resolve(""), "stage", share, "pass phrase 1", ImportOptions{NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	wantSSL(t, tsReadable(t, cfgPath("stage")), true)

	// rotate.
	if _, err := c.app.Rotate(bg, c.app.Resolve(""), "dev", RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantSSL(t, tsReadable(t, cfgPath("dev")), true)

	// config set: a new endpoint re-derives useSsl; dropping the static keys (the AWS
	// chain then supplies credentials) still leaves the strings the reader requires.
	if _, err := c.app.ConfigSet(c.app.Resolve(""), "stage", ConfigChange{Key: "s3.endpoint", Value: "http://127.0.0.1:9"}); err != nil {
		t.Fatal(err)
	}
	wantSSL(t, tsReadable(t, cfgPath("stage")), false)
	if _, err := c.app.ConfigSet(c.app.Resolve(""), "stage", ConfigChange{Key: "s3.accessKeyId", Unset: true}); err != nil {
		t.Fatal(err)
	}
	wantSSL(t, tsReadable(t, cfgPath("stage")), false)
}

// init against a real S3 endpoint over http writes useSsl false.
func TestConfigInitHTTPStoreUseSSL(t *testing.T) {
	m := newMachine(t)
	srv := testenv.Versitygw(t)
	m.env["AWS_ACCESS_KEY_ID"], m.env["AWS_SECRET_ACCESS_KEY"] = srv.AccessKey, srv.SecretKey
	c := m.newClone("a")
	if _, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{NoHooks: true, Store: srv.Endpoint + "/" + srv.NewBucket(t)}); err != nil {
		t.Fatal(err)
	}
	s3 := tsReadable(t, filepath.Join(m.ConfigDir(), "acme_web", "env_dev"))
	if s3["useSsl"] != false {
		t.Fatalf("useSsl %v for %v", s3["useSsl"], s3["endpoint"])
	}
}

// Bundles carry the files' modification times; whether a vault changed is still
// decided by content (issue 13, point 3).
func TestBundleTimesAndUnchangedByContent(t *testing.T) {
	m := newMachine(t)
	a := m.newClone("a")
	if _, err := a.app.Init(bg, a.app.Resolve(""), "dev", InitOptions{NoHooks: true, Store: "file://" + filepath.ToSlash(t.TempDir()) + "#team"}); err != nil {
		t.Fatal(err)
	}
	a.write("dev", ".env.dev", "A=1\n")
	a.write("dev", "tls/server.crt", "CERT")
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, p := range []string{".env.dev", "tls/server.crt"} {
		os.Chtimes(filepath.Join(a.vault("dev"), filepath.FromSlash(p)), t0, t0)
	}
	first, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}

	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".env.dev", "tls/server.crt"} {
		fi, err := os.Stat(filepath.Join(b.vault("dev"), filepath.FromSlash(p)))
		if err != nil || !fi.ModTime().Equal(t0) {
			t.Fatalf("%s pulled with time %v, want %v (%v)", p, fi.ModTime(), t0, err)
		}
	}

	// Only the times change: nothing to push, on either clone.
	t1 := t0.Add(time.Hour)
	os.Chtimes(filepath.Join(a.vault("dev"), ".env.dev"), t1, t1)
	os.Chtimes(filepath.Join(b.vault("dev"), "tls", "server.crt"), t1, t1)
	for _, c := range []*clone{a, b} {
		res, err := c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{})
		if err != nil || !res.Unchanged || res.TS != first.TS {
			t.Fatalf("push after a time-only change: %+v %v", res, err)
		}
	}
	vs, err := a.app.Versions(bg, a.app.Resolve(""), "dev")
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions %v %v", vs, err)
	}
	// A content change of the same size is one.
	a.write("dev", ".env.dev", "A=2\n")
	if res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil || res.Unchanged {
		t.Fatalf("push after an edit: %+v %v", res, err)
	}
}

// writeLedger writes the TypeScript tool's ledger (SPEC §14.1) for acme_web/env on
// machine m, listing the files of dir.
func writeLedger(t *testing.T, m *machine, env, ts, op, dir string) string {
	t.Helper()
	files := map[string]any{}
	for rel, content := range tree(t, dir) {
		if !strings.HasSuffix(rel, "/") {
			fi, _ := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
			files[rel] = map[string]any{"mtime_ms": float64(fi.ModTime().UnixNano()) / 1e6, "size": len(content)}
		}
	}
	js, err := json.MarshalIndent(map[string]any{
		"v": 1, "last_sync_ts": ts, "last_sync_at": "2026-01-05T10:11:13.456Z", "last_sync_op": op, "files": files,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(m.ConfigDir(), "acme_web", "env_"+env+".ledger.json")
	if err := os.WriteFile(p, js, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A clone the TypeScript tool synced (its ledger names a version and the vault holds
// exactly that version) is adopted: push and pull work without --force, and the
// adoption is reported once (issue 13, point 2).
func TestAdoptTypeScriptLedger(t *testing.T) {
	m := newMachine(t)
	a, ts := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")

	// Clone b got the vault from the other tool: same files, its own times, a ledger.
	b := m.newClone("b")
	for rel, content := range tree(t, a.vault("dev")) {
		if !strings.HasSuffix(rel, "/") {
			b.write("dev", rel, content)
		}
	}
	writeLedger(t, m, "dev", ts, "pull", b.vault("dev"))
	if rep, err := b.app.Status(bg, b.app.Resolve(""), false); err != nil || len(rep.Envs) != 1 || rep.Envs[0].LedgerTS != ts || rep.Envs[0].LocalTS != nil {
		t.Fatalf("status before adoption: %+v %v", rep, err)
	}
	b.log.Reset()
	res, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{})
	if err != nil || !res.Unchanged || res.TS != ts {
		t.Fatalf("push on the adopted clone: %+v %v", res, err)
	}
	if n := strings.Count(b.log.String(), "adopted the TypeScript tool's last pull of dev"); n != 1 {
		t.Fatalf("adoption reported %d times:\n%s", n, b.log)
	}
	if st, _ := state.Load(filepath.Join(b.dir, ".git", "vsync"), "dev"); st == nil || st.TS != ts || st.Op != "pull" || st.KeyFP == "" {
		t.Fatalf("adopted state %+v", st)
	}
	if rep, err := b.app.Status(bg, b.app.Resolve(""), false); err != nil || rep.Envs[0].LedgerTS != "" || rep.Envs[0].LocalTS == nil || *rep.Envs[0].LocalTS != ts {
		t.Fatalf("status after adoption: %+v %v", rep, err)
	}
	// Another teammate pushes; b pulls it without --force, and the adoption is not
	// reported again.
	a.write("dev", ".env.dev", "API_TOKEN=next\n")
	next, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil || res.TS != next.TS {
		t.Fatalf("pull on the adopted clone: %+v %v", res, err)
	}
	if got := tree(t, b.vault("dev"))[".env.dev"]; got != "API_TOKEN=next\n" {
		t.Fatalf("pulled %q", got)
	}
	if n := strings.Count(b.log.String(), "adopted"); n != 1 {
		t.Fatalf("adoption reported %d times:\n%s", n, b.log)
	}
}

// The ledger alone is not trusted: a vault that differs from the version it names
// (an edit of the same size, or a ledger that lies) stays "never synced".
func TestAdoptTypeScriptLedgerRefusals(t *testing.T) {
	m := newMachine(t)
	a, ts := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	b := m.newClone("b")
	b.write("dev", ".env.dev", "API_TOKEN=s3cr3t-VALUE\n") // same size, other content
	b.write("dev", "tls/server.crt", "CERT")
	lp := writeLedger(t, m, "dev", ts, "pull", b.vault("dev"))
	before := bucketAll(t, a)
	_, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{})
	wantCode(t, err, fail.Refused, "never synced")
	if !strings.Contains(b.log.String(), "differs from version "+ts) || strings.Contains(b.log.String(), "adopted") {
		t.Fatalf("log:\n%s", b.log)
	}
	_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Refused, "local changes")
	sameTree(t, bucketAll(t, a), before)
	if st, _ := state.Load(filepath.Join(b.dir, ".git", "vsync"), "dev"); st != nil {
		t.Fatalf("state written: %+v", st)
	}

	// A ledger that names a missing version, a broken one, or one with other sizes:
	// nothing adopted, the same refusal.
	for name, body := range map[string]string{
		"missing version": `{"v":1,"last_sync_ts":"20000101-000000","last_sync_op":"pull","files":{".env.dev":{"mtime_ms":1,"size":23},"tls/server.crt":{"mtime_ms":1,"size":4}}}`,
		"broken":          `{"v":1,"last_sync_ts":"x"}`,
		"other sizes":     `{"v":1,"last_sync_ts":"` + ts + `","last_sync_op":"pull","files":{".env.dev":{"mtime_ms":1,"size":5}}}`,
	} {
		os.WriteFile(lp, []byte(body), 0o600)
		_, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{})
		wantCode(t, err, fail.Refused, "never synced")
		if st, _ := state.Load(filepath.Join(b.dir, ".git", "vsync"), "dev"); st != nil {
			t.Fatalf("%s: state written", name)
		}
	}
}

// init --migrate-from moves an existing dotenv file into the new vault; problems
// are found before anything is written.
func TestInitMigrateFrom(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("a")
	storeURL := "file://" + filepath.ToSlash(t.TempDir()) + "#team"
	cfgPath := filepath.Join(m.ConfigDir(), "acme_web", "env_dev")
	nothingWritten := func(what string) {
		t.Helper()
		if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
			t.Fatalf("%s: config written", what)
		}
		if _, err := m.kc.Get(bg, "acme_web/dev"); err == nil {
			t.Fatalf("%s: key written", what)
		}
	}
	// Missing file, a symlink, an existing vault file: refused, nothing written.
	_, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{NoHooks: true, Store: storeURL, MigrateFrom: ".env.dev"})
	wantCode(t, err, fail.Usage, "cannot read")
	nothingWritten("missing")
	os.WriteFile(filepath.Join(c.dir, "real.env"), []byte("A=1\n"), 0o644)
	os.Symlink("real.env", filepath.Join(c.dir, ".env.dev"))
	_, err = c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{NoHooks: true, Store: storeURL, MigrateFrom: ".env.dev"})
	wantCode(t, err, fail.Usage, "not a regular file")
	nothingWritten("symlink")
	os.Remove(filepath.Join(c.dir, ".env.dev"))
	os.WriteFile(filepath.Join(c.dir, ".env.dev"), []byte("API_TOKEN=old-tool\n"), 0o644)
	c.write("dev", ".env.dev", "already here\n")
	_, err = c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{NoHooks: true, Store: storeURL, MigrateFrom: ".env.dev"})
	wantCode(t, err, fail.Refused, "already has")
	nothingWritten("existing")
	os.RemoveAll(c.vault("dev"))

	// Tracked by git: moved, with a warning about the history.
	gitRun(t, c.dir, "add", ".env.dev")
	gitRun(t, c.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "oops")
	res, err := c.app.Init(bg, c.app.Resolve(""), "dev", InitOptions{NoHooks: true, Store: storeURL, MigrateFrom: ".env.dev"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Migrated != filepath.Join(c.dir, ".env.dev") {
		t.Fatalf("migrated %q", res.Migrated)
	}
	if _, err := os.Lstat(filepath.Join(c.dir, ".env.dev")); !os.IsNotExist(err) {
		t.Fatal("the source is still there")
	}
	p := filepath.Join(c.vault("dev"), ".env.dev")
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 || tree(t, c.vault("dev"))[".env.dev"] != "API_TOKEN=old-tool\n" {
		t.Fatalf("vault file: %v %v", fi, err)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "stay in the history") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	// A folder: its .env.<env>, no warning when untracked.
	os.MkdirAll(filepath.Join(c.dir, "old"), 0o700)
	os.WriteFile(filepath.Join(c.dir, "old", ".env.prod"), []byte("P=1\n"), 0o600)
	res, err = c.app.Init(bg, c.app.Resolve(""), "prod", InitOptions{NoHooks: true, Store: storeURL, MigrateFrom: "old"})
	if err != nil || len(res.Warnings) != 0 || tree(t, c.vault("prod"))[".env.prod"] != "P=1\n" {
		t.Fatalf("%+v %v", res, err)
	}
}

// typeScriptReadable reports why the TypeScript tool (0.13) would refuse the config
// JSON js, or nil: it requires version 1, the five s3 strings, the s3.useSsl
// boolean and encryption.salt as a string (SPEC §1.1).
func typeScriptReadable(js []byte) error {
	var doc struct {
		Version    json.RawMessage            `json:"version"`
		S3         map[string]json.RawMessage `json:"s3"`
		Encryption map[string]json.RawMessage `json:"encryption"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return fmt.Errorf("not a JSON object")
	}
	if string(doc.Version) != "1" {
		return fmt.Errorf("version is not 1")
	}
	is := func(raw json.RawMessage, v any) bool { return raw != nil && json.Unmarshal(raw, v) == nil }
	for _, k := range []string{"endpoint", "region", "bucket", "accessKeyId", "secretAccessKey"} {
		var s string
		if raw := doc.S3[k]; !is(raw, &s) || raw[0] != '"' {
			return fmt.Errorf("s3.%s missing or not a string", k)
		}
	}
	var b bool
	if raw := doc.S3["useSsl"]; !is(raw, &b) || (string(raw) != "true" && string(raw) != "false") {
		return fmt.Errorf("s3.useSsl missing or not a boolean")
	}
	var s string
	if raw := doc.Encryption["salt"]; !is(raw, &s) || raw[0] != '"' {
		return fmt.Errorf("encryption.salt missing or not a string")
	}
	return nil
}
