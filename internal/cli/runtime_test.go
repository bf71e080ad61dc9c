package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/git-vsync/git-vsync/internal/dotenv"
	"github.com/git-vsync/git-vsync/vsync"
)

// dumpEnv is a child for `run` tests: `dumpenv NAME…` prints those variables as a
// JSON object (unset ones left out); `dumpenv` alone prints every variable name.
func dumpEnv() {
	names := os.Args[1:]
	if len(names) == 0 {
		var all []string
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			all = append(all, k)
		}
		sort.Strings(all)
		fmt.Println(strings.Join(all, "\n"))
		os.Exit(0)
	}
	m := map[string]string{}
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			m[n] = v
		}
	}
	js, _ := json.MarshalIndent(m, "", "  ")
	fmt.Println(string(js))
}

// vsyncRead is an application using the public package: `vsyncread KEY…` opens
// the secrets from VSYNC_CONFIG and VSYNC_KEY (or their variants) and prints the
// version and the keys' values as JSON; on error it prints the error's class.
func vsyncRead() {
	s, err := vsync.Open(context.Background())
	if err != nil {
		for name, class := range map[string]error{
			"BundleCorrupt": vsync.ErrBundleCorrupt, "WrongPassphrase": vsync.ErrWrongPassphrase,
			"UnsupportedSpecVersion": vsync.ErrUnsupportedSpecVersion, "ConfigMissing": vsync.ErrConfigMissing,
			"ConfigUnsupportedVersion": vsync.ErrConfigUnsupportedVersion, "KeyMissing": vsync.ErrKeyMissing,
			"NoVersion": vsync.ErrNoVersion, "AccessDenied": vsync.ErrAccessDenied, "Unreachable": vsync.ErrUnreachable,
		} {
			if errors.Is(err, class) {
				fmt.Fprintln(os.Stderr, "class:", name)
			}
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	defer s.Close()
	out := map[string]string{"version": s.Version()}
	for _, k := range os.Args[1:] {
		if v, ok := s.Get(k); ok {
			out[k] = v
		} else if data, err := s.File(k); err == nil {
			out[k] = string(data)
		}
	}
	js, _ := json.MarshalIndent(out, "", "  ")
	fmt.Println(string(js))
	fmt.Fprintln(os.Stderr, s)
}

// cmdDotenvJSON: dotenvjson FILE — parses FILE with internal/dotenv and prints
// its keys as a JSON object, the form `env --format json` prints.
func cmdDotenvJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: dotenvjson FILE")
	}
	entries, err := dotenv.Parse([]byte(ts.ReadFile(args[0])))
	if err != nil {
		ts.Fatalf("dotenvjson: %v", err)
	}
	js, err := json.MarshalIndent(dotenv.Map(entries), "", "  ")
	ts.Check(err)
	fmt.Fprintln(ts.Stdout(), string(js))
}

// TestWriteEnvGithub reads the github format back the way the runner does: plain
// KEY=value lines and KEY<<DELIM blocks.
func TestWriteEnvGithub(t *testing.T) {
	keys := []dotenv.Entry{{Key: "A", Value: "x=y"}, {Key: "CERT", Value: "-----BEGIN-----\nabc\n-----END-----\n"}, {Key: "E", Value: ""}, {Key: "R", Value: "a\r\nb"}}
	var b strings.Builder
	if err := writeEnv(&b, keys, "github"); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		if k, d, ok := strings.Cut(lines[i], "<<"); ok && !strings.Contains(k, "=") {
			var v []string
			for i++; lines[i] != d; i++ {
				v = append(v, lines[i])
			}
			got[k] = strings.Join(v, "\n")
			continue
		}
		k, v, _ := strings.Cut(lines[i], "=")
		got[k] = v
	}
	for _, e := range keys {
		if got[e.Key] != e.Value {
			t.Errorf("%s: got %q, want %q", e.Key, got[e.Key], e.Value)
		}
	}
}
