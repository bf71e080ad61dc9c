package sls1

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/internal/codec"
)

const (
	testPass   = "abcd-EFGH-2345"
	testKey    = "S3CRETKEYbase64TEXTxxxxxxxxxxxxxxxxxxxxxxx="
	testSecret = "SECRETACCESSKEYVALUE"
)

var testConfig = json.RawMessage(`{"version":1,"s3":{"endpoint":"https://s3.example.com","region":"eu-central-1","bucket":"acme","accessKeyId":"AKIAEXAMPLE","secretAccessKey":"` + testSecret + `"},"encryption":{"salt":"abcdefghijklmnopqrstuvwx"},"future":{"x":"<&>"}}`)

func testPayload() Payload {
	return Payload{Version: 2, Repo: "github.com/acme/web", Env: "dev", Config: testConfig, Key: testKey}
}

func wantKind(t *testing.T, what string, err error, k envelope.Kind) {
	t.Helper()
	if got := envelope.KindOf(err); got != k {
		t.Fatalf("%s: kind %q (%v), want %q", what, got, err, k)
	}
}

func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testPass, testKey, testSecret, "S3CRET", "AKIA"} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q quotes a secret", err)
		}
	}
}

// plaintextOf builds an RQE1 plaintext the way Seal does, from arbitrary JSON.
func plaintextOf(js string) []byte {
	return []byte(base64.StdEncoding.EncodeToString(codec.Gzip([]byte(js))))
}

// unpadded is a valid plaintext for js (padded with spaces until base64 needs
// padding) with its "=" padding removed: SPEC §4.5 asks for padded base64.
func unpadded(js string) []byte {
	for {
		pt := plaintextOf(js)
		if bytes.HasSuffix(pt, []byte("=")) {
			return bytes.TrimRight(pt, "=")
		}
		js += " "
	}
}

func TestFrameUnframe(t *testing.T) {
	salt := "MDEyMzQ1Njc4OWFiY2RlZg=="
	data, err := Frame(salt, []byte("RQE1envelope"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data[:4]) != Magic || data[4] != 24 || string(data[5:29]) != salt {
		t.Fatalf("bad layout %q", data)
	}
	s, env, err := Unframe(data)
	if err != nil || s != salt || string(env) != "RQE1envelope" {
		t.Fatalf("Unframe: %q %q %v", s, env, err)
	}
	for _, bad := range []string{"", strings.Repeat("a", 256)} {
		if _, err := Frame(bad, nil); err == nil || envelope.KindOf(err) != "" {
			t.Errorf("Frame(salt len %d): %v", len(bad), err)
		}
	}
	cases := map[string]struct {
		data []byte
		kind envelope.Kind
	}{
		"empty":        {nil, envelope.KindBundleCorrupt},
		"magic only":   {[]byte("SLS1"), envelope.KindBundleCorrupt},
		"bad magic":    {[]byte("XLS1\x01aRQE1"), envelope.KindBundleCorrupt},
		"zip":          {[]byte("PK\x03\x04\x14\x00"), envelope.KindBundleCorrupt},
		"version":      {[]byte("SLS2\x01aRQE1"), envelope.KindUnsupportedSpecVersion},
		"zero salt":    {[]byte("SLS1\x00RQE1"), envelope.KindBundleCorrupt},
		"salt too big": {[]byte("SLS1\x09abc"), envelope.KindBundleCorrupt},
		"ctrl salt":    {[]byte("SLS1\x02a\nRQE1"), envelope.KindBundleCorrupt},
		"bad utf8":     {[]byte("SLS1\x02a\xffRQE1"), envelope.KindBundleCorrupt},
	}
	for name, c := range cases {
		_, _, err := Unframe(c.data)
		wantKind(t, name, err, c.kind)
	}
}

func TestSealOpen(t *testing.T) {
	p := testPayload()
	p.Version = 0 // defaults to 2
	data, err := Seal(testPass, p)
	if err != nil {
		t.Fatal(err)
	}
	salt, _, err := Unframe(data)
	if err != nil || len(salt) != 24 || !strings.HasSuffix(salt, "==") {
		t.Fatalf("salt %q: %v", salt, err)
	}
	if raw, _ := base64.StdEncoding.DecodeString(salt); len(raw) != 16 {
		t.Fatal("salt is not 16 random bytes")
	}
	got, err := Open(testPass, data)
	if err != nil {
		t.Fatal(err)
	}
	want := testPayload()
	var a, b any
	json.Unmarshal(got.Config, &a)
	json.Unmarshal(want.Config, &b)
	if got.Version != 2 || got.Repo != want.Repo || got.Env != want.Env || got.Key != want.Key || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("round trip mismatch: %v", got)
	}
	if !bytes.Contains(got.Config, []byte(`"<&>"`)) {
		t.Fatalf("config not kept verbatim (HTML-escaped?): %s", got.Config)
	}
	again, _ := Seal(testPass, p)
	if s2, _, _ := Unframe(again); s2 == salt {
		t.Fatal("salt reused")
	}

	_, err = Open("abcd-EFGH-2346", data)
	wantKind(t, "wrong passphrase", err, envelope.KindWrongPassphrase)
	noSecrets(t, err)

	// A flipped byte in each region of the file.
	for _, c := range []struct {
		pos  int
		kind envelope.Kind
	}{
		{0, envelope.KindBundleCorrupt},           // SLS magic
		{3, envelope.KindUnsupportedSpecVersion},  // SLS version
		{4, envelope.KindBundleCorrupt},           // salt length 24→25 shifts the RQE1 magic
		{10, envelope.KindWrongPassphrase},        // salt text
		{29, envelope.KindBundleCorrupt},          // RQE1 magic
		{32, envelope.KindUnsupportedSpecVersion}, // RQE1 version
		{35, envelope.KindWrongPassphrase},        // nonce
		{60, envelope.KindWrongPassphrase},        // ciphertext
		{len(data) - 1, envelope.KindWrongPassphrase},
	} {
		bad := bytes.Clone(data)
		bad[c.pos] ^= 0x01
		_, err := Open(testPass, bad)
		wantKind(t, fmt.Sprint("flip at ", c.pos), err, c.kind)
		noSecrets(t, err)
	}
	_, err = Open(testPass, data[:40])
	wantKind(t, "truncated", err, envelope.KindBundleCorrupt)
}

