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

// tmpTag marks the temp file of a backup being sealed: ".<ts>.zip.enc.tmp-<random>".
const tmpTag = ".tmp-"

// staleTemp is the age after which prune removes a temp file left by a command
// that died before publishing its backup.
const staleTemp = time.Hour

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

// Pending is a backup sealed into a temp file in its folder, neither flushed nor
// listed yet: Publish makes it a backup, Discard drops it. Splitting the two lets a
// pull seal the backup while it unpacks the new vault and flush both with one
// syncfs before the swap (docs/design.md, "Durable extraction").
type Pending struct {
	dir  string
	f    *os.File
	size int64
	now  time.Time
}

// Begin seals the zip that write writes into a temp file in the folder of the
// backups of (repo, env), as it streams (a large vault is never held in memory).
// An error of write is returned as it is, and nothing is left behind.
func Begin(root, repo, env string, key []byte, now time.Time, write func(io.Writer) error) (*Pending, error) {
	dir := Dir(root, repo, env)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "."+rqem.FormatTS(now)+suffix+tmpTag+"*")
	if err != nil {
		return nil, err
	}
	p := &Pending{dir: dir, f: f, now: now}
	if err := p.seal(key, write); err != nil {
		p.Discard()
		return nil, err
	}
	return p, nil
}

func (p *Pending) seal(key []byte, write func(io.Writer) error) error {
	if err := p.f.Chmod(0o600); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(p.f, 64<<10)
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
	p.size = w.Size()
	return bw.Flush()
}

// Publish makes the backup durable and gives it its name: an fsync of the file
// (which finds nothing left to write when a syncfs of its file system ran since
// it was sealed, and reports a failed write-back either way), a rename to the
// first free "<ts>[-N].zip.enc", an fsync of the folder. After an error nothing
// is published. Prune then removes the oldest beyond Keep (deleting a large
// backup takes a while: the caller may do it beside other work).
func (p *Pending) Publish() (Backup, error) {
	err := p.f.Sync()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.f.Name())
		return Backup{}, err
	}
	base := rqem.FormatTS(p.now)
	id := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(filepath.Join(p.dir, id+suffix)); errors.Is(err, os.ErrNotExist) {
			break
		}
		id = fmt.Sprintf("%s-%d", base, i)
	}
	path := filepath.Join(p.dir, id+suffix)
	if err := os.Rename(p.f.Name(), path); err != nil {
		os.Remove(p.f.Name())
		return Backup{}, err
	}
	atomicfile.SyncDir(p.dir)
	return Backup{ID: id, Path: path, Size: p.size, Time: p.now.UTC()}, nil
}

// Prune removes the oldest backups of the folder of b beyond Keep, and the temp
// files of backups whose command died before publishing them.
func Prune(b Backup) error { return prune(filepath.Dir(b.Path)) }

// Discard removes a backup that is not to be published.
func (p *Pending) Discard() {
	p.f.Close()
	os.Remove(p.f.Name())
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
		// The temp file of a backup whose command died before publishing it (the
		// one of a running command is younger).
		if strings.HasPrefix(de.Name(), ".") && strings.Contains(de.Name(), suffix+tmpTag) {
			if fi, err := de.Info(); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTemp {
				os.Remove(filepath.Join(dir, de.Name()))
			}
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
