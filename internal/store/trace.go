package store

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Traced wraps s so that every request is logged on w with its duration and
// outcome (git vsync --verbose). Only what the rest of the program may show goes
// to w: the operation, the store, the key and sizes — never a body or a
// credential (store errors are already free of those).
func Traced(s Store, w io.Writer) Store {
	return &traced{s: s, w: w}
}

type traced struct {
	s  Store
	w  io.Writer
	mu sync.Mutex
}

func (t *traced) log(op, key string, start time.Time, size int64, err error) {
	outcome := "ok"
	if err != nil {
		outcome = err.Error()
	}
	sz := ""
	if size >= 0 {
		sz = fmt.Sprintf(" %d bytes", size)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "git-vsync: store: %s %q%s in %s: %s\n", op, key, sz, time.Since(start).Round(time.Millisecond), outcome)
}

func (t *traced) Get(ctx context.Context, key string) ([]byte, string, error) {
	start := time.Now()
	b, etag, err := t.s.Get(ctx, key)
	t.log("GET", key, start, int64(len(b)), err)
	return b, etag, err
}

func (t *traced) Put(ctx context.Context, key string, body []byte, c Cond) (string, error) {
	start := time.Now()
	etag, err := t.s.Put(ctx, key, body, c)
	t.log("PUT"+condString(c), key, start, int64(len(body)), err)
	return etag, err
}

func (t *traced) PutFile(ctx context.Context, key string, body io.ReaderAt, size int64, c Cond) (string, error) {
	start := time.Now()
	etag, err := t.s.PutFile(ctx, key, body, size, c)
	t.log("PUT"+condString(c), key, start, size, err)
	return etag, err
}

func (t *traced) PutStream(ctx context.Context, key string, body StreamBody, c Cond) (string, int64, error) {
	start := time.Now()
	etag, n, err := t.s.PutStream(ctx, key, body, c)
	t.log("PUT"+condString(c), key, start, n, err)
	return etag, n, err
}

func (t *traced) probeMultipart(ctx context.Context, key string) error {
	mp, ok := t.s.(multipartProber)
	if !ok {
		return nil
	}
	start := time.Now()
	err := mp.probeMultipart(ctx, key)
	t.log("MULTIPART if-none-match", key, start, -1, err)
	return err
}

func (t *traced) GetTo(ctx context.Context, key string, w io.Writer) (string, int64, error) {
	start := time.Now()
	etag, n, err := t.s.GetTo(ctx, key, w)
	t.log("GET", key, start, n, err)
	return etag, n, err
}

func (t *traced) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := t.s.Delete(ctx, key)
	t.log("DELETE", key, start, -1, err)
	return err
}

func (t *traced) List(ctx context.Context, prefix string) ([]Info, error) {
	start := time.Now()
	infos, err := t.s.List(ctx, prefix)
	t.log(fmt.Sprintf("LIST (%d objects)", len(infos)), prefix, start, -1, err)
	return infos, err
}

func (t *traced) String() string { return t.s.String() }

// Unwrap gives the wrapped store (tests and type checks look through the trace).
func (t *traced) Unwrap() Store { return t.s }

func condString(c Cond) string {
	switch {
	case c.IfNoneMatch:
		return " if-none-match"
	case c.IfMatch != "":
		return " if-match"
	}
	return ""
}
