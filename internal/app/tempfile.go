package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/published"
	"github.com/git-vsync/git-vsync/internal/store"
)

// Bundles travel through temporary files, so that a push or pull holds a few
// chunks of a bundle in memory, not the whole of it (SPEC §12). They live in
// <git common dir>/vsync/tmp/ (0700), beside this clone's sync state: outside the
// work tree (git and editors never see them), per clone, on the repository's disk.
// They only ever hold ciphertext — a bundle is sealed while the zip is written and
// opened by decrypting on demand from the downloaded file — so a killed process
// leaves nothing readable behind; such leftovers are removed after a day.

const (
	tempPrefix = "bundle-"
	staleTemp  = 24 * time.Hour
)

// tempFile is a temporary bundle file and the length of its content.
type tempFile struct {
	*os.File
	size  int64
	sum   []byte // SHA-256 of the content of a sealed bundle, taken while it was written
	files int    // files in the bundle, when known (for the progress line)
}

// newTempFile creates a 0600 temp file in the clone's temp folder.
func (e *EnvHandle) newTempFile() (*tempFile, error) {
	dir := filepath.Join(e.Repo.StateDir(), "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fail.Wrap(fail.Failure, err, "check the permissions of "+e.Repo.StateDir(), "create the folder for temporary files")
	}
	sweepTemp(dir)
	f, err := os.CreateTemp(dir, tempPrefix+"*.enc")
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "check the permissions and free space of "+dir, "create a temporary file")
	}
	return &tempFile{File: f}, nil
}

// remove closes and deletes the file; safe to call more than once.
func (t *tempFile) remove() {
	if t == nil || t.File == nil {
		return
	}
	t.File.Close()
	os.Remove(t.Name())
	t.File = nil
}

// sweepTemp removes temp files a killed process left behind.
func sweepTemp(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	now := time.Now()
	for _, de := range ents {
		if !strings.HasPrefix(de.Name(), tempPrefix) {
			continue
		}
		if fi, err := de.Info(); err == nil && now.Sub(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}

// sealBundle writes the bundle RQE1(RQEM0001(ts, zip)) to a new temp file,
// sealing while zip writes the archive. An error of zip is returned as it is.
func (e *EnvHandle) sealBundle(aesKey []byte, ts string, zip func(w io.Writer) error) (*tempFile, error) {
	if !rqem.ValidTS(ts) {
		return nil, fail.New(fail.Failure, fail.HintBug, "invalid bundle timestamp %q", ts)
	}
	t, err := e.newTempFile()
	if err != nil {
		return nil, err
	}
	if t.size, t.sum, err = seal(t.File, aesKey, ts, zip); err != nil {
		t.remove()
		return nil, err
	}
	return t, nil
}

// seal writes RQE1(RQEM0001(ts, zip)) to out and returns its length and its
// SHA-256, hashed on the way out so that the push record never reads the bundle
// again.
func seal(out io.Writer, aesKey []byte, ts string, zip func(w io.Writer) error) (int64, []byte, error) {
	h := sha256.New()
	w, err := rqe1.NewWriter(aesKey, io.MultiWriter(out, h))
	if err != nil {
		return 0, nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "seal the bundle")
	}
	// Seal with no payload is the seal's header; the zip streams after it.
	if _, err := w.Write(rqem.Seal(ts, nil)); err != nil {
		return 0, nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "seal the bundle")
	}
	if err := zip(w); err != nil {
		return 0, nil, err
	}
	if err := w.Close(); err != nil {
		return 0, nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "seal the bundle")
	}
	return w.Size(), h.Sum(nil), nil
}

// upload is a version object uploading while its bundle is sealed.
type upload struct {
	done chan struct{}
	err  error // the store's error, once done is closed
}

