// Package backup keeps encrypted copies of a vault before anything replaces it
// (SPEC §6.2): RQE1 of the vault's zip, same key and salt as the bundles, at
// <root>/<repo>/<env>/<ts>.zip.enc, the newest Keep per (repo, env). root is
// <config root>/backups, or VSYNC_BACKUP_DIR when that is set (see Root).
package backup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
)

// Keep is how many backups are kept per (repo, env).
const Keep = 10

const suffix = ".zip.enc"

// Backup is one stored backup.
type Backup struct {
	ID   string // the file name without suffix: a timestamp, maybe with a "-N" suffix
	Path string
	Size int64
	Time time.Time
}

// DirEnv names the variable that moves the backups out of the config folder (to a
// disk with more room, or one that is itself backed up).
const DirEnv = "VSYNC_BACKUP_DIR"

// Root is the folder that holds the backups of every (repo, env): VSYNC_BACKUP_DIR
// when set and not blank, else <configRoot>/backups.
func Root(configRoot string, getenv func(string) string) string {
	if d := strings.TrimSpace(getenv(DirEnv)); d != "" {
		return filepath.Clean(d)
	}
	return filepath.Join(configRoot, "backups")
}

// Dir is the folder of the backups of (repo, env) below root (see Root).
func Dir(root, repo, env string) string {
	return filepath.Join(root, repo, env)
}

// SaveFrom is Save of the zip that write writes, sealed while it streams into
// the backup file (a temp file beside it until complete), so a large vault is
// never held in memory. An error of write is returned as it is.
func SaveFrom(root, repo, env string, key []byte, now time.Time, write func(io.Writer) error) (Backup, error) {
	dir := Dir(root, repo, env)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Backup{}, err
	}
	base := rqem.FormatTS(now)
	id := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(filepath.Join(dir, id+suffix)); errors.Is(err, os.ErrNotExist) {
			break
		}
		id = fmt.Sprintf("%s-%d", base, i)
	}
	p := filepath.Join(dir, id+suffix)
	var size int64
	err := atomicfile.WriteFunc(p, 0o600, func(f io.Writer) error {
		bw := bufio.NewWriterSize(f, 64<<10)
		w, err := rqe1.NewWriter(key, bw)
		if err != nil {
			return err
		}
		if err := write(w); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		size = w.Size()
		return bw.Flush()
	})
	if err != nil {
		return Backup{}, err
	}
	if err := prune(dir); err != nil {
		return Backup{}, err
	}
	return Backup{ID: id, Path: p, Size: size, Time: now.UTC()}, nil
}

// List returns the backups of (repo, env), newest first.
func List(root, repo, env string) ([]Backup, error) {
	dir := Dir(root, repo, env)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Backup
	for _, de := range ents {
		id, ok := strings.CutSuffix(de.Name(), suffix)
		if !ok || !de.Type().IsRegular() || len(id) < 15 || !rqem.ValidTS(id[:15]) {
			continue
		}
		t, _ := time.Parse(rqem.TSLayout, id[:15])
		fi, err := de.Info()
		if err != nil {
			continue
		}
		out = append(out, Backup{ID: id, Path: filepath.Join(dir, de.Name()), Size: fi.Size(), Time: t})
	}
	sort.Slice(out, func(i, j int) bool { return less(out[j].ID, out[i].ID) })
	return out, nil
}

// less orders IDs by timestamp, then by numeric "-N" suffix.
func less(a, b string) bool {
	if a[:15] != b[:15] {
		return a < b
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Reader is an opened backup: its zip, authenticated in full by OpenReader and
// decrypted from the file on demand. Close it when done.
type Reader struct {
	*rqe1.Plaintext
	f *os.File
}

// OpenReader opens a backup for reading without loading it: errors are Open's
// (os errors reading the file, rqe1 kinds).
func OpenReader(b Backup, key []byte) (*Reader, error) {
	f, err := os.Open(b.Path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	p, err := rqe1.OpenAt(key, f, fi.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Reader{Plaintext: p, f: f}, nil
}

// Close closes the backup file.
func (r *Reader) Close() error { return r.f.Close() }

func prune(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var ids []string
	for _, de := range ents {
		if id, ok := strings.CutSuffix(de.Name(), suffix); ok && len(id) >= 15 && rqem.ValidTS(id[:15]) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return less(ids[j], ids[i]) })
	for _, id := range ids[min(Keep, len(ids)):] {
		if err := os.Remove(filepath.Join(dir, id+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
