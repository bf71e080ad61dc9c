package ledger

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tsLedger is a ledger as SPEC §14.1 says the TypeScript tool writes it.
const tsLedger = `{
  "v": 1,
  "last_sync_ts": "20260105-101112",
  "last_sync_at": "2026-01-05T10:11:13.456Z",
  "last_sync_op": "pull",
  "files": {
    ".env.dev": {
      "mtime_ms": 1767607873456.789,
      "size": 12
    },
    "tls/server.crt": {
      "mtime_ms": 1767607873000,
      "size": 4
    }
  }
}`

func TestParseTypeScriptLedger(t *testing.T) {
	l, err := Parse([]byte(tsLedger))
	if err != nil {
		t.Fatal(err)
	}
	if l.TS != "20260105-101112" || l.Op != "pull" || len(l.Files) != 2 || l.Files[".env.dev"].Size != 12 || l.Files[".env.dev"].MtimeMs != 1767607873456.789 {
		t.Fatalf("%+v", l)
	}
}

func TestParseRefuses(t *testing.T) {
	bad := map[string]string{
		"version":   strings.Replace(tsLedger, `"v": 1`, `"v": 2`, 1),
		"v string":  strings.Replace(tsLedger, `"v": 1`, `"v": "1"`, 1),
		"ts":        strings.Replace(tsLedger, `20260105-101112`, `2026-01-05`, 1),
		"op":        strings.Replace(tsLedger, `"pull"`, `"sync"`, 1),
		"absolute":  strings.Replace(tsLedger, `".env.dev"`, `"/etc/passwd"`, 1),
		"dotdot":    strings.Replace(tsLedger, `".env.dev"`, `"../x"`, 1),
		"backslash": strings.Replace(tsLedger, `".env.dev"`, `"tls\\x"`, 1),
		"negative":  strings.Replace(tsLedger, `"size": 12`, `"size": -1`, 1),
		"size type": strings.Replace(tsLedger, `"size": 12`, `"size": "12"`, 1),
		"not json":  "{",
		"array":     "[]",
		"too large": strings.Repeat(" ", MaxBytes+1),
	}
	for name, data := range bad {
		if _, err := Parse([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if l, err := Load(filepath.Join(dir, "none.ledger.json")); l != nil || err != nil {
		t.Fatalf("missing ledger: %v %v", l, err)
	}
	p := filepath.Join(dir, "env_dev.ledger.json")
	os.WriteFile(p, []byte(tsLedger), 0o600)
	if l, err := Load(p); err != nil || l.TS != "20260105-101112" {
		t.Fatalf("%v %v", l, err)
	}
	// Not regular files: refused without blocking.
	os.Remove(p)
	os.Mkdir(p, 0o700)
	if _, err := Load(p); err == nil {
		t.Fatal("folder accepted")
	}
	link := filepath.Join(dir, "env_y.ledger.json")
	os.WriteFile(p+"2", []byte(tsLedger), 0o600)
	os.Symlink(p+"2", link)
	if _, err := Load(link); err == nil {
		t.Fatal("symlink accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(tsLedger))
	f.Add([]byte(`{"v":1,"last_sync_ts":"20260105-101112","last_sync_op":"push","files":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(data)
		if err != nil {
			return
		}
		if len(l.Files) > MaxFiles || (l.Op != "pull" && l.Op != "push") {
			t.Fatalf("accepted %+v", l)
		}
		for name, fl := range l.Files {
			if !validName(name) || fl.Size < 0 {
				t.Fatalf("accepted entry %q", name)
			}
		}
	})
}
