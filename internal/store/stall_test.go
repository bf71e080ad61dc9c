package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// stallTimeout is the response timeout of the stall tests: the watchdog must
// end a stalled transfer within a few of it.
const stallTimeout = 500 * time.Millisecond

// stalling is a versitygw bucket behind a testenv.FaultProxy, opened with the
// lowered response timeout, and the same bucket opened directly.
type stalling struct {
	s, direct store.Store
	proxy     *testenv.FaultProxy
	srv       testenv.S3Server
	bucket    string
}

func openStalling(t *testing.T) *stalling {
	t.Helper()
	srv := testenv.Versitygw(t)
	st := &stalling{srv: srv, bucket: srv.NewBucket(t)}
	st.proxy = testenv.NewFaultProxy(t, srv.Endpoint)
	cfg := s3Config(srv, st.bucket)
	var err error
	if st.direct, err = store.Open(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint, cfg.ResponseTimeout = st.proxy.URL, stallTimeout
	if st.s, err = store.Open(cfg); err != nil {
		t.Fatal(err)
	}
	return st
}

// within runs f and fails the test when it does not return within limit (a
// hang without the watchdog); it returns how long f took and its error.
func within(t *testing.T, limit time.Duration, f func() error) (time.Duration, error) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- f() }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("still waiting after %s: the stalled transfer hangs", limit)
		return 0, nil
	}
}

// checkStalled asserts a stall's error: unreachable (exit 5) with the stall's
// text and a hint that names VSYNC_STORE_TIMEOUT, after one attempt.
func checkStalled(t *testing.T, st *stalling, err error, took time.Duration, upload bool, method string, log0 int) {
	t.Helper()
	want := st.proxy.URL + " stopped sending its answer (no progress for 500ms)"
	if upload {
		want = st.proxy.URL + " stopped reading the upload (no progress for 500ms)"
	}
	fe := store.AsFail(err, "move the bytes")
	switch {
	case upload && !store.LimitsUnsent && errors.Is(err, store.ErrUnreachable) &&
		strings.Contains(err.Error(), "sent no answer within 500ms"):
		// Without TCP_NOTSENT_LOWAT the kernel may take the whole body, and
		// the answer's wait runs out instead: bounded all the same.
		t.Logf("the kernel took the whole body: %v", err)
	case !errors.Is(err, store.ErrStalled) || !errors.Is(err, store.ErrUnreachable):
		t.Fatalf("want a stall, got %v", err)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("error %q lacks %q", err, want)
	case fail.CodeOf(fe) != fail.Unreachable || !strings.Contains(fail.HintOf(fe), "VSYNC_STORE_TIMEOUT"):
		t.Fatalf("code %d, hint %q", fail.CodeOf(fe), fail.HintOf(fe))
	}
	// One stall, not one per retry: at most the timeout, the abort's rounds and slack.
	if took > 5*stallTimeout {
		t.Fatalf("gave up after %s", took)
	}
	n := 0
	for _, l := range st.proxy.Log()[log0:] {
		if strings.HasPrefix(l, method+" ") && (strings.HasSuffix(l, "stall-upload") || strings.HasSuffix(l, "stall-download")) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d stalled requests (a stall is not retried): %v", n, st.proxy.Log())
	}
	t.Logf("gave up in %s: %v", took.Round(time.Millisecond), err)
}

// TestS3StalledUpload: a server that stops reading a PutObject's body half-way
// (the client's writes block) ends the put after one response timeout of no
// progress, with an error that says so; nothing is written.
func TestS3StalledUpload(t *testing.T) {
	st := openStalling(t)
	// Larger than what the socket buffers of both sides absorb, so that the
	// client's write blocks.
	body := randomBytes(12 * mib)
	st.proxy.Set(testenv.FaultRule{Method: "PUT", Fault: testenv.StallUpload, Bytes: 64 << 10})
	took, err := within(t, 10*time.Second, func() error {
		_, err := st.s.PutFile(context.Background(), "v/stalled.enc", bytes.NewReader(body), int64(len(body)), store.Cond{IfNoneMatch: true})
		return err
	})
	st.proxy.Release()
	checkStalled(t, st, err, took, true, "PUT", 0)
	if _, _, err := st.direct.Get(context.Background(), "v/stalled.enc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("object after a stalled upload: %v", err)
	}
}

