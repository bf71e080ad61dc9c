package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/lockfile"
)

// The file store keeps a bucket in <root>/<bucket>/ with one file per object
// (key "a/b" → <root>/<bucket>/a/b). Files are 0600, folders 0700.
//
// Writes go to a temp file beside the target (fsync) and are renamed into
// place while holding the key's lock, so readers see the old or the new
// object, never a mix. Locks are OS file locks (flock on unix, LockFileEx on
// Windows) on one of 256 lock files in <root>/<bucket>/.vsync-locks/ chosen by
// the key's hash; the OS drops them when a process dies, so there are no
// stale locks. They make conditional writes safe between processes on one
// machine; on network file systems they are only as good as the server's
// lock support.
//
// The store root must exist (a missing root — an unmounted drive — is
// ErrUnreachable); the bucket folder is created by the first Put.
//
// ETags are the quoted hex SHA-256 of the content.
type fileStore struct {
	root string // the folder of the file:// URL
	dir  string // root/bucket
	name string // file:// URL of dir
}

const (
	tempPrefix  = reservedPrefix + "tmp-"
	lockDirName = reservedPrefix + "locks"
	lockTimeout = 30 * time.Second
	staleTemp   = 24 * time.Hour
)

func openFile(c Config) (*fileStore, error) {
	root, err := fileRoot(c.Endpoint, runtime.GOOS)
	if err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	if err := checkBucketDir(c.Bucket); err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	dir := filepath.Join(root, c.Bucket)
	return &fileStore{root: root, dir: dir, name: fileURL(dir, runtime.GOOS == "windows")}, nil
}

func (f *fileStore) String() string { return f.name }

func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return etagOfSum(sum[:])
}

func etagOfSum(sum []byte) string { return `"` + hex.EncodeToString(sum) + `"` }

func (f *fileStore) errf(op, key string, kind error, err error) error {
	return &Error{Op: op, Store: f.name, Key: key, Kind: kind, Err: err}
}

// osErr wraps an OS error with the sentinel it means. A missing file means
// ErrNotFound only to a get: to a put it is a path blocked by an object.
func (f *fileStore) osErr(op, key string, err error) error {
	var kind error
	switch {
	case (op == "get") && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)):
		kind = ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		kind = ErrAccessDenied
	case errors.Is(err, context.Canceled):
	case errors.Is(err, context.DeadlineExceeded):
		kind = ErrUnreachable
	}
	return f.errf(op, key, kind, err)
}

// checkRoot makes sure the store folder is there: a missing folder is an
// unmounted or moved store, not an empty one.
func (f *fileStore) checkRoot(op, key string) error {
	fi, err := os.Stat(f.root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f.errf(op, key, ErrUnreachable, fmt.Errorf("the store folder %s does not exist (moved, or a drive not mounted?)", f.root))
	case errors.Is(err, fs.ErrPermission):
		return f.errf(op, key, ErrAccessDenied, err)
	case err != nil:
		return f.errf(op, key, ErrUnreachable, err)
	case !fi.IsDir():
		return f.errf(op, key, ErrUnreachable, fmt.Errorf("the store path %s is not a folder", f.root))
	}
	return nil
}

func (f *fileStore) path(key string) string {
	return filepath.Join(f.dir, filepath.FromSlash(key))
}

// checkFolders refuses a key whose folders below the store folder (dirs, slash-
// separated) include a symbolic link or anything but a folder: another user of
// a shared store folder could point one at another store or repository, and
// reads, writes, deletes and listings would follow it there. Folders that do
// not exist yet are fine: they are created as real ones.
func (f *fileStore) checkFolders(op, key, dirs string) error {
	cur := f.dir
	for _, seg := range strings.Split(dirs, "/") {
		if seg == "" || seg == "." {
			continue
		}
		cur = filepath.Join(cur, seg)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return f.osErr(op, key, err)
		}
		if !fi.IsDir() {
			return f.errf(op, key, nil, fmt.Errorf("%s is not a folder (a symbolic link?): the file store follows no links", cur))
		}
	}
	return nil
}

// openObject opens the object at p and returns its size. A folder is no object
// (ErrNotExist); a symlink or other special file is refused.
func openObject(p string) (*os.File, int64, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, 0, err
	}
	if fi.IsDir() {
		return nil, 0, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file (symlinks are not objects)", p)
	}
	fh, err := openRead(p)
	if err != nil {
		return nil, 0, err
	}
	if fi, err = fh.Stat(); err != nil {
		fh.Close()
		return nil, 0, err
	}
	return fh, fi.Size(), nil
}

