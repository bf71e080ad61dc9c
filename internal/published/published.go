// Package published reads a version of an env as git-vsync and the TypeScript tool
// publish it — `latest` → versions/<ts>.enc → RQE1 → RQEM0001 seal → zip (SPEC §4.2
// to §5.1) — from the store straight into memory: no plaintext and no ciphertext
// touches the disk. `run --remote`, `env --remote` and the public vsync package read
// through it, so the in-memory path has one implementation.
//
// Errors keep their classes: envelope kinds (errors.Is with envelope.ErrBundleCorrupt
// and friends) for bad data, store sentinels for the store, ErrNoVersion when nothing
// was pushed. A hostile archive is a corrupt bundle that also carries the bundle
// package's *fail.Error (exit code 6).
package published

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/store"
)

// ErrNoVersion says the env has no `latest` pointer: nothing was pushed yet.
var ErrNoVersion = errors.New("nothing was pushed to this env yet")

// maxPointer bounds the `latest` object: 15 bytes and some blanks are all it holds.
const maxPointer = 256

// MaxBundle bounds a downloaded bundle: the most a bundle's archive may unpack to
// (SPEC §4.4), plus room for the zip headers of the largest entry count and the
// envelope. Anything larger could not be opened anyway, so it is never held.
const MaxBundle = 256<<20 + 32<<20

// Latest reads the env's `latest` pointer and its ETag.
func Latest(ctx context.Context, st store.Store, l store.Layout) (ts, etag string, err error) {
	var b limited
	b.max = maxPointer
	etag, _, err = st.GetTo(ctx, l.Latest(), &b)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", ErrNoVersion
	}
	if errors.Is(err, errTooLarge) {
		return "", "", envelope.Errorf(envelope.KindBundleCorrupt, "the latest pointer is larger than %d bytes", maxPointer)
	}
	if err != nil {
		return "", "", err
	}
	ts = strings.TrimSpace(b.buf.String())
	if !rqem.PointerTS(ts) {
		return "", "", envelope.Errorf(envelope.KindBundleCorrupt, "the latest pointer is not a timestamp (%d bytes)", b.buf.Len())
	}
	return ts, etag, nil
}

// Version is a published version read into memory. Wipe it when done.
type Version struct {
	TS    string
	Files []bundle.File // vault files, paths relative to the vault folder, sorted
}

// File returns the content of the vault file at path (slash-separated).
func (v *Version) File(path string) ([]byte, bool) {
	for _, f := range v.Files {
		if f.Path == path {
			return f.Data, true
		}
	}
	return nil, false
}

// Wipe overwrites every file's content with zeros and forgets the files.
func (v *Version) Wipe() {
	if v == nil {
		return
	}
	bundle.Wipe(v.Files)
	v.Files = nil
}

// Fetch downloads version ts and opens it with aesKey: authenticated, its seal
// checked against ts, its archive validated within bundle.DefaultLimits.
// store.ErrNotFound (wrapped) means the store holds no such version.
func Fetch(ctx context.Context, st store.Store, l store.Layout, aesKey []byte, ts string) (*Version, error) {
	if !rqem.ValidTS(ts) {
		return nil, fmt.Errorf("invalid version %q: timestamps look like 20260131-235959", ts)
	}
	var b limited
	b.max = MaxBundle
	_, _, err := st.GetTo(ctx, l.Version(ts), &b)
	if errors.Is(err, errTooLarge) {
		return nil, envelope.Errorf(envelope.KindBundleCorrupt, "version %s is larger than %d bytes, more than any bundle may hold", ts, MaxBundle)
	}
	if err != nil {
		return nil, err
	}
	return Open(aesKey, b.buf.Bytes(), ts)
}

// Open opens the bundle data of version ts in memory (see Fetch).
func Open(aesKey, data []byte, ts string) (*Version, error) {
	pt, err := rqe1.Open(aesKey, data)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	zip, err := rqem.Open(pt, ts)
	if err != nil {
		return nil, err
	}
	files, err := bundle.ReadAt(bytes.NewReader(zip), int64(len(zip)), bundle.DefaultLimits)
	if err != nil {
		var he *bundle.HostileError
		if errors.As(err, &he) {
			return nil, fmt.Errorf("%w: %w", envelope.New(envelope.KindBundleCorrupt, "the archive was refused"), err)
		}
		return nil, err
	}
	return &Version{TS: ts, Files: files}, nil
}

var errTooLarge = errors.New("object too large")

// limited is a buffer that refuses to grow past max bytes.
type limited struct {
	buf bytes.Buffer
	max int64
}

func (l *limited) Write(p []byte) (int, error) {
	if int64(l.buf.Len())+int64(len(p)) > l.max {
		return 0, errTooLarge
	}
	return l.buf.Write(p)
}