// TestS3StalledPart: a part whose body the server stops reading ends the
// multipart upload in its abort: no object, no upload left in the bucket.
func TestS3StalledPart(t *testing.T) {
	smallParts(t)
	st := openStalling(t)
	st.proxy.Set(testenv.FaultRule{Method: "PUT", Fault: testenv.StallUpload, Bytes: 64 << 10, After: 1, Times: 1})
	g := growing(t)
	g.Write(randomBytes(12 * mib))
	g.Close(nil)
	took, err := within(t, 10*time.Second, func() error {
		_, _, err := st.s.PutStream(context.Background(), "v/stalled.enc", g, store.Cond{IfNoneMatch: true})
		return err
	})
	st.proxy.Release()
	checkStalled(t, st, err, took, true, "PUT", 0)
	aborted := false
	for _, l := range st.proxy.Log() {
		aborted = aborted || strings.HasPrefix(l, "DELETE ")
	}
	if !aborted {
		t.Fatalf("no abort: %v", st.proxy.Log())
	}
	if left := st.srv.PendingUploads(t, st.bucket); len(left) != 0 {
		t.Fatalf("uploads left: %v", left)
	}
	if _, _, err := st.direct.Get(context.Background(), "v/stalled.enc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("object after a stalled part: %v", err)
	}
}

// TestS3StalledDownload: a server that sends the headers and part of a body,
// then nothing while holding the connection open, ends Get, GetTo and a
// listing (whose body the SDK reads) after one response timeout of no
// progress; the download is not retried.
func TestS3StalledDownload(t *testing.T) {
	st := openStalling(t)
	body := randomBytes(2 * mib)
	if _, err := st.direct.Put(context.Background(), "v/big.enc", body, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"get", "getto", "list"} {
		// A listing of one key is a few hundred bytes.
		cut := map[string]int64{"get": 256 << 10, "getto": 256 << 10, "list": 100}[how]
		st.proxy.Set(testenv.FaultRule{Method: "GET", Fault: testenv.StallDownload, Bytes: cut})
		var got bytes.Buffer
		log0 := len(st.proxy.Log())
		took, err := within(t, 10*time.Second, func() error {
			var err error
			switch how {
			case "get":
				_, _, err = st.s.Get(context.Background(), "v/big.enc")
			case "getto":
				_, _, err = st.s.GetTo(context.Background(), "v/big.enc", &got)
			case "list":
				_, err = st.s.List(context.Background(), "v/")
			}
			return err
		})
		st.proxy.Release()
		checkStalled(t, st, err, took, false, "GET", log0)
		if how == "getto" && got.Len() != 256<<10 {
			t.Fatalf("GetTo wrote %d bytes", got.Len())
		}
	}
}

// TestS3SlowTransferIsNotCut: a transfer that keeps moving, slower in total
// than the response timeout (64 KiB every 25 ms: the socket buffers between
// the proxy's reads hold its wait between two reads of the body well under the
// timeout), is never cut: the watchdog is about silence, not length.
func TestS3SlowTransferIsNotCut(t *testing.T) {
	st := openStalling(t)
	body := randomBytes(3 * mib)
	st.proxy.Set(testenv.FaultRule{Fault: testenv.Throttle, Bytes: 64 << 10, Every: 25 * time.Millisecond})
	ctx := context.Background()
	up, upload := time.Duration(0), st.s
	if !store.LimitsUnsent {
		// Without TCP_NOTSENT_LOWAT the kernel may take the whole body at once,
		// and the answer's wait (ResponseHeaderTimeout) starts while the proxy
		// still reads it: only the download is checked here.
		t.Log("this platform cannot bound the unsent bytes of an upload: the slow upload is not checked")
		up, upload = 2*stallTimeout, st.direct
	}
	start := time.Now()
	etag, err := upload.PutFile(ctx, "v/slow.enc", bytes.NewReader(body), int64(len(body)), store.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("slow upload: %v", err)
	}
	up = max(up, time.Since(start))
	start = time.Now()
	var got bytes.Buffer
	e, n, err := st.s.GetTo(ctx, "v/slow.enc", &got)
	if err != nil || n != int64(len(body)) || e != etag || !bytes.Equal(got.Bytes(), body) {
		t.Fatalf("slow download: %d bytes, %s (put %s), %v", n, e, etag, err)
	}
	down := time.Since(start)
	t.Logf("upload %s, download %s, timeout %s", up.Round(time.Millisecond), down.Round(time.Millisecond), stallTimeout)
	if up < 2*stallTimeout || down < 2*stallTimeout { // slower in total than the timeout
		t.Fatalf("not slow: upload %s, download %s", up, down)
	}
}
