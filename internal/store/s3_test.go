package store_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/store/storetest"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func s3Config(srv testenv.S3Server, bucket string) store.Config {
	return store.Config{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: bucket, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
}

func openVersity(t *testing.T) store.Store {
	t.Helper()
	srv := testenv.Versitygw(t)
	s, err := store.Open(s3Config(srv, srv.NewBucket(t)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Store(t *testing.T) {
	storetest.Run(t, openVersity)
}

func TestProbeConditional(t *testing.T) {
	ctx := context.Background()
	if err := store.ProbeConditional(ctx, openVersity(t), "probe/.conditional"); err != nil {
		t.Errorf("versitygw: %v", err)
	}
	if err := store.ProbeConditional(ctx, openTempFileStore(t), "probe/conditional"); err != nil {
		t.Errorf("file store: %v", err)
	}
	fake := httptest.NewServer(&ignoringS3{objects: map[string][]byte{}})
	defer fake.Close()
	s, err := store.Open(store.Config{Endpoint: fake.URL, Bucket: "bkt", AccessKeyID: "a", SecretAccessKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.ProbeConditional(ctx, s, "probe"); !errors.Is(err, store.ErrConditionalIgnored) {
		t.Errorf("a server ignoring preconditions: %v", err)
	}
}

// ignoringS3 is a minimal S3 that ignores If-Match and If-None-Match, as some
// S3-compatible servers do.
type ignoringS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
}

func (f *ignoringS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		f.objects[r.URL.Path] = b
		sum := md5.Sum(b)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	case http.MethodGet:
		b, ok := f.objects[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `<Error><Code>NoSuchKey</Code><Message>no</Message></Error>`)
			return
		}
		sum := md5.Sum(b)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Write(b)
	case http.MethodDelete:
		delete(f.objects, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	}
}

func TestS3Unreachable(t *testing.T) {
	s, err := store.Open(store.Config{Endpoint: testenv.DownEndpoint(t), Bucket: "bkt", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "s3cr3t"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, attempts := store.CountAttempts(context.Background())
	start := time.Now()
	_, _, err = s.Get(ctx, "k")
	if !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("get: %v", err)
	}
	if n := attempts.Load(); n != 1 {
		t.Errorf("a refused connection was tried %d times, want 1 (fail fast)", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("noticing a closed port took %v", d)
	}
	if _, err := s.Put(ctx, "k", []byte("x"), store.Cond{IfNoneMatch: true}); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("put: %v", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("list: %v", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("delete: %v", err)
	}
	fe := store.AsFail(err, "read the latest version")
	if fail.CodeOf(fe) != fail.Unreachable || !strings.Contains(fail.HintOf(fe), "git vsync doctor") {
		t.Fatalf("store.AsFail: code %d hint %q", fail.CodeOf(fe), fail.HintOf(fe))
	}
	if !errors.Is(fe, store.ErrUnreachable) {
		t.Fatal("store.AsFail lost the sentinel")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("four calls to a closed port took %v", time.Since(start))
	}
}

func TestS3ServerGoesAway(t *testing.T) {
	g := testenv.StartVersitygw(t)
	s, err := store.Open(s3Config(g.S3Server, g.NewBucket(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", []byte("v"), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	g.Stop()
	start := time.Now()
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("get from a stopped server: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("noticing a stopped server took %v", d)
	}
	g.Start(t)
	if b, _, err := s.Get(ctx, "k"); err != nil || string(b) != "v" {
		t.Fatalf("get after restart: %q %v", b, err)
	}
}

func TestS3AccessDenied(t *testing.T) {
	srv := testenv.Versitygw(t)
	bucket := srv.NewBucket(t)
	ctx := context.Background()
	for name, cfg := range map[string]store.Config{
		"wrong secret": s3Config(srv.WrongSecret(), bucket),
		"wrong key id": {Endpoint: srv.Endpoint, Bucket: bucket, AccessKeyID: "AKIDNOSUCHKEY", SecretAccessKey: srv.SecretKey},
	} {
		s, err := store.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cctx, attempts := store.CountAttempts(ctx)
		start := time.Now()
		_, _, err = s.Get(cctx, "k")
		if !errors.Is(err, store.ErrAccessDenied) {
			t.Fatalf("%s: get: %v", name, err)
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("%s: access denied was tried %d times", name, n)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: access denied took %v (retried?)", name, d)
		}
		if _, err := s.Put(ctx, "k", []byte("x"), store.Cond{}); !errors.Is(err, store.ErrAccessDenied) {
			t.Fatalf("%s: put: %v", name, err)
		}
		_, err = s.List(ctx, "")
		if !errors.Is(err, store.ErrAccessDenied) {
			t.Fatalf("%s: list: %v", name, err)
		}
		fe := store.AsFail(err, "list versions")
		msg := fe.Error() + " " + fail.HintOf(fe) + " " + fmt.Sprintf("%+v %#v", err, err)
		for _, secret := range []string{cfg.SecretAccessKey, srv.SecretKey} {
			if strings.Contains(msg, secret) {
				t.Fatalf("%s: an error shows the secret key: %s", name, msg)
			}
		}
		if strings.Contains(fe.Error(), cfg.AccessKeyID) {
			t.Fatalf("%s: an error shows the access key id: %s", name, fe.Error())
		}
		if fail.CodeOf(fe) != fail.Unreachable {
			t.Fatalf("%s: exit code %d", name, fail.CodeOf(fe))
		}
	}
}

func TestS3NoSuchBucket(t *testing.T) {
	srv := testenv.Versitygw(t)
	s, err := store.Open(s3Config(srv, "no-such-bucket-here"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Get(context.Background(), "latest")
	if !errors.Is(err, store.ErrNoSuchBucket) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
	if fail.CodeOf(store.AsFail(err, "x")) != fail.Unreachable {
		t.Fatal("a missing bucket is not exit code 5")
	}
}

func TestAsFail(t *testing.T) {
	if store.AsFail(nil, "x") != nil {
		t.Fatal("nil became an error")
	}
	e := &store.Error{Op: "put", Kind: store.ErrPreconditionFailed}
	fe := store.AsFail(e, "swap latest")
	if fail.CodeOf(fe) != fail.Failure || !errors.Is(fe, store.ErrPreconditionFailed) || !strings.HasPrefix(fe.Error(), "swap latest: ") {
		t.Fatalf("store.AsFail = %v (code %d)", fe, fail.CodeOf(fe))
	}
	already := fail.New(fail.Refused, "", "remote advanced")
	if store.AsFail(already, "x") != error(already) {
		t.Fatal("a fail.Error was rewrapped")
	}
}

// proxy forwards requests to the shared versitygw unchanged (the Host header
// too, so signatures stay valid) unless hook answers them itself.
type proxy struct {
	target *url.URL
	hook   func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool
	puts   atomic.Int32
}

func (p *proxy) forward(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = p.target.Scheme
	out.URL.Host = p.target.Host
	out.Host = r.Host
	return http.DefaultTransport.RoundTrip(out)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		p.puts.Add(1)
	}
	if p.hook != nil && p.hook(w, r, p.forward) {
		return
	}
	resp, err := p.forward(r)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by the test</Message></Error>`, code)
}

// openProxied returns a store on a fresh versitygw bucket reached through a
// proxy with the given hook, and the proxy.
func openProxied(t *testing.T, hook func(http.ResponseWriter, *http.Request, func(*http.Request) (*http.Response, error)) bool) (store.Store, *proxy) {
	t.Helper()
	srv := testenv.Versitygw(t)
	bucket := srv.NewBucket(t)
	u, _ := url.Parse(srv.Endpoint)
	p := &proxy{target: u, hook: hook}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	cfg := s3Config(srv, bucket)
	cfg.Endpoint = hs.URL
	s, err := store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

// TestS3IfMatchQuoting: a server that refuses quoted ETags in If-Match makes
// the store fall back to unquoted ones, once, and remember it.
func TestS3IfMatchQuoting(t *testing.T) {
	var rejected atomic.Int32
	s, p := openProxied(t, func(w http.ResponseWriter, r *http.Request, _ func(*http.Request) (*http.Response, error)) bool {
		if strings.HasPrefix(r.Header.Get("If-Match"), `"`) {
			rejected.Add(1)
			s3Error(w, http.StatusBadRequest, "InvalidArgument")
			return true
		}
		return false
	})
	ctx := context.Background()
	e1, err := s.Put(ctx, "latest", []byte("v1"), store.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e1, `"`) {
		t.Fatalf("ETag %s not quoted", e1)
	}
	e2, err := s.Put(ctx, "latest", []byte("v2"), store.Cond{IfMatch: e1})
	if err != nil {
		t.Fatalf("swap with fallback: %v", err)
	}
	if rejected.Load() != 1 || !store.UnquotedIfMatch(s) {
		t.Fatalf("rejected %d quoted If-Match, fallback remembered %v", rejected.Load(), store.UnquotedIfMatch(s))
	}
	if _, err := s.Put(ctx, "latest", []byte("v3"), store.Cond{IfMatch: e1}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale swap: %v", err)
	}
	if _, err := s.Put(ctx, "latest", []byte("v3"), store.Cond{IfMatch: e2}); err != nil {
		t.Fatal(err)
	}
	if rejected.Load() != 1 {
		t.Fatalf("quoted If-Match sent again after the fallback (%d rejections)", rejected.Load())
	}
	if n := p.puts.Load(); n != 5 {
		t.Fatalf("%d PUTs reached the proxy, want 5", n)
	}
	// A store on a server that accepts quotes keeps sending them.
	s2, _ := openProxied(t, nil)
	e, _ := s2.Put(ctx, "k", []byte("1"), store.Cond{})
	if _, err := s2.Put(ctx, "k", []byte("2"), store.Cond{IfMatch: e}); err != nil || store.UnquotedIfMatch(s2) {
		t.Fatalf("quoted If-Match on versitygw: %v, unquoted=%v", err, store.UnquotedIfMatch(s2))
	}
}

// TestS3NoRetryOnConflict: 412 and 409 are answers, sent once, never retried.
func TestS3NoRetryOnConflict(t *testing.T) {
	ctx := context.Background()
	s, p := openProxied(t, nil)
	e1, err := s.Put(ctx, "latest", []byte("v1"), store.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "latest", []byte("v2"), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	p.puts.Store(0)
	if _, err := s.Put(ctx, "latest", []byte("v3"), store.Cond{IfMatch: e1}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale swap: %v", err)
	}
	if _, err := s.Put(ctx, "latest", []byte("v3"), store.Cond{IfNoneMatch: true}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("create of an existing key: %v", err)
	}
	if n := p.puts.Load(); n != 2 {
		t.Fatalf("%d PUTs for two refused writes: 412 was retried", n)
	}

	s409, p409 := openProxied(t, func(w http.ResponseWriter, r *http.Request, _ func(*http.Request) (*http.Response, error)) bool {
		if r.Method == http.MethodPut {
			s3Error(w, http.StatusConflict, "ConditionalRequestConflict")
			return true
		}
		return false
	})
	if _, err := s409.Put(ctx, "latest", []byte("x"), store.Cond{IfNoneMatch: true}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("409: %v", err)
	}
	if n := p409.puts.Load(); n != 1 {
		t.Fatalf("%d PUTs for one 409: it was retried", n)
	}
}

// TestS3RetryOn5xx: throttling and 5xx answers are retried.
func TestS3RetryOn5xx(t *testing.T) {
	var n atomic.Int32
	s, p := openProxied(t, func(w http.ResponseWriter, r *http.Request, _ func(*http.Request) (*http.Response, error)) bool {
		if r.Method == http.MethodPut && n.Add(1) <= 2 {
			if n.Load() == 1 {
				s3Error(w, http.StatusServiceUnavailable, "SlowDown")
			} else {
				s3Error(w, http.StatusInternalServerError, "InternalError")
			}
			return true
		}
		return false
	})
	if _, err := s.Put(context.Background(), "k", []byte("v"), store.Cond{}); err != nil {
		t.Fatalf("put after two 5xx: %v", err)
	}
	if got := p.puts.Load(); got != 3 {
		t.Fatalf("%d PUTs, want 3", got)
	}
}

// TestS3LostAnswer: the first attempt of a conditional put is applied but its
// answer is lost (a 503 from a proxy); the retry then meets our own write and
// gets a 412. The store must see that the object holds its bytes and report
// success, not "someone else won".
func TestS3LostAnswer(t *testing.T) {
	var lost atomic.Int32
	s, _ := openProxied(t, func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
		if r.Method == http.MethodPut && (r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "") && lost.Add(1)%2 == 1 {
			resp, err := forward(r)
			if err == nil {
				resp.Body.Close()
			}
			s3Error(w, http.StatusServiceUnavailable, "ServiceUnavailable")
			return true
		}
		return false
	})
	ctx := context.Background()
	e1, err := s.Put(ctx, "latest", []byte("v1"), store.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("create with a lost answer: %v", err)
	}
	e2, err := s.Put(ctx, "latest", []byte("v2"), store.Cond{IfMatch: e1})
	if err != nil {
		t.Fatalf("swap with a lost answer: %v", err)
	}
	if b, e, err := s.Get(ctx, "latest"); err != nil || string(b) != "v2" || e != e2 {
		t.Fatalf("get = %q %s %v, want v2 %s", b, e, err, e2)
	}
	if lost.Load() != 4 {
		t.Fatalf("%d conditional PUTs, want 4", lost.Load())
	}
	// A real loser still loses.
	if _, err := s.Put(ctx, "latest", []byte("v3"), store.Cond{IfMatch: e1}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale swap: %v", err)
	}
}

// TestVersitygwDefaultChecksums documents how versitygw treats the SDK's
// default request checksums (the store asks for "when required" only).
func TestVersitygwDefaultChecksums(t *testing.T) {
	srv := testenv.Versitygw(t)
	bucket := srv.NewBucket(t)
	c := s3.New(s3.Options{
		Region:       srv.Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
	})
	ctx := context.Background()
	body := bytes.Repeat([]byte("x"), 100000)
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: bytes.NewReader(body)})
	t.Logf("PutObject with the SDK's default checksums (CRC32 trailer): err=%v", err)
	if err == nil {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), ChecksumMode: "ENABLED"})
		if err == nil {
			b, rerr := io.ReadAll(out.Body)
			out.Body.Close()
			t.Logf("GetObject with checksum validation: %d bytes, err=%v", len(b), rerr)
		} else {
			t.Logf("GetObject with checksum validation: err=%v", err)
		}
	}
}

// TestS3GetToResumes: a download cut short by the network is resumed where it
// stopped (a range request bound to the ETag), so GetTo delivers the object once,
// whole; Get fetches it again.
func TestS3GetToResumes(t *testing.T) {
	var cuts, ranges atomic.Int32
	s, _ := openProxied(t, func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/big") {
			return false
		}
		if r.Header.Get("Range") != "" {
			ranges.Add(1)
			if r.Header.Get("If-Match") == "" {
				t.Error("a resumed download without If-Match")
			}
			return false
		}
		if cuts.Add(1) > 2 {
			return false
		}
		resp, err := forward(r)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.CopyN(w, resp.Body, 1<<20+3) // then the connection drops
		panic(http.ErrAbortHandler)
	})
	ctx := context.Background()
	big := make([]byte, 3<<20+11)
	for i := range big {
		big[i] = byte(i * 7)
	}
	e, err := s.Put(ctx, "big", big, store.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	etag, n, err := s.GetTo(ctx, "big", &buf)
	if err != nil || etag != e || n != int64(len(big)) || !bytes.Equal(buf.Bytes(), big) {
		t.Fatalf("GetTo after a cut: %d bytes (%d written), %s (want %s), %v", n, buf.Len(), etag, e, err)
	}
	if ranges.Load() != 1 {
		t.Fatalf("%d range requests, want 1", ranges.Load())
	}
	got, etag, err := s.Get(ctx, "big")
	if err != nil || etag != e || !bytes.Equal(got, big) {
		t.Fatalf("Get after a cut: %d bytes, %v", len(got), err)
	}
}

// TestS3GetToObjectChanged: when the object is replaced between a cut and its
// resumption, GetTo fails instead of splicing two versions.
func TestS3GetToObjectChanged(t *testing.T) {
	var s store.Store
	var once atomic.Bool
	s, _ = openProxied(t, func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
		if r.Method != http.MethodGet || r.Header.Get("Range") != "" || once.Swap(true) {
			return false
		}
		resp, err := forward(r)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.CopyN(w, resp.Body, 100)
		w.(http.Flusher).Flush()
		time.Sleep(50 * time.Millisecond) // the client has the 100 bytes
		if _, err := s.Put(context.Background(), "obj", bytes.Repeat([]byte("B"), 4096), store.Cond{}); err != nil {
			t.Error(err)
		}
		panic(http.ErrAbortHandler)
	})
	ctx := context.Background()
	if _, err := s.Put(ctx, "obj", bytes.Repeat([]byte("A"), 4096), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _, err := s.GetTo(ctx, "obj", &buf)
	if err == nil {
		t.Fatalf("GetTo spliced two versions: %q…", buf.Bytes()[:min(buf.Len(), 200)])
	}
	t.Logf("GetTo: %v", err)
}

// TestS3PutFileLostAnswer: TestS3LostAnswer for PutFile (the object is compared
// with the body while it streams back).
func TestS3PutFileLostAnswer(t *testing.T) {
	var lost atomic.Int32
	s, _ := openProxied(t, func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
		if r.Method == http.MethodPut && r.Header.Get("If-None-Match") != "" && lost.Add(1)%2 == 1 {
			resp, err := forward(r)
			if err == nil {
				resp.Body.Close()
			}
			s3Error(w, http.StatusServiceUnavailable, "ServiceUnavailable")
			return true
		}
		return false
	})
	ctx := context.Background()
	body := bytes.Repeat([]byte("version "), 100<<10)
	e1, err := s.PutFile(ctx, "v.enc", bytes.NewReader(body), int64(len(body)), store.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("create with a lost answer: %v", err)
	}
	if b, e, err := s.Get(ctx, "v.enc"); err != nil || !bytes.Equal(b, body) || e != e1 {
		t.Fatalf("get = %d bytes %s %v", len(b), e, err)
	}
	// Someone else's object under the key: a real loser still loses.
	other := append(bytes.Clone(body[:len(body)-1]), 'X')
	if _, err := s.PutFile(ctx, "v.enc", bytes.NewReader(other), int64(len(other)), store.Cond{IfNoneMatch: true}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("create over another object: %v", err)
	}
}

