package cfgtoken

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/internal/codec"
)

const testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func sample() Token {
	return Token{V: 1, Endpoint: "https://s3.amazonaws.com", Region: "us-east-1", Bucket: "acme-secrets",
		AccessKeyID: "AKIAEXAMPLE0000000000", SecretAccessKey: testSecret, Prefix: "myapp/", Env: "prod",
		Salt: "NvTGExRJ8+Kn8dwdXrPv0w==", Iterations: 600000}
}

// tokenOf wraps arbitrary JSON the way Encode does.
func tokenOf(js string) string {
	return Prefix + base64.RawURLEncoding.EncodeToString(codec.Gzip([]byte(js)))
}

func wantKind(t *testing.T, what string, err error, k envelope.Kind) {
	t.Helper()
	if got := envelope.KindOf(err); got != k {
		t.Fatalf("%s: kind %q (%v), want %q", what, got, err, k)
	}
	if err != nil && (strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "AKIA")) {
		t.Fatalf("%s: error quotes a credential: %v", what, err)
	}
}

func TestRoundTrip(t *testing.T) {
	tok, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(strings.TrimPrefix(tok, Prefix), "+/=") {
		t.Fatal("body is not unpadded base64url")
	}
	got, err := Decode("  \n" + tok + "\r\n")
	if err != nil || got != sample() {
		t.Fatalf("round trip: %v %v", got, err)
	}
	zero := sample()
	zero.V, zero.Iterations = 0, 0
	tok, err = Encode(zero)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Decode(tok); got.V != 1 || got.Iterations != 600000 {
		t.Fatalf("defaults not applied: %v", got)
	}
}

// Encode must write the same JSON text as the TypeScript tool (field order, no
// HTML escaping), here the inside of the positive-aws vector.
func TestEncodeMatchesVectorJSON(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "conformance", "config-blob", "positive-aws.bin"))
	if err != nil {
		t.Fatal(err)
	}
	gz, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(raw)), Prefix))
	if err != nil {
		t.Fatal(err)
	}
	want, err := codec.Gunzip(gz, MaxJSON)
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.MarshalCompact(sample())
	if err != nil || string(got) != string(want) {
		t.Fatalf("JSON differs:\n got %s\nwant %s", got, want)
	}
}

