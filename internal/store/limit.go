package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// ErrTooLarge is wrapped by GetLimited for an object over its limit.
var ErrTooLarge = errors.New("object larger than expected")

// GetLimited is Get for objects with a known bound (the `latest` pointer, the audit
// log): an object over max bytes is refused from its announced length before its
// body is read (S3 Content-Length, the file's size), and while it is read when the
// length lied, so a hostile store never makes us hold more than max bytes.
func GetLimited(ctx context.Context, s Store, key string, max int64) ([]byte, string, error) {
	lb := &limitBuffer{max: max}
	etag, _, err := s.GetTo(ctx, key, lb)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, "", &Error{Op: "get", Store: s.String(), Key: key, Kind: ErrTooLarge, Err: fmt.Errorf("over %d bytes", max)}
		}
		return nil, "", err
	}
	return lb.buf.Bytes(), etag, nil
}

// limitBuffer collects at most max bytes; its Limit lets a store refuse a body by
// its announced length before reading it.
type limitBuffer struct {
	buf bytes.Buffer
	max int64
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if int64(l.buf.Len()+len(p)) > l.max {
		return 0, ErrTooLarge
	}
	return l.buf.Write(p)
}

func (l *limitBuffer) Limit() int64 { return l.max }

// overLimit reports whether a body of size bytes (negative: unknown) is more than
// the writer w accepts.
func overLimit(w any, size int64) bool {
	l, ok := w.(interface{ Limit() int64 })
	return ok && size >= 0 && size > l.Limit()
}