// TestS3ResetOnFailedCondition: a server that answers a failed condition and
// drops the connection while the body is still being sent (versitygw does with
// large bodies) leaves the client with a connection reset; the store asks the
// object and reports the failed condition, for Put and PutFile alike.
func TestS3ResetOnFailedCondition(t *testing.T) {
	s, _ := openProxied(t, func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
		if r.Method != http.MethodPut || (r.Header.Get("If-Match") == "" && r.Header.Get("If-None-Match") == "") {
			return false
		}
		resp, err := forward(r)
		if err != nil {
			panic(http.ErrAbortHandler) // versitygw itself dropped the upload
		}
		if resp.StatusCode < 300 {
			defer resp.Body.Close()
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
			return true
		}
		resp.Body.Close()
		panic(http.ErrAbortHandler) // the refusal is lost with the connection
	})
	ctx := context.Background()
	e1, err := s.Put(ctx, "latest", []byte("v1"), store.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "latest", []byte("v2"), store.Cond{IfNoneMatch: true}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("create of an existing key: %v", err)
	}
	e2, err := s.Put(ctx, "latest", []byte("v2"), store.Cond{IfMatch: e1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "latest", []byte("v3"), store.Cond{IfMatch: e1}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale swap: %v", err)
	}
	if _, err := s.Put(ctx, "missing", []byte("v3"), store.Cond{IfMatch: e1}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("swap of a missing key: %v", err)
	}
	big := bytes.Repeat([]byte("bundle.."), 512<<10)
	if _, err := s.PutFile(ctx, "v.enc", bytes.NewReader(big), int64(len(big)), store.Cond{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte("other..."), 512<<10)
	if _, err := s.PutFile(ctx, "v.enc", bytes.NewReader(other), int64(len(other)), store.Cond{IfNoneMatch: true}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("create of an existing big key: %v", err)
	}
	if b, e, err := s.Get(ctx, "latest"); err != nil || string(b) != "v2" || e != e2 {
		t.Fatalf("latest = %q %s %v", b, e, err)
	}
}
