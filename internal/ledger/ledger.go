// Package ledger reads the pull-safety ledger the TypeScript tool keeps beside a
// config (SPEC §14.1): the version a machine last synced and the files it saw then.
// git-vsync only reads it, to adopt the sync state of a clone that tool synced; the
// content is always confirmed against the bundle before it is trusted.
package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
)

// MaxBytes bounds a ledger file: 10,000 files of long names fit well below it.
const MaxBytes = 8 << 20

// MaxFiles is the most files a ledger may list: the TypeScript tool writes it and
// keeps to SPEC §4.4's 10,000 bundle entries (bundle.SpecEntries).
const MaxFiles = 10_000

// File is what the ledger recorded of one vault file.
type File struct {
	MtimeMs float64 `json:"mtime_ms"`
	Size    int64   `json:"size"`
}

// Ledger is the last sync the TypeScript tool recorded for one (repo, env).
type Ledger struct {
	TS    string          // last_sync_ts
	At    string          // last_sync_at, ISO-8601
	Op    string          // "pull" or "push"
	Files map[string]File // path relative to the vault, "/"-separated
}

// Path is the ledger of (repo, env) in the config root: beside the config file.
func Path(root, repoName, env string) string {
	return filepath.Join(root, repoName, "env_"+env+".ledger.json")
}

// Parse decodes and validates a ledger.
func Parse(data []byte) (*Ledger, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxBytes)
	}
	var doc struct {
		V     json.RawMessage            `json:"v"`
		TS    string                     `json:"last_sync_ts"`
		At    string                     `json:"last_sync_at"`
		Op    string                     `json:"last_sync_op"`
		Files map[string]json.RawMessage `json:"files"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a ledger JSON object")
	}
	if string(doc.V) != "1" {
		return nil, fmt.Errorf("ledger version is not 1")
	}
	if !rqem.ValidTS(doc.TS) {
		return nil, fmt.Errorf("last_sync_ts is not a version timestamp")
	}
	if doc.Op != "pull" && doc.Op != "push" {
		return nil, fmt.Errorf("last_sync_op is neither pull nor push")
	}
	if len(doc.Files) > MaxFiles {
		return nil, fmt.Errorf("lists more than %d files", MaxFiles)
	}
	l := &Ledger{TS: doc.TS, At: doc.At, Op: doc.Op, Files: make(map[string]File, len(doc.Files))}
	for name, raw := range doc.Files {
		if !validName(name) {
			return nil, fmt.Errorf("invalid file name %q", clip(name))
		}
		var f File
		if err := json.Unmarshal(raw, &f); err != nil || f.Size < 0 {
			return nil, fmt.Errorf("invalid entry for %q", clip(name))
		}
		l.Files[name] = f
	}
	return l, nil
}

// validName: relative, "/"-separated, no '\\', no '.' or '..' or empty segments.
func validName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Load reads the ledger at path; (nil, nil) when there is none.
func Load(path string) (*Ledger, error) {
	data, err := atomicfile.ReadRegular(path, MaxBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}