// sealUploading is sealBundle with the bundle uploaded as version ts while it is
// written (store.PutStream with If-None-Match: on S3 a multipart upload for a
// large bundle, completed only once the bundle is whole; aborted on any failure,
// Ctrl-C included). The temp file stays the bundle of record: it is resealed
// when the slot is taken, compared after a lost answer (its hash for the push
// record is taken while it is written). The returned upload is finished; its error is the caller's to report.
// A failure to seal is returned after the upload was abandoned, and so is the
// upload's failure when it stopped the sealing.
func (e *EnvHandle) sealUploading(ctx context.Context, aesKey []byte, ts string, files int, zip func(w io.Writer) error) (*tempFile, *upload, error) {
	if !rqem.ValidTS(ts) {
		return nil, nil, fail.New(fail.Failure, fail.HintBug, "invalid bundle timestamp %q", ts)
	}
	t, err := e.newTempFile()
	if err != nil {
		return nil, nil, err
	}
	g := store.NewGrowingFile(t.File)
	up := &upload{done: make(chan struct{})}
	p := e.app.newProgress("push "+e.Name+": upload "+ts, 0, files)
	go func() {
		defer close(up.done)
		_, _, up.err = e.Store.PutStream(ctx, e.VersionKey(ts), progressStream{g, p}, store.Cond{IfNoneMatch: true})
		if up.err != nil {
			g.Stop(errUploadFailed) // no use sealing on
		}
	}()
	t.size, t.sum, err = seal(g, aesKey, ts, zip)
	if err == nil {
		p.setTotal(t.size)
	}
	g.Close(err)
	<-up.done
	p.finish()
	if err != nil {
		t.remove()
		if up.err != nil && !errors.Is(up.err, err) {
			return nil, nil, e.app.uploadFailed(ctx, e, ts, up.err, "push")
		}
		return nil, nil, err
	}
	return t, up, nil
}

// errUploadFailed stops the sealing of a bundle whose upload failed.
var errUploadFailed = errors.New("the upload failed")

// resealBundle seals the content of the bundle in src again as version ts, with a
// fresh nonce (a nonce is never used for two plaintexts).
func (e *EnvHandle) resealBundle(aesKey []byte, src *tempFile, ts string) (*tempFile, error) {
	p, err := rqe1.OpenAt(aesKey, src.File, src.size)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "reseal the bundle")
	}
	if p.Size() < int64(rqem.HeaderSize) {
		return nil, fail.New(fail.Failure, fail.HintBug, "reseal the bundle: it has no RQEM0001 header")
	}
	zip := io.NewSectionReader(p, int64(rqem.HeaderSize), p.Size()-int64(rqem.HeaderSize))
	return e.sealBundle(aesKey, ts, func(w io.Writer) error { return copyZip(w, zip) })
}

// copyZip copies a zip read on demand (a decrypted bundle) into w.
func copyZip(w io.Writer, zip *io.SectionReader) error {
	_, err := io.CopyBuffer(w, struct{ io.Reader }{zip}, make([]byte, 64<<10))
	return err
}

// download fetches the bundle of version ts into a temp file. Store errors are
// returned as they are (the callers tell a missing version apart).
func (e *EnvHandle) download(ctx context.Context, ts string) (*tempFile, error) {
	t, err := e.newTempFile()
	if err != nil {
		return nil, err
	}
	if err := e.downloadInto(ctx, ts, t, t.File); err != nil {
		t.remove()
		return nil, err
	}
	return t, nil
}

// bundleLimit passes at most published.MaxBundle bytes to w: a store (or a
// folder others write to) may hold a version of any size, and anything larger
// could not be opened anyway. Its Limit lets the store refuse the object by its
// announced length before the first byte.
type bundleLimit struct {
	w io.Writer
	n int64
}

func (l *bundleLimit) Write(p []byte) (int, error) {
	if l.n+int64(len(p)) > published.MaxBundle {
		return 0, store.ErrTooLarge
	}
	l.n += int64(len(p))
	return l.w.Write(p)
}

func (l *bundleLimit) Limit() int64 { return published.MaxBundle }

// ETagUnused: as progressWriter, a download has no use for the version's ETag.
func (*bundleLimit) ETagUnused() {}

// downloadInto fills the new temp file t with the bundle of version ts, written
// through w: t's file, or a store.GrowingFile over it that a reader follows.
func (e *EnvHandle) downloadInto(ctx context.Context, ts string, t *tempFile, w io.Writer) error {
	p := e.app.newProgress("download "+e.Name+" "+ts, 0, 0)
	_, n, err := e.Store.GetTo(ctx, e.VersionKey(ts), &bundleLimit{w: progressWriter{w, p}})
	p.finish()
	if errors.Is(err, store.ErrTooLarge) {
		return fail.New(fail.Integrity, "`git vsync versions "+e.Name+"` lists other versions; whoever pushed last can push again",
			"version %s of %s is larger than %d bytes, more than any bundle may hold (refused before it filled the disk)", ts, e.Name, published.MaxBundle)
	}
	if err != nil {
		return err
	}
	t.size = n
	return nil
}
