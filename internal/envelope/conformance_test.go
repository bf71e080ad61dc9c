package envelope_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/cfgtoken"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
)

const vectorDir = "testdata/conformance"

type vector struct {
	Category string `json:"category"`
	Inputs   struct {
		Passphrase *string `json:"passphrase"`
		Salt       *string `json:"salt"`
		RemoteTS   *string `json:"remote_ts"`
	} `json:"inputs"`
	Expected struct {
		PlaintextHex *string         `json:"plaintext_hex"`
		EmbeddedTS   *string         `json:"embedded_ts"`
		PayloadHex   *string         `json:"payload_hex"`
		ConfigJSON   json.RawMessage `json:"config_json"`
		Error        *string         `json:"error"`
	} `json:"expected"`
}

type loaded struct {
	name string
	v    vector
	bin  []byte
}

// load reads every <name>.json + <name>.bin pair of a category. Anything that keeps
// a vector from running is a failure: SPEC §4.7 forbids skipping.
func load(t *testing.T, category string, min int) []loaded {
	t.Helper()
	dir := filepath.Join(vectorDir, category)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%s: %v", category, err)
	}
	var out []loaded
	bins := map[string]bool{}
	for _, e := range entries {
		name, ext := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())), filepath.Ext(e.Name())
		switch ext {
		case ".bin":
			bins[name] = true
			continue
		case ".json":
		default:
			t.Errorf("%s: unexpected file %s", category, e.Name())
			continue
		}
		js, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var v vector
		if err := json.Unmarshal(js, &v); err != nil {
			t.Fatalf("%s/%s: %v", category, e.Name(), err)
		}
		if v.Category != category {
			t.Errorf("%s/%s: category %q", category, e.Name(), v.Category)
		}
		bin, err := os.ReadFile(filepath.Join(dir, name+".bin"))
		if err != nil {
			t.Errorf("%s/%s: no .bin: %v", category, name, err)
			continue
		}
		out = append(out, loaded{name: name, v: v, bin: bin})
	}
	for _, l := range out {
		delete(bins, l.name)
	}
	for name := range bins {
		t.Errorf("%s/%s.bin has no .json", category, name)
	}
	if len(out) < min {
		t.Fatalf("%s: %d vectors, want at least %d", category, len(out), min)
	}
	return out
}

func knownKind(t *testing.T, where, s string) envelope.Kind {
	t.Helper()
	k := envelope.Kind(s)
	switch k {
	case envelope.KindBundleCorrupt, envelope.KindWrongPassphrase, envelope.KindUnsupportedSpecVersion,
		envelope.KindConfigMissing, envelope.KindConfigUnsupportedVersion:
		return k
	}
	t.Fatalf("%s: unknown error name %q", where, s)
	return ""
}

func need(t *testing.T, where, field string, p *string) string {
	t.Helper()
	if p == nil {
		t.Fatalf("%s: missing %s", where, field)
	}
	return *p
}

func checkErr(t *testing.T, where string, err error, want envelope.Kind) {
	t.Helper()
	if got := envelope.KindOf(err); got != want {
		t.Errorf("%s: got %q (%v), want %s", where, got, err, want)
	}
}