// readObject reads the object at p (see openObject).
func readObject(p string) ([]byte, error) {
	fh, size, err := openObject(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readAllSized(fh, size)
}

func (f *fileStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := checkFileKey(key); err != nil {
		return nil, "", f.errf("get", key, nil, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", f.osErr("get", key, err)
	}
	if err := f.checkRoot("get", key); err != nil {
		return nil, "", err
	}
	if err := f.checkFolders("get", key, path.Dir(key)); err != nil {
		return nil, "", err
	}
	body, err := readObject(f.path(key))
	if err != nil {
		return nil, "", f.osErr("get", key, err)
	}
	return body, etagOf(body), nil
}

// GetTo streams the object into w, hashing it on the way for the ETag unless w
// says the ETag is not used.
func (f *fileStore) GetTo(ctx context.Context, key string, w io.Writer) (string, int64, error) {
	if err := checkFileKey(key); err != nil {
		return "", 0, f.errf("get", key, nil, err)
	}
	if err := ctx.Err(); err != nil {
		return "", 0, f.osErr("get", key, err)
	}
	if err := f.checkRoot("get", key); err != nil {
		return "", 0, err
	}
	if err := f.checkFolders("get", key, path.Dir(key)); err != nil {
		return "", 0, err
	}
	fh, size, err := openObject(f.path(key))
	if err != nil {
		return "", 0, f.osErr("get", key, err)
	}
	defer fh.Close()
	if overLimit(w, size) {
		return "", 0, f.errf("get", key, nil, ErrTooLarge)
	}
	if _, ok := w.(ETagUnused); ok {
		// Large reads: fewer wake-ups of a reader that follows w (a download
		// authenticated while it arrives).
		n, err := io.CopyBuffer(w, struct{ io.Reader }{fh}, make([]byte, 256<<10))
		if err != nil {
			return "", n, f.errf("get", key, nil, err)
		}
		return "", n, nil
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), fh)
	if err != nil {
		return "", n, f.errf("get", key, nil, err)
	}
	return etagOfSum(h.Sum(nil)), n, nil
}

func (f *fileStore) Put(ctx context.Context, key string, body []byte, c Cond) (string, error) {
	etag, _, err := f.put(ctx, key, bytes.NewReader(body), int64(len(body)), c)
	return etag, err
}

func (f *fileStore) PutFile(ctx context.Context, key string, body io.ReaderAt, size int64, c Cond) (string, error) {
	if size < 0 {
		return "", f.errf("put", key, nil, errors.New("negative body size"))
	}
	etag, _, err := f.put(ctx, key, io.NewSectionReader(body, 0, size), size, c)
	return etag, err
}

// PutStream copies the body into the temp file while it is written; the object
// appears (renamed into place) once the body is complete.
func (f *fileStore) PutStream(ctx context.Context, key string, body StreamBody, c Cond) (string, int64, error) {
	return f.put(ctx, key, &streamReader{ctx: ctx, body: body}, -1, c)
}

// put writes the size bytes of body to key (size -1: all of body, whatever its
// length) and returns the new ETag and the length written.
func (f *fileStore) put(ctx context.Context, key string, body io.Reader, size int64, c Cond) (_ string, n int64, _ error) {
	if err := checkFileKey(key); err != nil {
		return "", 0, f.errf("put", key, nil, err)
	}
	if err := checkCond(c); err != nil {
		return "", 0, f.errf("put", key, nil, err)
	}
	if err := ctx.Err(); err != nil {
		return "", 0, f.osErr("put", key, err)
	}
	if err := f.checkRoot("put", key); err != nil {
		return "", 0, err
	}
	if err := f.checkFolders("put", key, path.Dir(key)); err != nil {
		return "", 0, err
	}
	p := f.path(key)
	parent := filepath.Dir(p)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", 0, f.osErr("put", key, err)
	}

	// The slow part (writing, fsync) happens before taking the lock.
	tmp, err := os.CreateTemp(parent, tempPrefix+"*")
	if err != nil {
		return "", 0, f.osErr("put", key, err)
	}
	tmpName := tmp.Name()
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmpName)
		}
	}()
	h := sha256.New()
	err = tmp.Chmod(0o600)
	if err == nil {
		n, err = io.Copy(io.MultiWriter(tmp, h), body)
		if err == nil && size >= 0 && n != size {
			err = fmt.Errorf("the body has %d bytes, not the announced %d: %w", n, size, io.ErrUnexpectedEOF)
		}
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, f.osErr("put", key, err)
	}

	unlock, err := f.lock(ctx, key)
	if err != nil {
		return "", 0, err
	}
	defer unlock()

	if c.IfNoneMatch || c.IfMatch != "" {
		cur, exists, err := currentETag(p)
		if err != nil {
			return "", 0, f.osErr("put", key, err)
		}
		if c.IfNoneMatch && exists {
			return "", 0, f.errf("put", key, ErrPreconditionFailed, errors.New("the object exists"))
		}
		if c.IfMatch != "" && !exists {
			return "", 0, f.errf("put", key, ErrPreconditionFailed, errors.New("the object does not exist"))
		}
		if c.IfMatch != "" && unquoteETag(cur) != unquoteETag(c.IfMatch) {
			return "", 0, f.errf("put", key, ErrPreconditionFailed, errors.New("the object has another ETag"))
		}
	}
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return "", 0, f.errf("put", key, nil, errors.New("a folder of other objects has this name"))
	}
	if err := renameReplace(tmpName, p); err != nil {
		return "", 0, f.osErr("put", key, err)
	}
	renamed = true
	atomicfile.SyncDir(parent)
	return etagOfSum(h.Sum(nil)), n, nil
}

