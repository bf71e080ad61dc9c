package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

const mib = 1 << 20

// smallParts makes PutStream use parts of S3's minimum, 5 MiB, above 5 MiB.
func smallParts(t *testing.T) {
	t.Cleanup(store.SetMultipartSizes(5*mib, 5*mib))
}

// mpServer is a versitygw bucket behind a proxy that records every request as
// "METHOD kind" (create, part, complete, abort, put, get, head, …) and lets a
// test answer some itself.
type mpServer struct {
	s      store.Store
	bucket string
	srv    testenv.S3Server
	mu     sync.Mutex
	log    []string
	hook   func(kind string, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool
}

func requestKind(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "create"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "complete"
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "part"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "abort"
	}
	return strings.ToLower(r.Method)
}

func openMultipart(t *testing.T, timeout time.Duration) *mpServer {
	t.Helper()
	smallParts(t)
	m := &mpServer{}
	s, _ := openProxied(t, func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
		kind := requestKind(r)
		m.mu.Lock()
		m.log = append(m.log, kind)
		hook := m.hook
		m.mu.Unlock()
		return hook != nil && hook(kind, w, r, forward)
	})
	m.s = s
	m.srv = testenv.Versitygw(t)
	// The bucket is the proxied store's: read it back through String().
	m.bucket = strings.TrimPrefix(strings.Fields(s.String())[0], "s3://")
	if timeout > 0 {
		cfg := s3Config(m.srv, m.bucket)
		cfg.Endpoint = strings.Fields(s.String())[2]
		cfg.ResponseTimeout = timeout
		var err error
		if m.s, err = store.Open(cfg); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *mpServer) setHook(h func(kind string, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hook = h
}

func (m *mpServer) count(kind string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, k := range m.log {
		if k == kind {
			n++
		}
	}
	return n
}

// pendingUploads counts the multipart uploads the bucket still holds.
func (m *mpServer) pendingUploads(t *testing.T) int {
	t.Helper()
	return len(m.srv.PendingUploads(t, m.bucket))
}

// growing is a GrowingFile over a temp file, and its content.
func growing(t *testing.T) *store.GrowingFile {
	f, err := os.Create(filepath.Join(t.TempDir(), "body"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return store.NewGrowingFile(f)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

type putResult struct {
	etag string
	n    int64
	err  error
}

func putStream(ctx context.Context, s store.Store, key string, g *store.GrowingFile, c store.Cond) chan putResult {
	ch := make(chan putResult, 1)
	go func() {
		etag, n, err := s.PutStream(ctx, key, g, c)
		ch <- putResult{etag, n, err}
	}()
	return ch
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestS3PutStreamMultipart: a body above the threshold goes up in parts while
// it is still being written (the first part reaches the server before the
// writer is done), the object appears only at CompleteMultipartUpload and is
// exactly the bytes written (one object, as a single PUT would have made).
func TestS3PutStreamMultipart(t *testing.T) {
	m := openMultipart(t, 0)
	ctx := context.Background()
	body := randomBytes(13 * mib)
	g := growing(t)
	res := putStream(ctx, m.s, "v/big.enc", g, store.Cond{IfNoneMatch: true})
	g.Write(body[:11*mib])
	waitFor(t, "a part uploaded while the body is written", func() bool { return m.count("part") >= 1 })
	if _, _, err := m.s.Get(ctx, "v/big.enc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the object is visible before the upload completed: %v", err)
	}
	g.Write(body[11*mib:])
	g.Close(nil)
	r := <-res
	if r.err != nil || r.n != int64(len(body)) {
		t.Fatalf("PutStream = %d, %v", r.n, r.err)
	}
	got, etag, err := m.s.Get(ctx, "v/big.enc")
	if err != nil || !bytes.Equal(got, body) || etag != r.etag {
		t.Fatalf("get = %d bytes, %s (put said %s), %v", len(got), etag, r.etag, err)
	}
	if c, p, done := m.count("create"), m.count("part"), m.count("complete"); c != 1 || p != 3 || done != 1 || m.count("put") != 0 {
		t.Fatalf("requests: %d create, %d parts, %d complete, %d plain puts", c, p, done, m.count("put"))
	}
	if n := m.pendingUploads(t); n != 0 {
		t.Fatalf("%d uploads left", n)
	}
	// A second creation of the key is refused: seen before completing, and by
	// the server at completion when the object appears after that look (here:
	// the HEAD is answered "not found"); either way the upload is aborted.
	for _, hideHead := range []bool{false, true} {
		if hideHead {
			m.setHook(func(kind string, w http.ResponseWriter, r *http.Request, _ func(*http.Request) (*http.Response, error)) bool {
				if kind == "head" {
					w.WriteHeader(http.StatusNotFound)
					return true
				}
				return false
			})
		}
		completes := m.count("complete")
		g2 := growing(t)
		g2.Write(randomBytes(6 * mib))
		g2.Close(nil)
		if _, _, err := m.s.PutStream(ctx, "v/big.enc", g2, store.Cond{IfNoneMatch: true}); !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("create over an existing key (HEAD hidden: %v): %v", hideHead, err)
		}
		if hideHead != (m.count("complete") > completes) {
			t.Fatalf("HEAD hidden: %v, complete sent: %v", hideHead, m.count("complete") > completes)
		}
	}
	if got, _, _ := m.s.Get(ctx, "v/big.enc"); !bytes.Equal(got, body) {
		t.Fatal("a refused creation changed the object")
	}
	if n := m.pendingUploads(t); n != 0 {
		t.Fatalf("%d uploads left after a refused completion", n)
	}
}

// TestS3PutStreamSmall: a body at or below the threshold waits for its end and
// goes up in one PUT, as before.
func TestS3PutStreamSmall(t *testing.T) {
	m := openMultipart(t, 0)
	body := randomBytes(5 * mib)
	g := growing(t)
	g.Write(body)
	g.Close(nil)
	etag, n, err := m.s.PutStream(context.Background(), "v/small.enc", g, store.Cond{IfNoneMatch: true})
	if err != nil || n != int64(len(body)) || etag == "" {
		t.Fatalf("PutStream = %s %d %v", etag, n, err)
	}
	if m.count("create") != 0 || m.count("put") != 1 {
		t.Fatalf("a small body made these requests: %v", m.log)
	}
}

// TestS3PutStreamAborts: when the writer fails, the caller cancels (Ctrl-C) or
// a part stalls past the response timeout, PutStream aborts the upload: no
// object, no upload left in the bucket.
func TestS3PutStreamAborts(t *testing.T) {
	errBoom := errors.New("the vault changed while it was packed")
	cases := []struct {
		name  string
		stall bool
		// end stops the body after two parts went up.
		end  func(g *store.GrowingFile, cancel context.CancelFunc)
		want func(error) bool
	}{
		{"writer-fails", false, func(g *store.GrowingFile, _ context.CancelFunc) { g.Close(errBoom) },
			func(err error) bool { return errors.Is(err, errBoom) }},
		{"cancel", false, func(_ *store.GrowingFile, cancel context.CancelFunc) { cancel() },
			func(err error) bool { return errors.Is(err, context.Canceled) }},
		{"stall", true, nil, func(err error) bool { return errors.Is(err, store.ErrUnreachable) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := time.Duration(0)
			if tc.stall {
				timeout = time.Second
			}
			m := openMultipart(t, timeout)
			release := make(chan struct{})
			defer close(release)
			if tc.stall {
				var once atomic.Bool
				m.setHook(func(kind string, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
					if kind != "part" || !once.CompareAndSwap(false, true) {
						return false
					}
					io.Copy(io.Discard, r.Body) // the part arrives, its answer never does
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return true
				})
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			g := growing(t)
			res := putStream(ctx, m.s, "v/aborted.enc", g, store.Cond{IfNoneMatch: true})
			g.Write(randomBytes(11 * mib))
			if tc.end != nil {
				waitFor(t, "two parts", func() bool { return m.count("part") >= 2 })
				tc.end(g, cancel)
			}
			start := time.Now()
			var r putResult
			select {
			case r = <-res:
			case <-time.After(20 * time.Second):
				t.Fatal("PutStream did not give up")
			}
			if !tc.want(r.err) {
				t.Fatalf("PutStream: %v", r.err)
			}
			t.Logf("gave up in %s: %v", time.Since(start).Round(time.Millisecond), r.err)
			if m.count("abort") < 1 {
				t.Fatalf("abort requests: %d", m.count("abort"))
			}
			if n := m.pendingUploads(t); n != 0 {
				t.Fatalf("%d uploads left", n)
			}
			if _, _, err := m.s.Get(context.Background(), "v/aborted.enc"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("object after an aborted upload: %v", err)
			}
		})
	}
}

// TestS3PutStreamLostAnswers: a part cut off mid-body is sent again; a
// CompleteMultipartUpload the server applied but whose answer was lost (5xx,
// reset) is recognised on the retry as our own object, not reported as a
// failure and not left dangling.
func TestS3PutStreamLostAnswers(t *testing.T) {
	cases := []struct {
		name string
		kind string // the request hurt
		// hurt answers the nth request of that kind itself, or returns false.
		hurt func(n int32, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool
	}{
		{"reset-mid-part", "part", func(n int32, w http.ResponseWriter, r *http.Request, _ func(*http.Request) (*http.Response, error)) bool {
			if n != 1 {
				return false
			}
			io.CopyN(io.Discard, r.Body, 1*mib)
			panic(http.ErrAbortHandler)
		}},
		{"5xx-after-complete", "complete", func(n int32, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
			if n != 1 {
				return false
			}
			if resp, err := forward(r); err == nil {
				resp.Body.Close()
			}
			s3Error(w, http.StatusServiceUnavailable, "ServiceUnavailable")
			return true
		}},
		// As AWS answers the retry of a completed upload: the upload is gone.
		{"5xx-after-complete-then-NoSuchUpload", "complete", func(n int32, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
			if n == 1 {
				if resp, err := forward(r); err == nil {
					resp.Body.Close()
				}
			}
			if n <= 2 {
				s3Error(w, []int{0, http.StatusServiceUnavailable, http.StatusNotFound}[n], []string{"", "ServiceUnavailable", "NoSuchUpload"}[n])
				return true
			}
			return false
		}},
		// The retry meets our own object under If-None-Match.
		{"reset-after-complete-then-412", "complete", func(n int32, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
			if n == 1 {
				if resp, err := forward(r); err == nil {
					resp.Body.Close()
				}
				panic(http.ErrAbortHandler)
			}
			if n == 2 {
				s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
				return true
			}
			return false
		}},
		{"reset-after-complete", "complete", func(n int32, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
			if n != 1 {
				return false
			}
			if resp, err := forward(r); err == nil {
				resp.Body.Close()
			}
			panic(http.ErrAbortHandler)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := openMultipart(t, 0)
			var hurt atomic.Int32
			m.setHook(func(kind string, w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
				if kind != tc.kind {
					return false
				}
				return tc.hurt(hurt.Add(1), w, r, forward)
			})
			body := randomBytes(12 * mib)
			g := growing(t)
			g.Write(body)
			g.Close(nil)
			ctx := context.Background()
			etag, n, err := m.s.PutStream(ctx, "v/lost.enc", g, store.Cond{IfNoneMatch: true})
			if err != nil || n != int64(len(body)) {
				t.Fatalf("PutStream = %d, %v (requests %v)", n, err, m.log)
			}
			if hurt.Load() < 2 {
				t.Fatalf("the %s was not retried: %v", tc.kind, m.log)
			}
			got, e, err := m.s.Get(ctx, "v/lost.enc")
			if err != nil || !bytes.Equal(got, body) || e != etag {
				t.Fatalf("get = %d bytes %s (put said %s) %v", len(got), e, etag, err)
			}
			if n := m.pendingUploads(t); n != 0 {
				t.Fatalf("%d uploads left", n)
			}
			if strings.Contains(tc.name, "-then-") && m.count("head") != 2 { // before completing, and after
				t.Fatalf("the completed object was not recognised by its ETag: %v", m.log)
			}
			t.Logf("requests: %v", m.log)
		})
	}
}

// TestS3PutStreamMemory: streaming a body of many parts costs memory for a few
// buffers, not for the parts: the heap grows by far less than a part.
func TestS3PutStreamMemory(t *testing.T) {
	m := openMultipart(t, 0)
	g := growing(t)
	chunk := randomBytes(1 * mib)
	const total = 30 * mib
	res := putStream(context.Background(), m.s, "v/mem.enc", g, store.Cond{IfNoneMatch: true})
	var peak uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	for written := 0; written < total; written += len(chunk) {
		g.Write(chunk)
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	g.Close(nil)
	done := false
	for !done {
		select {
		case r := <-res:
			if r.err != nil || r.n != total {
				t.Fatalf("PutStream = %d, %v", r.n, r.err)
			}
			done = true
		case <-time.After(20 * time.Millisecond):
		}
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	grew := int64(peak) - int64(base)
	t.Logf("heap grew by at most %.1f MiB for %d MiB in %d parts", float64(grew)/mib, total/mib, m.count("part"))
	if m.count("part") != 6 {
		t.Fatalf("%d parts", m.count("part"))
	}
	if grew > 5*mib {
		t.Fatalf("the heap grew by %.1f MiB while streaming", float64(grew)/mib)
	}
}

// TestProbeConditionalMultipart: the conditional-write probe of doctor and init
// also completes a multipart upload over the existing probe object, and warns
// when the server accepts that (here: a completion answered as done without
// reaching versitygw); the probe's upload is aborted either way.
func TestProbeConditionalMultipart(t *testing.T) {
	for _, ignoring := range []bool{false, true} {
		m := openMultipart(t, 0)
		if ignoring {
			m.setHook(func(kind string, w http.ResponseWriter, r *http.Request, _ func(*http.Request) (*http.Response, error)) bool {
				if kind != "complete" {
					return false
				}
				w.Header().Set("Content-Type", "application/xml")
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><ETag>"0123456789abcdef0123456789abcdef-1"</ETag></CompleteMultipartUploadResult>`)
				return true
			})
		}
		err := store.ProbeConditional(context.Background(), m.s, "probe/.conditional")
		if ignoring != errors.Is(err, store.ErrConditionalIgnored) || (!ignoring && err != nil) {
			t.Fatalf("ignoring completion %v: %v", ignoring, err)
		}
		if m.count("complete") != 1 || m.pendingUploads(t) != 0 {
			t.Fatalf("ignoring completion %v: %d completions, %d uploads left", ignoring, m.count("complete"), m.pendingUploads(t))
		}
		t.Logf("ignoring completion %v: %v", ignoring, err)
	}
}

// TestS3PutStreamAbortsAgain: an upload still there after its abort (a part
// that landed after it, which S3 documents) is looked at and aborted again.
func TestS3PutStreamAbortsAgain(t *testing.T) {
	m := openMultipart(t, 0)
	var aborts atomic.Int32
	m.setHook(func(kind string, w http.ResponseWriter, r *http.Request, _ func(*http.Request) (*http.Response, error)) bool {
		if kind == "abort" && aborts.Add(1) == 1 {
			w.WriteHeader(http.StatusNoContent) // answered, but the upload stays
			return true
		}
		return false
	})
	g := growing(t)
	res := putStream(context.Background(), m.s, "v/again.enc", g, store.Cond{IfNoneMatch: true})
	g.Write(randomBytes(6 * mib))
	waitFor(t, "a part", func() bool { return m.count("part") >= 1 })
	errBoom := errors.New("boom")
	g.Close(errBoom)
	if r := <-res; !errors.Is(r.err, errBoom) {
		t.Fatalf("PutStream: %v", r.err)
	}
	if aborts.Load() != 2 || m.pendingUploads(t) != 0 {
		t.Fatalf("%d aborts, %d uploads left", aborts.Load(), m.pendingUploads(t))
	}
}