func TestConformance(t *testing.T) {
	// The vectors are at the wire count, not the tests' lowered one.
	kdf.SetTestIterations(t, kdf.Iterations)
	counts := map[string]int{}

	for _, l := range load(t, "rqe1-decrypt", 3) {
		where := "rqe1-decrypt/" + l.name
		pt, err := rqe1.OpenWithPassphrase(need(t, where, "passphrase", l.v.Inputs.Passphrase), need(t, where, "salt", l.v.Inputs.Salt), l.bin)
		if l.v.Expected.Error != nil {
			t.Fatalf("%s: positive vector expects an error", where)
		}
		if err != nil {
			t.Errorf("%s: %v", where, err)
		} else if got, want := hex.EncodeToString(pt), need(t, where, "plaintext_hex", l.v.Expected.PlaintextHex); got != want {
			t.Errorf("%s: plaintext %s, want %s", where, got, want)
		}
		counts["rqe1-decrypt"]++
	}

	for _, l := range load(t, "rqe1-decrypt-error", 5) {
		where := "rqe1-decrypt-error/" + l.name
		want := knownKind(t, where, need(t, where, "error", l.v.Expected.Error))
		_, err := rqe1.OpenWithPassphrase(need(t, where, "passphrase", l.v.Inputs.Passphrase), need(t, where, "salt", l.v.Inputs.Salt), l.bin)
		checkErr(t, where, err, want)
		counts["rqe1-decrypt-error"]++
	}

	for _, l := range load(t, "rqem0001-manifest", 4) {
		where := "rqem0001-manifest/" + l.name
		ts, _, perr := rqem.Parse(l.bin)
		if l.v.Expected.EmbeddedTS != nil {
			if perr != nil || ts != *l.v.Expected.EmbeddedTS {
				t.Errorf("%s: embedded ts %q (%v), want %q", where, ts, perr, *l.v.Expected.EmbeddedTS)
			}
		} else if perr == nil {
			t.Errorf("%s: Parse accepted a seal the vector says is unreadable", where)
		}
		payload, err := rqem.Open(l.bin, need(t, where, "remote_ts", l.v.Inputs.RemoteTS))
		if l.v.Expected.Error != nil {
			checkErr(t, where, err, knownKind(t, where, *l.v.Expected.Error))
		} else if err != nil {
			t.Errorf("%s: %v", where, err)
		} else if got, want := hex.EncodeToString(payload), need(t, where, "payload_hex", l.v.Expected.PayloadHex); got != want {
			t.Errorf("%s: payload %s, want %s", where, got, want)
		}
		counts["rqem0001-manifest"]++
	}

	for _, l := range load(t, "config-blob", 6) {
		where := "config-blob/" + l.name
		tok, err := cfgtoken.Decode(string(l.bin))
		if l.v.Expected.Error != nil {
			checkErr(t, where, err, knownKind(t, where, *l.v.Expected.Error))
		} else if err != nil {
			t.Errorf("%s: %v", where, err)
		} else {
			var want any
			if err := json.Unmarshal(l.v.Expected.ConfigJSON, &want); err != nil || want == nil {
				t.Fatalf("%s: expected.config_json missing or invalid", where)
			}
			gotJS, _ := json.Marshal(tok)
			var got any
			json.Unmarshal(gotJS, &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: config\n got %s\nwant %s", where, gotJS, l.v.Expected.ConfigJSON)
			}
		}
		counts["config-blob"]++
	}

	for _, l := range load(t, "error-taxonomy", 4) {
		where := "error-taxonomy/" + l.name
		want := knownKind(t, where, need(t, where, "error", l.v.Expected.Error))
		var err error
		if l.v.Inputs.Passphrase != nil { // an RQE1 envelope
			_, err = rqe1.OpenWithPassphrase(*l.v.Inputs.Passphrase, need(t, where, "salt", l.v.Inputs.Salt), l.bin)
		} else { // a runtime token
			_, err = cfgtoken.Decode(string(l.bin))
		}
		checkErr(t, where, err, want)
		counts["error-taxonomy"]++
	}
	t.Logf("vectors run: %v", counts)
}

// TestSpecCopyMatchesShared keeps docs/spec.md (the SPEC the code cites) identical to
// ../shared/SPEC.md below its one-line header, when the project sits next to it.
func TestSpecCopyMatchesShared(t *testing.T) {
	top := moduleTop(t)
	shared, err := os.ReadFile(filepath.Join(top, "..", "shared", "SPEC.md"))
	if err != nil {
		t.Logf("../shared/SPEC.md not present; only docs/spec.md is used")
		return
	}
	copied, err := os.ReadFile(filepath.Join(top, "docs", "spec.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := bytes.Cut(copied, []byte("-->\n\n"))
	if !bytes.Equal(body, shared) {
		t.Errorf("docs/spec.md differs from ../shared/SPEC.md: copy it again below the header")
	}
}

// moduleTop returns the folder of go.mod above the test's working directory.
func moduleTop(t *testing.T) string {
	t.Helper()
	top, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(top, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(top)
		if parent == top {
			t.Fatal("no go.mod above the test directory")
		}
		top = parent
	}
	return top
}

// TestConformanceCopyMatchesShared keeps testdata identical to ../shared/conformance
// when the project sits next to it (a plain clone has only the copy).
func TestConformanceCopyMatchesShared(t *testing.T) {
	shared := filepath.Join(moduleTop(t), "..", "shared", "conformance")
	if _, err := os.Stat(shared); err != nil {
		t.Logf("%s not present; only the testdata copy is used", shared)
		return
	}
	a, b := readTree(t, shared), readTree(t, vectorDir)
	for _, name := range sortedUnion(a, b) {
		x, inA := a[name]
		y, inB := b[name]
		switch {
		case !inA:
			t.Errorf("%s is in testdata but not in %s", name, shared)
		case !inB:
			t.Errorf("%s is in %s but missing from testdata", name, shared)
		case !bytes.Equal(x, y):
			t.Errorf("%s differs between %s and testdata", name, shared)
		}
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedUnion(a, b map[string][]byte) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