// currentETag returns the ETag of the object at p and whether one exists.
// A symlink or special file counts as existing, with an ETag nobody can
// match.
func currentETag(p string) (string, bool, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if fi.IsDir() {
		return "", false, nil
	}
	if !fi.Mode().IsRegular() {
		return `"-"`, true, nil
	}
	fh, _, err := openObject(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", false, err
	}
	return etagOfSum(h.Sum(nil)), true, nil
}

func (f *fileStore) Delete(ctx context.Context, key string) error {
	if err := checkFileKey(key); err != nil {
		return f.errf("delete", key, nil, err)
	}
	if err := ctx.Err(); err != nil {
		return f.osErr("delete", key, err)
	}
	if err := f.checkRoot("delete", key); err != nil {
		return err
	}
	if err := f.checkFolders("delete", key, path.Dir(key)); err != nil {
		return err
	}
	p := f.path(key)
	if _, err := os.Lstat(filepath.Dir(p)); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return f.osErr("delete", key, err)
	}
	unlock, err := f.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || (err == nil && fi.IsDir()) {
		return nil
	}
	if err == nil {
		err = os.Remove(p)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return f.osErr("delete", key, err)
	}
	atomicfile.SyncDir(filepath.Dir(p))
	return nil
}

// lock takes the key's lock file, waiting up to lockTimeout or ctx.
func (f *fileStore) lock(ctx context.Context, key string) (func(), error) {
	sum := sha256.Sum256([]byte(key))
	p := filepath.Join(f.dir, lockDirName, hex.EncodeToString(sum[:1])+".lock")
	release, err := lockfile.Acquire(ctx, p, lockTimeout)
	switch {
	case err == nil:
		return release, nil
	case errors.Is(err, lockfile.ErrBusy):
		return nil, f.errf("lock", key, nil, fmt.Errorf("another process has held the lock %s for %s", p, lockTimeout))
	case ctx.Err() != nil:
		return nil, f.osErr("lock", key, ctx.Err())
	}
	return nil, f.osErr("lock", key, err)
}

func (f *fileStore) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, f.osErr("list", prefix, err)
	}
	if err := f.checkRoot("list", prefix); err != nil {
		return nil, err
	}
	// Walk only the deepest folder the prefix fully names.
	base := f.dir
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirPart := prefix[:i]
		if checkFileKey(dirPart) != nil {
			return nil, nil // no valid key can start with this prefix
		}
		if err := f.checkFolders("list", prefix, dirPart); err != nil {
			return nil, err
		}
		base = filepath.Join(f.dir, filepath.FromSlash(dirPart))
	}
	var out []Info
	now := time.Now()
	n := 0
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == base && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
				return filepath.SkipAll
			}
			return err
		}
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if p == base {
			if !d.IsDir() {
				return filepath.SkipAll
			}
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, reservedPrefix) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			if strings.HasPrefix(name, tempPrefix) {
				if fi, err := d.Info(); err == nil && now.Sub(fi.ModTime()) > staleTemp {
					os.Remove(p) // left by a crashed writer
				}
			}
			return nil
		}
		rel, err := filepath.Rel(f.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			// Descend only where keys can still match the prefix.
			if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) || checkFileKey(key) != nil {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while walking
		}
		if err != nil {
			return err
		}
		out = append(out, Info{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return nil, f.osErr("list", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
