// Package state records, per clone and env, what the vault looked like the last
// time it was in step with the store (SPEC §6.1). "Changed since last sync" is a
// comparison of content hashes against this record, never of modification times.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// maxStateBytes bounds what we read: a state of 100,000 files (the bundle entry
// limit) with long names is well below it.
const maxStateBytes = 64 << 20

// File is one vault entry as last synced.
type File struct {
	Path   string `json:"path"` // slash-separated, relative to the vault folder
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	Dir    bool   `json:"dir,omitempty"`
	Stat   string `json:"stat,omitempty"` // on-disk state when recorded (vault.File.Stat)
}

// State is the last sync of one env in one clone.
type State struct {
	Version int       `json:"version"`
	Repo    string    `json:"repo"`
	Env     string    `json:"env"`
	TS      string    `json:"ts"`   // bundle timestamp the vault matches
	Seen    string    `json:"seen"` // newest `latest` this clone knew of at that moment (≥ TS after pull --at)
	ETag    string    `json:"etag"` // ETag of `latest` at that moment
	Op      string    `json:"op"`   // "push" or "pull"
	Time    time.Time `json:"time"`
	// StatTime is when the files' Stat was recorded: files modified later than
	// two seconds before it are always hashed again (see vault.ScanKnown).
	StatTime time.Time `json:"stat_time,omitzero"`
	// KeyFP fingerprints the key that sealed or opened TS (see app.keyFingerprint),
	// so a push with another key is caught before it publishes; "" = unknown.
	KeyFP string `json:"key_fp,omitempty"`
	// Sealed is the SHA-256 of the sealed bundle of TS, only in a pushing record:
	// the bundle is unique (random nonce), so equal bytes in the store are ours.
	Sealed string `json:"sealed,omitempty"`
	// StatDigest is the Digest of Files, written by Save (never taken from the
	// caller): a vault whose listing has this digest is the one Files records,
	// stat key for stat key. "" when a file has no stat key or hash.
	StatDigest string `json:"stat_digest,omitempty"`
	// Files come last, so that LoadHead reads everything else from the head of
	// a large state. Complete in every State but one from LoadHead (Partial).
	Files []File `json:"files"`

	// from is the state file a LoadHead state was read from, whose files it did
	// not read ("" when Files is complete).
	from string
}

// Partial reports whether Files was left unread (LoadHead): only the other
// fields and StatDigest are known.
func (s *State) Partial() bool { return s.from != "" }

// Path is the state file of env in the git common dir's vsync folder.
func Path(stateDir, env string) string {
	return filepath.Join(stateDir, env+".state.json")
}

// Parse decodes a state file.
func Parse(data []byte) (*State, error) {
	return parse(data, string(data))
}

// parseOwned is Parse of data read for it and never written again: the strings
// of the state are slices of data itself, not of a copy (4 MB at 20,000 files).
func parseOwned(data []byte) (*State, error) {
	if len(data) == 0 {
		return Parse(data)
	}
	return parse(data, unsafe.String(&data[0], len(data)))
}

// parse decodes data, whose text is text.
func parse(data []byte, text string) (*State, error) {
	if len(data) > maxStateBytes {
		return nil, fmt.Errorf("state file larger than %d bytes", maxStateBytes)
	}
	s, ok := decodeFast(text)
	if !ok {
		// Unmarshal, not a Decoder: the Decoder copies the whole value into its
		// own buffer first.
		s = &State{}
		if err := json.Unmarshal(data, s); err != nil {
			return nil, fmt.Errorf("state file is not valid JSON: %v", err)
		}
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("state file version %d is not supported", s.Version)
	}
	if !validFiles(s.Files) {
		return nil, fmt.Errorf("state file lists an invalid or duplicate path")
	}
	return s, nil
}

// validFiles: no empty path, no negative size, no path twice. The files of a
// state this package wrote are in path order, where a duplicate is a neighbour;
// others are checked with a map.
func validFiles(files []File) bool {
	sorted := true
	for i, f := range files {
		if f.Path == "" || f.Size < 0 {
			return false
		}
		if i > 0 && files[i-1].Path >= f.Path {
			sorted = false
		}
	}
	if sorted {
		return true
	}
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if seen[f.Path] {
			return false
		}
		seen[f.Path] = true
	}
	return true
}

