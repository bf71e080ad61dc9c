package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/dotenv"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// snapshot is one side of a diff or a merge: the files of the vault or of a
// version, and a way to read each. Versions are read from their decrypted bundle
// on demand: nothing of them is unpacked to disk.
type snapshot struct {
	label string // "local vault", or the version's timestamp
	list  []vault.File
	files map[string]vault.File
	copy  func(path string, w io.Writer) error
}

func newSnapshot(label string, list []vault.File, copy func(string, io.Writer) error) *snapshot {
	s := &snapshot{label: label, list: list, files: make(map[string]vault.File, len(list)), copy: copy}
	for _, f := range list {
		s.files[f.Path] = f
	}
	return s
}

// emptySnapshot is the base of a clone that never synced.
func emptySnapshot(label string) *snapshot { return newSnapshot(label, nil, nil) }

// localSnapshot is the vault as it is now (hashes trusted from st where the stat
// is unchanged, like Changes).
func (e *EnvHandle) localSnapshot(st *state.State) (*snapshot, error) {
	if err := e.checkVaultParents(); err != nil { // as pull and push: see loadVault
		return nil, err
	}
	cur, err := e.hashedVault(st)
	if err != nil {
		return nil, err
	}
	return newSnapshot("local vault", cur, func(p string, w io.Writer) error {
		f, err := vault.Open(e.VaultDir, p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}), nil
}

// versionSnapshot downloads version ts, opens it with this machine's key (or an
// older one it kept) and lists it. Call the returned release when done.
func (e *EnvHandle) versionSnapshot(ctx context.Context, aesKey []byte, ts string) (*snapshot, func(), error) {
	f, err := e.download(ctx, ts)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fail.New(fail.NotSetUp, "`git vsync versions "+e.Name+"` lists the versions the store holds", "the store has no version %s of %s", ts, e.Name)
	}
	if err != nil {
		return nil, nil, store.AsFail(err, "download version "+ts)
	}
	zip, err := e.openAnyKey(ctx, aesKey, f, ts)
	if err != nil {
		f.remove()
		return nil, nil, err
	}
	ar, err := bundle.OpenAt(zip, zip.Size(), bundle.DefaultLimits)
	if err != nil {
		f.remove()
		return nil, nil, fail.Wrap(fail.CodeOf(err), err, fail.HintOf(err), "read version %s of %s", ts, e.Name)
	}
	s := newSnapshot(ts, ar.Files(), func(p string, w io.Writer) error {
		_, err := ar.WriteFileTo(p, w)
		return err
	})
	return s, f.remove, nil
}

// has reports whether the snapshot holds a file (not a folder) at p.
func (s *snapshot) has(p string) bool {
	f, ok := s.files[p]
	return ok && !f.Dir
}

// hash is the content hash of the file at p, "" when there is none.
func (s *snapshot) hash(p string) string {
	if f, ok := s.files[p]; ok && !f.Dir {
		return f.SHA256
	}
	return ""
}

// doc parses the dotenv file at p with the one parser (internal/dotenv). A file
// that is absent is an empty document.
func (s *snapshot) doc(p string) (*dotenv.Doc, error) {
	if !s.has(p) {
		return dotenv.ParseDoc(nil)
	}
	if s.files[p].Size > dotenv.MaxBytes {
		return nil, dotenv.ErrTooLarge
	}
	var b bytes.Buffer
	if err := s.copy(p, &limitWriter{w: &b, n: dotenv.MaxBytes}); err != nil {
		return nil, err
	}
	return dotenv.ParseDoc(b.Bytes())
}

// limitWriter fails once more than n bytes were written.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, dotenv.ErrTooLarge
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// isDotenv reports whether a vault path is a dotenv file (`.env`, `.env.dev`,
// `.env.local`, …): those are compared and merged key by key.
func isDotenv(p string) bool {
	return strings.HasPrefix(path.Base(p), ".env")
}
