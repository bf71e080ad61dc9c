//go:build !linux

package vault

import (
	"os"
)

// folder is an open folder of the vault (fd: its descriptor where statAt uses
// one).
type folder struct {
	f  *os.File
	fd int
}

func (f folder) close() { f.f.Close() }

// scratch: nothing is reused here.
type scratch struct{}

// list returns the folder's entries, in no particular order; rel is the
// folder's path below the vault.
func (f folder) list(rel, _ string, _ *scratch) ([]dirent, error) {
	ds, err := f.f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]dirent, len(ds))
	for i, de := range ds {
		p := joinRel(rel, de.Name())
		out[i] = dirent{path: p, name: len(p) - len(de.Name()), typ: de.Type()}
	}
	return out, nil
}

// joinRel is the path of name in the folder rel ("" for the vault folder).
func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}
