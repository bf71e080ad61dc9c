package vsync_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope/cfgtoken"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/vsync"
)

// classes maps the vectors' error names to the package's classes.
var classes = map[string]error{
	"BundleCorruptError":            vsync.ErrBundleCorrupt,
	"WrongPassphraseError":          vsync.ErrWrongPassphrase,
	"UnsupportedSpecVersionError":   vsync.ErrUnsupportedSpecVersion,
	"ConfigMissingError":            vsync.ErrConfigMissing,
	"ConfigUnsupportedVersionError": vsync.ErrConfigUnsupportedVersion,
}

// TestTaxonomyVectors opens every error-taxonomy vector the way an application
// meets it — an RQE1 vector as the published bundle of a store, with the vector's
// salt in the token and its passphrase as the key; a token vector as VSYNC_CONFIG —
// and checks the error is of the vector's class and of no other.
func TestTaxonomyVectors(t *testing.T) {
	kdf.SetTestIterations(t, kdf.Iterations) // the vectors use the wire cost
	dir := filepath.Join("..", "internal", "envelope", "testdata", "conformance", "error-taxonomy")
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(names) < 4 {
		t.Fatalf("vectors: %v %v", names, err)
	}
	seen := map[string]bool{}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			var v struct {
				Inputs struct {
					Passphrase *string `json:"passphrase"`
					Salt       *string `json:"salt"`
				} `json:"inputs"`
				Expected struct {
					Error string `json:"error"`
				} `json:"expected"`
			}
			js, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(js, &v); err != nil {
				t.Fatal(err)
			}
			bin, err := os.ReadFile(strings.TrimSuffix(name, ".json") + ".bin")
			if err != nil {
				t.Fatal(err)
			}
			want, ok := classes[v.Expected.Error]
			if !ok {
				t.Fatalf("no class for %q", v.Expected.Error)
			}
			seen[v.Expected.Error] = true
			var openErr error
			if v.Inputs.Passphrase != nil {
				d := mustDemo(t)
				d.salt = *v.Inputs.Salt
				d.token, err = cfgtoken.Encode(cfgtoken.Token{Endpoint: "file://" + filepath.ToSlash(d.dir), Bucket: "b", Prefix: "demo/dev/", Env: "dev", Salt: d.salt})
				if err != nil {
					t.Fatal(err)
				}
				if err := d.putRaw("20260101-000000", bin); err != nil {
					t.Fatal(err)
				}
				_, openErr = vsync.OpenWith(ctx(), d.token, *v.Inputs.Passphrase)
			} else {
				_, openErr = vsync.Open(ctx(), vsync.WithGetenv(func(k string) string {
					return map[string]string{"VSYNC_CONFIG": string(bin), "VSYNC_KEY": "k"}[k]
				}))
			}
			for n, class := range classes {
				if got := errors.Is(openErr, class); got != (class == want) {
					t.Errorf("errors.Is(err, %s) = %v; err = %v", n, got, openErr)
				}
			}
		})
	}
	for n := range classes {
		if !seen[n] && n != "ConfigMissingError" { // no vector of its own; TestOpenFromEnvironment covers it
			t.Errorf("no vector for %s", n)
		}
	}
}

func zipWithName(t *testing.T, name string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	zw.Close()
	return b.Bytes()
}

func storeCond() store.Cond { return store.Cond{} }