// Load reads the state of env; (nil, nil) when this clone never synced it.
func Load(stateDir, env string) (*State, error) {
	data, err := atomicfile.ReadRegular(Path(stateDir, env), maxStateBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := parseOwned(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Path(stateDir, env), err)
	}
	return s, nil
}

// Save writes the state atomically, 0600 in a 0700 folder.
func Save(stateDir string, s *State) error {
	return write(Path(stateDir, s.Env), s)
}

func write(path string, s *State) error {
	if s.Partial() {
		if err := s.readFiles(); err != nil {
			return err
		}
	}
	s.Version = 1
	s.StatDigest = statDigest(s.Files)
	// Compact: a large vault's state is read by every up-to-date check.
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// pendingPath is where a pull records the state it is about to reach, before it
// swaps the vault, so a crash between the swap and Save can be told apart from a
// local edit.
func pendingPath(stateDir, env string) string {
	return filepath.Join(stateDir, env+".pending.json")
}

// SavePending records the state a vault swap is about to reach. Commit makes it
// the state once the swap is done; Resolve settles it after a crash.
func SavePending(stateDir string, s *State) error {
	return write(pendingPath(stateDir, s.Env), s)
}

// Commit turns the pending state of env into its state (one rename).
func Commit(stateDir, env string) error {
	if err := os.Rename(pendingPath(stateDir, env), Path(stateDir, env)); err != nil {
		return err
	}
	atomicfile.SyncDir(stateDir)
	return nil
}

// DropPending forgets a pending state (the swap did not happen).
func DropPending(stateDir, env string) {
	os.Remove(pendingPath(stateDir, env))
}

// Resolve settles a pending state left by a command that died during a vault swap:
// when the vault holds exactly the pending files, the swap happened and the pending
// state becomes the state; otherwise the swap did not happen and it is dropped.
// current lists the vault as it is now; it is only called when something is pending.
func Resolve(stateDir, env string, current func() ([]File, error)) error {
	data, err := atomicfile.ReadRegular(pendingPath(stateDir, env), maxStateBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	p, err := parseOwned(data)
	if err != nil {
		DropPending(stateDir, env)
		return nil
	}
	files, err := current()
	if err != nil {
		return err
	}
	if sameFiles(files, p.Files) {
		return Commit(stateDir, env)
	}
	DropPending(stateDir, env)
	return nil
}

// pushingPath is where a push records the state it is about to reach before it
// swaps `latest`, so a push killed (or cut off) after the swap is recognised later.
func pushingPath(stateDir, env string) string {
	return filepath.Join(stateDir, env+".pushing.json")
}

// SavePushing records the state a push reaches if its swap of `latest` succeeds.
func SavePushing(stateDir string, s *State) error { return write(pushingPath(stateDir, s.Env), s) }

// LoadPushing returns the pushing record of env, nil when there is none (or it is
// unreadable: it is only a hint).
func LoadPushing(stateDir, env string) *State {
	data, err := atomicfile.ReadRegular(pushingPath(stateDir, env), maxStateBytes)
	if err != nil {
		return nil
	}
	p, err := parseOwned(data)
	if err != nil {
		return nil
	}
	return p
}

// DropPushing forgets the pushing record of env.
func DropPushing(stateDir, env string) { os.Remove(pushingPath(stateDir, env)) }

// Peek is Resolve without writing, for commands that do not hold the vault lock
// (status, the pre-push hook): the pending state when the vault holds exactly its
// files, else nil. The next locked command settles it for good.
func Peek(stateDir, env string, current func() ([]File, error)) (*State, error) {
	data, err := atomicfile.ReadRegular(pendingPath(stateDir, env), maxStateBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := parseOwned(data)
	if err != nil {
		return nil, nil
	}
	files, err := current()
	if err != nil || !sameFiles(files, p.Files) {
		return nil, err
	}
	return p, nil
}

func sameFiles(a, b []File) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]File, len(a))
	for _, f := range a {
		m[f.Path] = f
	}
	for _, f := range b {
		g, ok := m[f.Path]
		if !ok || g.Dir != f.Dir || (!f.Dir && (g.Size != f.Size || g.SHA256 != f.SHA256)) {
			return false
		}
	}
	return true
}
