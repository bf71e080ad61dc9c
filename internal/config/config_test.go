package config

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tsConfigJSON is shaped like the file the TypeScript tool writes (key order, extra
// keys of its own).
const tsConfigJSON = `{"version":1,"s3":{"endpoint":"http://127.0.0.1:9000","region":"us-east-1","bucket":"acme-secrets","accessKeyId":"AK","secretAccessKey":"SK","useSsl":false,"forcePathStyle":true},"encryption":{"salt":"abcdefghijklmnopqrstuvwx","kdf":"pbkdf2"},"files":{"vaultFolder":"apps/web/infra/vault/dev","extra":1},"sync":{"gh":{"repo":"o/n"}},"audit":{"enabled":false},"initProfile":"team","prefix":"acme_web/dev/","createdAt":"2026-01-01T00:00:00Z"}`

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestParseTypeScriptConfigAndKeepUnknownKeys(t *testing.T) {
	e, err := Parse(gz(t, tsConfigJSON))
	if err != nil {
		t.Fatal(err)
	}
	if e.S3.Bucket != "acme-secrets" || e.S3.UseSSL == nil || *e.S3.UseSSL || e.Salt != "abcdefghijklmnopqrstuvwx" ||
		e.VaultFolder != "apps/web/infra/vault/dev" || e.Audit() || e.InitProfile != "team" || e.Prefix != "acme_web/dev/" {
		t.Fatalf("parsed %+v", e)
	}
	e.S3.Region = "eu-west-1"
	out, err := e.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	json.Unmarshal(out, &got)
	json.Unmarshal([]byte(tsConfigJSON), &want)
	want["s3"].(map[string]any)["region"] = "eu-west-1"
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("round trip lost data:\n got %s\nwant %s", gb, wb)
	}
}

func TestSaveLoadModes(t *testing.T) {
	root := t.TempDir()
	p := EnvPath(root, "acme_web", "dev")
	e, _ := ParseJSON([]byte(`{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"}}`))
	if err := e.Save(p); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	di, _ := os.Stat(filepath.Dir(p))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes %v %v", fi.Mode(), di.Mode())
	}
	raw, _ := os.ReadFile(p)
	if raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatal("not gzip")
	}
	e2, err := Load(p)
	if err != nil || e2.S3.Bucket != "b" || !e2.Audit() || e2.Vault("dev") != "infra/vault/dev" {
		t.Fatalf("%+v %v", e2, err)
	}
	envs, _ := ListEnvs(root, "acme_web")
	if len(envs) != 1 || envs[0] != "dev" {
		t.Fatalf("envs %v", envs)
	}
	if _, err := Load(EnvPath(root, "acme_web", "prod")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string][]byte{
		"not gzip":       []byte(tsConfigJSON),
		"truncated gzip": gz(t, tsConfigJSON)[:20],
		"not json":       gz(t, "nope"),
		"array":          gz(t, "[1]"),
		"version 2":      gz(t, `{"version":2,"s3":{"bucket":"b"},"encryption":{"salt":"s"}}`),
		"version 1.0":    gz(t, `{"version":1.0,"s3":{"bucket":"b"},"encryption":{"salt":"s"}}`),
		"version string": gz(t, `{"version":"1","s3":{"bucket":"b"},"encryption":{"salt":"s"}}`),
		"no version":     gz(t, `{"s3":{"bucket":"b"},"encryption":{"salt":"s"}}`),
		"no bucket":      gz(t, `{"version":1,"s3":{},"encryption":{"salt":"s"}}`),
		"no salt":        gz(t, `{"version":1,"s3":{"bucket":"b"}}`),
		"bad type":       gz(t, `{"version":1,"s3":{"bucket":5},"encryption":{"salt":"s"}}`),
		"escape vault":   gz(t, `{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"},"files":{"vaultFolder":"../../.ssh"}}`),
		"abs vault":      gz(t, `{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"},"files":{"vaultFolder":"/etc"}}`),
		"git vault":      gz(t, `{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"},"files":{"vaultFolder":".git/hooks"}}`),
		"GIT vault":      gz(t, `{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"},"files":{"vaultFolder":"infra/.GIT/hooks"}}`),
		"gitmodules":     gz(t, `{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"},"files":{"vaultFolder":"v/.gitmodules"}}`),
		"bomb":           gz(t, `{"version":1,"x":"`+strings.Repeat("a", 2<<20)+`"}`),
	}
	for name, data := range cases {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "SK") {
			t.Errorf("%s: error leaks a secret: %v", name, err)
		}
	}
	var ve *VersionError
	if _, err := Parse(cases["version 2"]); !errors.As(err, &ve) {
		t.Errorf("version 2 should be a VersionError, got %v", err)
	}
}

func TestRootXDG(t *testing.T) {
	env := map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "  "}
	get := func(k string) string { return env[k] }
	if r, _ := Root(get); r != filepath.Join("/h", ".config", "vsync") {
		t.Fatalf("blank XDG must not count: %s", r)
	}
	env["XDG_CONFIG_HOME"] = "/x"
	if r, _ := Root(get); r != filepath.Join("/x", "vsync") {
		t.Fatalf("XDG: %s", r)
	}
}

func TestProfiles(t *testing.T) {
	root := t.TempDir()
	p := &Profile{Endpoint: "http://e", Region: "r", Bucket: "b", AccessKeyID: "a", SecretAccessKey: "s"}
	if err := SaveProfile(root, "team-bucket", p); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(ProfilePath(root, "team-bucket"))
	if !strings.HasPrefix(string(raw), "{\n  \"version\": 1,\n") || !strings.HasSuffix(string(raw), "}\n") {
		t.Fatalf("format: %s", raw)
	}
	fi, _ := os.Stat(ProfilePath(root, "team-bucket"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatal(fi.Mode())
	}
	got, err := LoadProfile(root, "team-bucket")
	if err != nil || *got != *p {
		t.Fatalf("%+v %v", got, err)
	}
	names, _ := ListProfiles(root)
	if len(names) != 1 || names[0] != "team-bucket" {
		t.Fatal(names)
	}
	for _, bad := range []string{"", "a/b", "..", strings.Repeat("x", 65), "a b"} {
		if SaveProfile(root, bad, p) == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if err := RemoveProfile(root, "team-bucket"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveProfile(root, "team-bucket"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	for _, bad := range []string{"{", `{"version":2,"bucket":"b"}`, `{"version":1}`, `[]`} {
		if _, err := ParseProfile([]byte(bad)); err == nil {
			t.Errorf("profile %q accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(gz(f, tsConfigJSON))
	f.Add(gz(f, `{"version":1,"s3":{"bucket":"b"},"encryption":{"salt":"s"}}`))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever we accept we can write back and read again identically.
		b, err := e.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		e2, err := Parse(b)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		j1, _ := e.JSON()
		j2, _ := e2.JSON()
		if !bytes.Equal(j1, j2) {
			t.Fatalf("not stable:\n%s\n%s", j1, j2)
		}
	})
}

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(`{"version":1,"endpoint":"e","region":"r","bucket":"b","accessKeyId":"a","secretAccessKey":"s"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseProfile(data)
	})
}
