package vkt1

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

const (
	testPass = "abcd-EFGH-2345"
	testKey  = "S3CRETKEYbase64TEXTxxxxxxxxxxxxxxxxxxxxxxx="
)

var testConfig = json.RawMessage(`{"version":1,"s3":{"endpoint":"https://s3.example.com","region":"eu-central-1","bucket":"acme","accessKeyId":"AKIAEXAMPLE","secretAccessKey":"SECRETACCESSKEYVALUE","useSsl":true},"encryption":{"salt":"abcdefghijklmnopqrstuvwx"},"future":{"x":"<&>"}}`)

func TestSealOpen(t *testing.T) {
	p := Payload{ExportedAt: "2026-01-01T00:00:00.000Z",
		Entries:  []Entry{{Repo: "acme_web", Env: "dev", Config: testConfig, Key: testKey}},
		Profiles: []Profile{{Name: "team", Raw: json.RawMessage(`{"name":"team","version":1,"endpoint":"","region":"us-east-1","bucket":"b","accessKeyId":"A","secretAccessKey":"S","extra":true}`)}},
	}
	data, err := Seal(testPass, p)
	if err != nil {
		t.Fatal(err)
	}
	if string(data[:4]) != Magic || data[4] != 24 || !strings.HasSuffix(string(data[5:29]), "==") || string(data[29:33]) != "RQE1" {
		t.Fatalf("framing % x", data[:33])
	}
	got, err := Open(testPass, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 1 || got.Entries[0].Key != testKey || string(got.Entries[0].Config) != string(testConfig) ||
		len(got.Profiles) != 1 || got.Profiles[0].Name != "team" || !strings.Contains(string(got.Profiles[0].Raw), `"extra":true`) {
		t.Fatalf("round trip: %+v", got)
	}
	if s := got.String() + got.GoString(); strings.Contains(s, testKey) || strings.Contains(s, "SECRET") {
		t.Fatalf("String leaks: %s", s)
	}
	_, err = Open("wrong", data)
	if envelope.KindOf(err) != envelope.KindWrongPassphrase {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// A share file is not a keystore file.
	share := append([]byte("SLS1"), data[4:]...)
	if _, err := Open(testPass, share); envelope.KindOf(err) != envelope.KindBundleCorrupt {
		t.Fatalf("share accepted: %v", err)
	}
	v2 := append([]byte("VKT2"), data[4:]...)
	if _, err := Open(testPass, v2); envelope.KindOf(err) != envelope.KindUnsupportedSpecVersion {
		t.Fatalf("VKT2: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	entry := func(repo, env, cfg, key string) string {
		return `{"version":1,"entries":[{"repo":` + repo + `,"env":` + env + `,"config":` + cfg + `,"key":` + key + `}]}`
	}
	k := `"` + testKey + `"`
	c := string(testConfig)
	for name, js := range map[string]string{
		"not json":       "{",
		"version 2":      `{"version":2,"entries":[]}`,
		"version string": `{"version":"1","entries":[]}`,
		"no version":     `{"entries":[]}`,
		"no repo":        entry(`""`, `"dev"`, c, k),
		"repo number":    entry(`1`, `"dev"`, c, k),
		"short key":      entry(`"r"`, `"dev"`, c, `"short"`),
		"null config":    entry(`"r"`, `"dev"`, `null`, k),
		"config string":  entry(`"r"`, `"dev"`, `"{}"`, k),
		"profile noname": `{"version":1,"entries":[],"profiles":[{"bucket":"b"}]}`,
		"profile array":  `{"version":1,"entries":[],"profiles":[[]]}`,
	} {
		_, err := parse([]byte(js))
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("%s: error quotes the key", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":1,"exportedAt":"x","entries":[{"repo":"r","env":"dev","config":` + string(testConfig) + `,"key":"` + testKey + `"}],"profiles":[{"name":"p"}]}`))
	f.Add([]byte(`{"version":1,"entries":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse(data)
		if err != nil {
			return
		}
		for _, e := range p.Entries {
			if e.Repo == "" || e.Env == "" || len(e.Key) < 20 || len(e.Config) == 0 || e.Config[0] != '{' {
				t.Fatalf("accepted entry %q/%q", e.Repo, e.Env)
			}
		}
		for _, pr := range p.Profiles {
			if pr.Name == "" {
				t.Fatal("accepted a profile without name")
			}
		}
	})
}