func TestEncodeRefuses(t *testing.T) {
	for name, mut := range map[string]func(*Token){
		"v2":         func(t *Token) { t.V = 2 },
		"short salt": func(t *Token) { t.Salt = "0123456789abcde" },
		"negative":   func(t *Token) { t.Iterations = -1 },
	} {
		tk := sample()
		mut(&tk)
		if _, err := Encode(tk); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := `{"v":1,"endpoint":"e","region":"r","bucket":"b","accessKeyId":"AKIAX","secretAccessKey":"` + testSecret + `","prefix":"p/","env":"dev","salt":"0123456789abcdef","iterations":600000}`
	repl := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	body := strings.TrimPrefix(tokenOf(good), Prefix)
	cases := map[string]struct {
		in   string
		kind envelope.Kind
	}{
		"empty":         {"", envelope.KindConfigMissing},
		"blank":         {" \n\t", envelope.KindConfigMissing},
		"raw json":      {good, envelope.KindConfigMissing},
		"body only":     {body, envelope.KindConfigMissing},
		"upper prefix":  {"VSYNC-CFG-V1:" + body, envelope.KindConfigMissing},
		"v2 prefix":     {"vsync-cfg-v2:" + body, envelope.KindConfigUnsupportedVersion},
		"plus":          {Prefix + "ab+c", envelope.KindConfigUnsupportedVersion},
		"slash":         {Prefix + "ab/c", envelope.KindConfigUnsupportedVersion},
		"padded":        {Prefix + body + "=", envelope.KindConfigUnsupportedVersion},
		"std base64":    {Prefix + base64.StdEncoding.EncodeToString(codec.Gzip([]byte(good))), envelope.KindConfigUnsupportedVersion},
		"empty body":    {Prefix, envelope.KindBundleCorrupt},
		"bad base64":    {Prefix + "ab!c", envelope.KindBundleCorrupt},
		"bad length":    {Prefix + "a", envelope.KindBundleCorrupt},
		"not gzip":      {Prefix + base64.RawURLEncoding.EncodeToString([]byte(good)), envelope.KindBundleCorrupt},
		"cut gzip":      {Prefix + body[:len(body)-8], envelope.KindBundleCorrupt},
		"not json":      {tokenOf("secretAccessKey=" + testSecret), envelope.KindBundleCorrupt},
		"array":         {tokenOf(`[1]`), envelope.KindBundleCorrupt},
		"null":          {tokenOf(`null`), envelope.KindBundleCorrupt},
		"trailing":      {tokenOf(good + `{}`), envelope.KindBundleCorrupt},
		"bomb":          {tokenOf(`{"v":1,"x":"` + strings.Repeat("A", MaxJSON) + `"}`), envelope.KindBundleCorrupt},
		"no v":          {tokenOf(repl(`"v":1,`, "")), envelope.KindConfigUnsupportedVersion},
		"v 99":          {tokenOf(`{"v":99}`), envelope.KindConfigUnsupportedVersion},
		"v string":      {tokenOf(repl(`"v":1`, `"v":"1"`)), envelope.KindConfigUnsupportedVersion},
		"v 1.5":         {tokenOf(repl(`"v":1`, `"v":1.5`)), envelope.KindConfigUnsupportedVersion},
		"no salt":       {tokenOf(repl(`"salt":"0123456789abcdef",`, "")), envelope.KindConfigUnsupportedVersion},
		"short salt":    {tokenOf(repl(`"salt":"0123456789abcdef"`, `"salt":"0123456789abcde"`)), envelope.KindConfigUnsupportedVersion},
		"no iterations": {tokenOf(repl(`,"iterations":600000`, "")), envelope.KindBundleCorrupt},
		"zero iter":     {tokenOf(repl(`600000`, `0`)), envelope.KindBundleCorrupt},
		"negative iter": {tokenOf(repl(`600000`, `-1`)), envelope.KindBundleCorrupt},
		"string iter":   {tokenOf(repl(`600000`, `"600000"`)), envelope.KindBundleCorrupt},
		"numeric key":   {tokenOf(repl(`"accessKeyId":"AKIAX"`, `"accessKeyId":12`)), envelope.KindBundleCorrupt},
	}
	for name, c := range cases {
		_, err := Decode(c.in)
		wantKind(t, name, err, c.kind)
	}
	// Unknown fields are ignored, and a salt of exactly 16 characters is fine.
	tk, err := Decode(tokenOf(repl(`"v":1,`, `"v":1,"future":{"a":[1,2]},`)))
	if err != nil || tk.Salt != "0123456789abcdef" {
		t.Fatalf("unknown field: %v", err)
	}
	// 16 characters, not 16 bytes.
	if _, err := Decode(tokenOf(repl(`0123456789abcdef`, `ééééééééé`))); envelope.KindOf(err) != envelope.KindConfigUnsupportedVersion {
		t.Fatalf("9-character salt: %v", err)
	}
}

func TestStringRedacts(t *testing.T) {
	tk := sample()
	for _, s := range []string{fmt.Sprint(tk), fmt.Sprintf("%+v", tk), fmt.Sprintf("%#v", tk)} {
		if strings.Contains(s, testSecret) || strings.Contains(s, "AKIA") || strings.Contains(s, tk.Salt) {
			t.Fatalf("formatting leaks: %s", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"config-blob", "error-taxonomy"} {
		paths, _ := filepath.Glob(filepath.Join("..", "testdata", "conformance", dir, "*.bin"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(string(b))
			}
		}
	}
	tok, _ := Encode(sample())
	f.Add(tok)
	f.Add(Prefix)
	f.Fuzz(func(t *testing.T, s string) {
		tk, err := Decode(s)
		if err != nil {
			switch envelope.KindOf(err) {
			case envelope.KindConfigMissing, envelope.KindConfigUnsupportedVersion, envelope.KindBundleCorrupt:
			default:
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		again, err := Encode(tk)
		if err != nil {
			t.Fatalf("decoded token does not re-encode: %v", err)
		}
		if back, err := Decode(again); err != nil || back != tk {
			t.Fatalf("re-encoded token differs: %v", err)
		}
	})
}
