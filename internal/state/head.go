package state

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// headBytes is how much of a state file LoadHead reads: the fields before
// files are a few hundred bytes; a file this small is read whole.
const headBytes = 8 << 10

// fileEnd is how every state file write makes ends, after the files' array.
const fileEnd = "]}\n"

// LoadHead is Load for an up-to-date check: of a large state that Save wrote
// (files last, with a StatDigest) it reads only the head, and returns a Partial
// state whose Files are not read; of any other it returns what Load does. An
// up-to-date check compares the vault's listing with StatDigest and reads the
// files (Load) only when they differ: a vault of 20,000 files then costs a walk,
// not the decoding of a 4 MB state. Saving a Partial state reads its files
// first. (nil, nil) when this clone never synced env.
func LoadHead(stateDir, env string) (*State, error) {
	path := Path(stateDir, env)
	s, err := readHead(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s == nil { // written otherwise, or small: read as always
		return Load(stateDir, env)
	}
	return s, nil
}

// readHead returns the Partial state of the large state file at path that
// write wrote, nil for any other.
func readHead(path string) (*State, error) {
	f, size, err := atomicfile.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size <= headBytes || size > maxStateBytes {
		return nil, nil
	}
	buf := make([]byte, headBytes+len(fileEnd))
	head, end := buf[:headBytes], buf[headBytes:]
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := f.ReadAt(end, size-int64(len(fileEnd))); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, _, ok := decodeHead(string(head))
	if !ok || string(end) != fileEnd || s.Version != 1 || s.StatDigest == "" {
		return nil, nil
	}
	s.from = path
	return s, nil
}

// readFiles completes a Partial state with the files of the state file it was
// read from, which must still be the same record (its time and digest).
func (s *State) readFiles() error {
	data, err := atomicfile.ReadRegular(s.from, maxStateBytes)
	if err != nil {
		return err
	}
	full, err := parseOwned(data)
	if err != nil {
		return fmt.Errorf("%s: %w", s.from, err)
	}
	if !full.Time.Equal(s.Time) || full.StatDigest != s.StatDigest || full.TS != s.TS {
		return fmt.Errorf("%s: the sync state changed while it was in use; run the command again", s.from)
	}
	s.Files, s.from = full.Files, ""
	return nil
}