func TestSealValidates(t *testing.T) {
	for name, mut := range map[string]func(*Payload){
		"version 3":   func(p *Payload) { p.Version = 3 },
		"short key":   func(p *Payload) { p.Key = "short" },
		"no repo":     func(p *Payload) { p.Repo = "" },
		"no config":   func(p *Payload) { p.Config = nil },
		"bad config":  func(p *Payload) { p.Config = json.RawMessage(`[1]`) },
		"config v2":   func(p *Payload) { p.Config = json.RawMessage(`{"version":2}`) },
		"invalid raw": func(p *Payload) { p.Config = json.RawMessage(`{`) },
	} {
		p := testPayload()
		mut(&p)
		if _, err := Seal(testPass, p); err == nil {
			t.Errorf("%s: sealed", name)
		} else {
			noSecrets(t, err)
		}
	}
}

func TestParsePayload(t *testing.T) {
	valid, _ := codec.MarshalCompact(testPayload())
	if _, err := parsePayload(plaintextOf(string(valid))); err != nil {
		t.Fatal(err)
	}
	if _, err := parsePayload(append(append([]byte(" "), plaintextOf(string(valid))...), '\n')); err != nil {
		t.Fatal("surrounding whitespace refused:", err)
	}
	cfg := string(testConfig)
	ok := func(repl ...string) string {
		return strings.NewReplacer(repl...).Replace(`{"version":2,"repo":"r","env":"dev","config":CFG,"key":"` + testKey + `"}`)
	}
	bomb := plaintextOf(`{"version":2,"pad":"` + strings.Repeat("A", MaxPayload) + `"}`)
	cases := map[string]struct {
		pt   []byte
		kind envelope.Kind
	}{
		"not base64":     {[]byte("@@@" + testKey), envelope.KindBundleCorrupt},
		"unpadded":       {unpadded(ok("CFG", cfg)), envelope.KindBundleCorrupt},
		"not gzip":       {[]byte(base64.StdEncoding.EncodeToString([]byte(ok("CFG", cfg)))), envelope.KindBundleCorrupt},
		"bomb":           {bomb, envelope.KindBundleCorrupt},
		"not json":       {plaintextOf("key=" + testKey), envelope.KindBundleCorrupt},
		"array":          {plaintextOf(`[2]`), envelope.KindBundleCorrupt},
		"null":           {plaintextOf(`null`), envelope.KindBundleCorrupt},
		"no version":     {plaintextOf(`{"repo":"r"}`), envelope.KindBundleCorrupt},
		"string version": {plaintextOf(ok(`"version":2`, `"version":"2"`, "CFG", cfg)), envelope.KindBundleCorrupt},
		"version 1":      {plaintextOf(ok(`"version":2`, `"version":1`, "CFG", cfg)), envelope.KindUnsupportedSpecVersion},
		"version 3":      {plaintextOf(`{"version":3,"other":"shape"}`), envelope.KindUnsupportedSpecVersion},
		"no repo":        {plaintextOf(ok(`"repo":"r",`, "", "CFG", cfg)), envelope.KindBundleCorrupt},
		"empty env":      {plaintextOf(ok(`"env":"dev"`, `"env":""`, "CFG", cfg)), envelope.KindBundleCorrupt},
		"null env":       {plaintextOf(ok(`"env":"dev"`, `"env":null`, "CFG", cfg)), envelope.KindBundleCorrupt},
		"numeric repo":   {plaintextOf(ok(`"repo":"r"`, `"repo":5`, "CFG", cfg)), envelope.KindBundleCorrupt},
		"short key":      {plaintextOf(ok(testKey, "S3CRET-19-chars-xxx", "CFG", cfg)), envelope.KindBundleCorrupt},
		"no key":         {plaintextOf(ok(`,"key":"`+testKey+`"`, "", "CFG", cfg)), envelope.KindBundleCorrupt},
		"no config":      {plaintextOf(ok(`"config":CFG,`, "")), envelope.KindBundleCorrupt},
		"config string":  {plaintextOf(ok("CFG", `"{}"`)), envelope.KindBundleCorrupt},
		"config null":    {plaintextOf(ok("CFG", `null`)), envelope.KindBundleCorrupt},
		"config v2":      {plaintextOf(ok("CFG", `{"version":2,"s3":{"secretAccessKey":"`+testSecret+`"}}`)), envelope.KindBundleCorrupt},
		"config no v":    {plaintextOf(ok("CFG", `{"s3":{}}`)), envelope.KindBundleCorrupt},
	}
	for name, c := range cases {
		_, err := parsePayload(c.pt)
		wantKind(t, name, err, c.kind)
		noSecrets(t, err)
	}
	// Exactly at the bound is fine as far as size goes.
	edge := `{"version":2,"repo":"r","env":"e","config":{"version":1},"key":"` + testKey + `","pad":"`
	edge += strings.Repeat("A", MaxPayload-len(edge)-2) + `"}`
	if _, err := parsePayload(plaintextOf(edge)); err != nil {
		t.Fatalf("payload of exactly MaxPayload bytes: %v", err)
	}
}

func TestGeneratePassphrase(t *testing.T) {
	seen := map[rune]int{}
	for i := 0; i < 2000; i++ {
		p, err := GeneratePassphrase()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 14 || p[4] != '-' || p[9] != '-' {
			t.Fatalf("bad shape %q", p)
		}
		for j, r := range p {
			if j == 4 || j == 9 {
				continue
			}
			if !strings.ContainsRune(PassphraseAlphabet, r) {
				t.Fatalf("%q outside the alphabet", r)
			}
			seen[r]++
		}
	}
	// 24000 draws over 54 letters, about 444 each: a missing or rare letter means bias.
	for _, r := range PassphraseAlphabet {
		if seen[r] < 300 || seen[r] > 600 {
			t.Errorf("letter %q drawn %d times", r, seen[r])
		}
	}
}

func TestFingerprintAndString(t *testing.T) {
	if got := Fingerprint("abc"); got != "ba7816bf" {
		t.Fatalf("Fingerprint(abc) = %q", got)
	}
	p := testPayload()
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p)} {
		if strings.Contains(s, testKey) || strings.Contains(s, testSecret) {
			t.Fatalf("formatting leaks a secret: %s", s)
		}
	}
}

func FuzzUnframe(f *testing.F) {
	f.Add([]byte("SLS1\x18MDEyMzQ1Njc4OWFiY2RlZg==RQE1"))
	f.Add([]byte("SLS1\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		salt, env, err := Unframe(data)
		if err != nil {
			if k := envelope.KindOf(err); k != envelope.KindBundleCorrupt && k != envelope.KindUnsupportedSpecVersion {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		again, err := Frame(salt, env)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted frame does not round-trip: %v", err)
		}
	})
}

// FuzzParsePayload reaches the JSON checks too: wrapped inputs are gzipped and
// base64-encoded first, since random bytes rarely survive those layers.
func FuzzParsePayload(f *testing.F) {
	valid, _ := codec.MarshalCompact(testPayload())
	f.Add(valid, true)
	f.Add(plaintextOf(string(valid)), false)
	f.Add([]byte(`{"version":3}`), true)
	f.Add([]byte(`{"version":2,"repo":"r","env":"e","config":{"version":1},"key":null}`), true)
	f.Add([]byte("not base64"), false)
	f.Fuzz(func(t *testing.T, data []byte, wrap bool) {
		if wrap {
			data = plaintextOf(string(data))
		}
		p, err := parsePayload(data)
		if err != nil {
			if k := envelope.KindOf(err); k != envelope.KindBundleCorrupt && k != envelope.KindUnsupportedSpecVersion {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if err := validate(p); err != nil {
			t.Fatalf("accepted an invalid payload: %v", err)
		}
	})
}
