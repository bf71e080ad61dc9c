// Package storetest is the behaviour every store.Store must show, run against
// each backend by that backend's tests.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/store"
)

// Run runs the suite. open must return a store on a fresh, empty bucket each
// time it is called.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"RoundTrip", testRoundTrip},
		{"IfNoneMatch", testIfNoneMatch},
		{"IfMatch", testIfMatch},
		{"IfMatchMissing", testIfMatchMissing},
		{"Delete", testDelete},
		{"ListPrefix", testListPrefix},
		{"ListMany", testListMany},
		{"RaceIfMatch", testRaceIfMatch},
		{"RaceIfNoneMatch", testRaceIfNoneMatch},
		{"StreamRoundTrip", testStreamRoundTrip},
		{"StreamConditions", testStreamConditions},
		{"StreamRaceIfNoneMatch", testStreamRaceIfNoneMatch},
		{"PutStream", testPutStream},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func mustPut(t *testing.T, s store.Store, key, body string, c store.Cond) string {
	t.Helper()
	etag, err := s.Put(ctx(t), key, []byte(body), c)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	if etag == "" {
		t.Fatalf("put %s: empty ETag", key)
	}
	return etag
}

func mustGet(t *testing.T, s store.Store, key string) (string, string) {
	t.Helper()
	body, etag, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return string(body), etag
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	_, _, err := s.Get(ctx(t), "nope/missing")
	wantErr(t, err, store.ErrNotFound, "get of a missing key")
	if s.String() == "" {
		t.Error("String() is empty")
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	e1 := mustPut(t, s, "p/obj", "one", store.Cond{})
	body, g1 := mustGet(t, s, "p/obj")
	if body != "one" || g1 != e1 {
		t.Fatalf("get = %q %s, want %q %s", body, g1, "one", e1)
	}
	if e1[0] != '"' || e1[len(e1)-1] != '"' {
		t.Errorf("ETag %s is not quoted", e1)
	}
	e2 := mustPut(t, s, "p/obj", "two", store.Cond{})
	if e2 == e1 {
		t.Fatalf("ETag did not change with the content: %s", e2)
	}
	if body, g2 := mustGet(t, s, "p/obj"); body != "two" || g2 != e2 {
		t.Fatalf("get = %q %s, want %q %s", body, g2, "two", e2)
	}
	// Empty and binary bodies survive.
	mustPut(t, s, "p/empty", "", store.Cond{})
	if body, _ := mustGet(t, s, "p/empty"); body != "" {
		t.Fatalf("empty object came back as %q", body)
	}
	// A body of several MiB (the SDK sends Expect: 100-continue above 2 MiB).
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
	eb, err := s.Put(ctx(t), "p/big", big, store.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("put of %d bytes: %v", len(big), err)
	}
	if got, etag, err := s.Get(ctx(t), "p/big"); err != nil || !bytes.Equal(got, big) || etag != eb {
		t.Fatalf("get of %d bytes: %d bytes, %s (want %s), %v", len(big), len(got), etag, eb, err)
	}
	bin := string([]byte{0, 1, 2, 0xff, '\n', '\r'})
	mustPut(t, s, "p/bin", bin, store.Cond{})
	if body, _ := mustGet(t, s, "p/bin"); body != bin {
		t.Fatalf("binary object came back as %q", body)
	}
}

func testIfNoneMatch(t *testing.T, s store.Store) {
	e1 := mustPut(t, s, "latest", "first", store.Cond{IfNoneMatch: true})
	_, err := s.Put(ctx(t), "latest", []byte("second"), store.Cond{IfNoneMatch: true})
	wantErr(t, err, store.ErrPreconditionFailed, "IfNoneMatch on an existing key")
	if body, etag := mustGet(t, s, "latest"); body != "first" || etag != e1 {
		t.Fatalf("a refused create changed the object: %q %s", body, etag)
	}
}

func testIfMatch(t *testing.T, s store.Store) {
	e1 := mustPut(t, s, "latest", "v1", store.Cond{})
	e2 := mustPut(t, s, "latest", "v2", store.Cond{IfMatch: e1})
	_, err := s.Put(ctx(t), "latest", []byte("v3"), store.Cond{IfMatch: e1})
	wantErr(t, err, store.ErrPreconditionFailed, "IfMatch with a stale ETag")
	if body, etag := mustGet(t, s, "latest"); body != "v2" || etag != e2 {
		t.Fatalf("a refused swap changed the object: %q %s", body, etag)
	}
	_, err = s.Put(ctx(t), "latest", []byte("v3"), store.Cond{IfMatch: `"0123456789abcdef0123456789abcdef"`})
	wantErr(t, err, store.ErrPreconditionFailed, "IfMatch with a made-up ETag")
	// The unquoted form of the right ETag works too.
	e3 := mustPut(t, s, "latest", "v3", store.Cond{IfMatch: e2[1 : len(e2)-1]})
	if body, etag := mustGet(t, s, "latest"); body != "v3" || etag != e3 {
		t.Fatalf("get = %q %s, want v3 %s", body, etag, e3)
	}
	_, err = s.Put(ctx(t), "latest", []byte("x"), store.Cond{IfNoneMatch: true, IfMatch: e3})
	if err == nil {
		t.Fatal("IfNoneMatch together with IfMatch was accepted")
	}
}

func testIfMatchMissing(t *testing.T, s store.Store) {
	_, err := s.Put(ctx(t), "gone", []byte("x"), store.Cond{IfMatch: `"0123456789abcdef0123456789abcdef"`})
	wantErr(t, err, store.ErrPreconditionFailed, "IfMatch on a missing key")
	_, _, err = s.Get(ctx(t), "gone")
	wantErr(t, err, store.ErrNotFound, "get after a refused IfMatch")
}

func testDelete(t *testing.T, s store.Store) {
	mustPut(t, s, "d/x", "x", store.Cond{})
	if err := s.Delete(ctx(t), "d/x"); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Get(ctx(t), "d/x")
	wantErr(t, err, store.ErrNotFound, "get after delete")
	if err := s.Delete(ctx(t), "d/x"); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	if err := s.Delete(ctx(t), "never/was"); err != nil {
		t.Fatalf("delete of a never-written key: %v", err)
	}
	// A deleted key can be created again with IfNoneMatch.
	mustPut(t, s, "d/x", "again", store.Cond{IfNoneMatch: true})
}

func testListPrefix(t *testing.T, s store.Store) {
	keys := []string{
		"acme/dev/versions/20240102T030405.enc",
		"acme/dev/versions/20240101T000000.enc",
		"acme/dev/latest",
		"acme/dev/audit.csv",
		"acme/dev2/latest",
		"acme/prod/latest",
		"other/dev/latest",
		"acme.x",
	}
	for i, k := range keys {
		mustPut(t, s, k, fmt.Sprintf("body-%d", i), store.Cond{})
	}
	check := func(prefix string, want ...string) {
		t.Helper()
		got, err := s.List(ctx(t), prefix)
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		var gotKeys []string
		for _, in := range got {
			gotKeys = append(gotKeys, in.Key)
		}
		if fmt.Sprint(gotKeys) != fmt.Sprint(want) {
			t.Fatalf("list %q = %v, want %v", prefix, gotKeys, want)
		}
	}
	check("acme/dev/versions/", "acme/dev/versions/20240101T000000.enc", "acme/dev/versions/20240102T030405.enc")
	check("acme/dev/", "acme/dev/audit.csv", "acme/dev/latest", "acme/dev/versions/20240101T000000.enc", "acme/dev/versions/20240102T030405.enc")
	check("acme/dev", "acme/dev/audit.csv", "acme/dev/latest", "acme/dev/versions/20240101T000000.enc", "acme/dev/versions/20240102T030405.enc", "acme/dev2/latest")
	check("acme/dev/versions/2024010", "acme/dev/versions/20240101T000000.enc", "acme/dev/versions/20240102T030405.enc")
	check("acme/dev/versions/20240102", "acme/dev/versions/20240102T030405.enc")
	check("acme/nope/")
	check("zzz")
	check("acme", "acme.x", "acme/dev/audit.csv", "acme/dev/latest", "acme/dev/versions/20240101T000000.enc", "acme/dev/versions/20240102T030405.enc", "acme/dev2/latest", "acme/prod/latest")
	all, err := s.List(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(keys) {
		t.Fatalf("list of everything has %d keys, want %d", len(all), len(keys))
	}
	for _, in := range all {
		if in.Key == "acme/dev/latest" {
			if in.Size != int64(len("body-2")) {
				t.Errorf("size of %s = %d", in.Key, in.Size)
			}
			if d := time.Since(in.Modified); d < -time.Hour || d > time.Hour {
				t.Errorf("modified time of %s is %v", in.Key, in.Modified)
			}
			if in.ETag != "" {
				if _, etag := mustGet(t, s, in.Key); etag != in.ETag {
					t.Errorf("listed ETag %s differs from Get's %s", in.ETag, etag)
				}
			}
		}
	}
}

// testListMany writes more keys than one S3 listing page holds (1000).
func testListMany(t *testing.T, s store.Store) {
	const n = 1100
	keys := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				k := fmt.Sprintf("many/k%05d", i)
				if _, err := s.Put(ctx(t), k, []byte{byte(i)}, store.Cond{}); err != nil {
					failed.Store(err)
				}
			}
		}()
	}
	// Written in a scrambled order, so sorting is the store's job.
	for i := 0; i < n; i++ {
		keys <- (i * 7919) % n
	}
	close(keys)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "manz", "outside the prefix", store.Cond{})
	got, err := s.List(ctx(t), "many/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("list returned %d keys, want %d", len(got), n)
	}
	for i, in := range got {
		if want := fmt.Sprintf("many/k%05d", i); in.Key != want {
			t.Fatalf("list[%d] = %s, want %s (not sorted or not complete)", i, in.Key, want)
		}
		if in.Size != 1 {
			t.Fatalf("list[%d] size %d", i, in.Size)
		}
	}
}

// race lets n writers prepare (ready runs concurrently and returns the write to
// make), then starts every write at the same moment. Exactly one write may succeed
// and every other must lose with ErrPreconditionFailed; race returns the winner.
func race(t *testing.T, what string, n int, ready func(w int) (put func() error, err error)) int {
	t.Helper()
	var prepared, wg sync.WaitGroup
	start := make(chan struct{})
	var wins atomic.Int32
	winner := atomic.Int32{}
	errs := make(chan error, n)
	prepared.Add(n)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			put, err := ready(w)
			prepared.Done()
			if err != nil {
				errs <- err
				return
			}
			<-start
			switch err := put(); {
			case err == nil:
				wins.Add(1)
				winner.Store(int32(w))
			case !errors.Is(err, store.ErrPreconditionFailed):
				errs <- err
			}
		}()
	}
	prepared.Wait()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
	if got := wins.Load(); got != 1 {
		t.Fatalf("%s: %d writers won, want exactly 1", what, got)
	}
	return int(winner.Load())
}

// testRaceIfMatch: 8 writers read the ETag, then all swap with IfMatch at
// once. Exactly one may win each round.
func testRaceIfMatch(t *testing.T, s store.Store) {
	const writers, rounds = 8, 20
	mustPut(t, s, "race/latest", "start", store.Cond{})
	for r := 0; r < rounds; r++ {
		body := func(w int) string { return fmt.Sprintf("round %d writer %d", r, w) }
		w := race(t, fmt.Sprintf("round %d", r), writers, func(w int) (func() error, error) {
			_, etag, err := s.Get(ctx(t), "race/latest")
			return func() error {
				_, err := s.Put(ctx(t), "race/latest", []byte(body(w)), store.Cond{IfMatch: etag})
				return err
			}, err
		})
		if got, _ := mustGet(t, s, "race/latest"); got != body(w) {
			t.Fatalf("round %d: object holds %q, the winner wrote %q", r, got, body(w))
		}
	}
}

// testRaceIfNoneMatch: 8 writers create one key at once; exactly one wins.
func testRaceIfNoneMatch(t *testing.T, s store.Store) {
	const writers, rounds = 8, 5
	for r := 0; r < rounds; r++ {
		key := fmt.Sprintf("create/v%d.enc", r)
		body := func(w int) string { return fmt.Sprintf("round %d writer %d", r, w) }
		w := race(t, fmt.Sprintf("round %d", r), writers, func(w int) (func() error, error) {
			return func() error {
				_, err := s.Put(ctx(t), key, []byte(body(w)), store.Cond{IfNoneMatch: true})
				return err
			}, nil
		})
		if got, _ := mustGet(t, s, key); got != body(w) {
			t.Fatalf("round %d: object holds %q, the winner wrote %q", r, got, body(w))
		}
	}
}

func putFile(t *testing.T, s store.Store, key string, body []byte, c store.Cond) (string, error) {
	t.Helper()
	// An *os.File, as the callers use: the body is read through ReadAt.
	f, err := os.CreateTemp(t.TempDir(), "body-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Bytes before and after the body must not be sent.
	if _, err := f.Write(append(append([]byte("prefix"), body...), "suffix"...)); err != nil {
		t.Fatal(err)
	}
	return s.PutFile(ctx(t), key, io.NewSectionReader(f, int64(len("prefix")), int64(len(body))), int64(len(body)), c)
}

func getTo(t *testing.T, s store.Store, key string) ([]byte, string, error) {
	t.Helper()
	var buf bytes.Buffer
	etag, n, err := s.GetTo(ctx(t), key, &buf)
	if err == nil && n != int64(buf.Len()) {
		t.Fatalf("GetTo %s: says %d bytes, wrote %d", key, n, buf.Len())
	}
	return buf.Bytes(), etag, err
}

// PutFile and GetTo move the same bytes with the same ETags as Put and Get.
func testStreamRoundTrip(t *testing.T, s store.Store) {
	big := make([]byte, 5<<20+7)
	rand.Read(big)
	for _, body := range [][]byte{nil, []byte("one"), {0, 1, 0xff, '\n'}, big} {
		e1, err := putFile(t, s, "s/obj", body, store.Cond{})
		if err != nil || e1 == "" || e1[0] != '"' {
			t.Fatalf("PutFile of %d bytes: %q %v", len(body), e1, err)
		}
		got, g1, err := s.Get(ctx(t), "s/obj")
		if err != nil || !bytes.Equal(got, body) || g1 != e1 {
			t.Fatalf("Get after PutFile of %d bytes: %d bytes, %s (want %s), %v", len(body), len(got), g1, e1, err)
		}
		got, g2, err := getTo(t, s, "s/obj")
		if err != nil || !bytes.Equal(got, body) || g2 != e1 {
			t.Fatalf("GetTo after PutFile of %d bytes: %d bytes, %s (want %s), %v", len(body), len(got), g2, e1, err)
		}
		var unused etagUnused
		if g4, n, err := s.GetTo(ctx(t), "s/obj", &unused); err != nil || n != int64(len(body)) || !bytes.Equal(unused.Bytes(), body) || (g4 != "" && g4 != e1) {
			t.Fatalf("GetTo of %d bytes into an ETagUnused writer: %d bytes, ETag %s, %v", len(body), n, g4, err)
		}
		e3 := mustPut(t, s, "s/obj2", string(body), store.Cond{})
		if e3 != e1 {
			t.Fatalf("Put and PutFile of the same %d bytes give ETags %s and %s", len(body), e3, e1)
		}
		got, g3, err := getTo(t, s, "s/obj2")
		if err != nil || !bytes.Equal(got, body) || g3 != e3 {
			t.Fatalf("GetTo after Put of %d bytes: %d bytes, %s (want %s), %v", len(body), len(got), g3, e3, err)
		}
	}
	var buf bytes.Buffer
	_, _, err := s.GetTo(ctx(t), "s/missing", &buf)
	wantErr(t, err, store.ErrNotFound, "GetTo of a missing key")
	if buf.Len() != 0 {
		t.Fatalf("GetTo of a missing key wrote %q", buf.Bytes())
	}
	// A writer that fails stops the download with an error.
	_, _, err = s.GetTo(ctx(t), "s/obj", failingWriter{})
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetTo into a failing writer: %v", err)
	}
}

// etagUnused is a writer whose caller ignores GetTo's ETag.
type etagUnused struct{ bytes.Buffer }

func (*etagUnused) ETagUnused() {}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// PutFile's conditions are Put's.
func testStreamConditions(t *testing.T, s store.Store) {
	e1, err := putFile(t, s, "latest", []byte("first"), store.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = putFile(t, s, "latest", []byte("second"), store.Cond{IfNoneMatch: true})
	wantErr(t, err, store.ErrPreconditionFailed, "PutFile IfNoneMatch on an existing key")
	if body, etag := mustGet(t, s, "latest"); body != "first" || etag != e1 {
		t.Fatalf("a refused create changed the object: %q %s", body, etag)
	}
	e2, err := putFile(t, s, "latest", []byte("v2"), store.Cond{IfMatch: e1})
	if err != nil {
		t.Fatalf("PutFile IfMatch with the right ETag: %v", err)
	}
	_, err = putFile(t, s, "latest", []byte("v3"), store.Cond{IfMatch: e1})
	wantErr(t, err, store.ErrPreconditionFailed, "PutFile IfMatch with a stale ETag")
	if body, etag := mustGet(t, s, "latest"); body != "v2" || etag != e2 {
		t.Fatalf("a refused swap changed the object: %q %s", body, etag)
	}
	if _, err := putFile(t, s, "latest", []byte("v3"), store.Cond{IfMatch: e2[1 : len(e2)-1]}); err != nil {
		t.Fatalf("PutFile IfMatch with the unquoted ETag: %v", err)
	}
	_, err = putFile(t, s, "gone", []byte("x"), store.Cond{IfMatch: `"0123456789abcdef0123456789abcdef"`})
	wantErr(t, err, store.ErrPreconditionFailed, "PutFile IfMatch on a missing key")
	_, _, err = s.Get(ctx(t), "gone")
	wantErr(t, err, store.ErrNotFound, "get after a refused PutFile")
	_, err = putFile(t, s, "latest", []byte("x"), store.Cond{IfNoneMatch: true, IfMatch: e2})
	if err == nil {
		t.Fatal("PutFile with IfNoneMatch together with IfMatch was accepted")
	}
	// A big version object created exclusively, then refused a second time.
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
	eb, err := putFile(t, s, "v/big.enc", big, store.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = putFile(t, s, "v/big.enc", big[1:], store.Cond{IfNoneMatch: true})
	wantErr(t, err, store.ErrPreconditionFailed, "PutFile IfNoneMatch on an existing big object")
	if got, etag, err := getTo(t, s, "v/big.enc"); err != nil || !bytes.Equal(got, big) || etag != eb {
		t.Fatalf("big object after a refused create: %d bytes %s %v", len(got), etag, err)
	}
}

// testStreamRaceIfNoneMatch: 8 writers create one key with PutFile at once;
// exactly one wins.
func testStreamRaceIfNoneMatch(t *testing.T, s store.Store) {
	const writers = 8
	body := func(w int) []byte { return bytes.Repeat([]byte{byte('a' + w)}, 100<<10) }
	w := race(t, "PutFile", writers, func(w int) (func() error, error) {
		return func() error {
			b := body(w)
			_, err := s.PutFile(ctx(t), "race/v.enc", bytes.NewReader(b), int64(len(b)), store.Cond{IfNoneMatch: true})
			return err
		}, nil
	})
	got, _, err := getTo(t, s, "race/v.enc")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body(w)) {
		t.Fatalf("the object is not the winner's")
	}
}

// PutStream of a body written while it uploads: the object appears whole, only
// at the end; a refused creation and a failed writer leave the key as it was.
func testPutStream(t *testing.T, s store.Store) {
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	body := make([]byte, 6<<20+3)
	rand.Read(body)
	g := store.NewGrowingFile(f)
	type result struct {
		etag string
		n    int64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		etag, n, err := s.PutStream(ctx(t), "p/obj", g, store.Cond{IfNoneMatch: true})
		done <- result{etag, n, err}
	}()
	for off := 0; off < len(body); off += 1 << 20 {
		if _, err := g.Write(body[off:min(off+1<<20, len(body))]); err != nil {
			t.Fatal(err)
		}
	}
	g.Close(nil)
	r := <-done
	if r.err != nil || r.n != int64(len(body)) {
		t.Fatalf("PutStream = %d, %v", r.n, r.err)
	}
	got, etag, err := s.Get(ctx(t), "p/obj")
	if err != nil || !bytes.Equal(got, body) || etag != r.etag {
		t.Fatalf("Get after PutStream: %d bytes, %s (want %s), %v", len(got), etag, r.etag, err)
	}
	again := func(key string, fail error) error {
		f2, err := os.CreateTemp(t.TempDir(), "body")
		if err != nil {
			t.Fatal(err)
		}
		defer f2.Close()
		g2 := store.NewGrowingFile(f2)
		g2.Write([]byte("other content"))
		g2.Close(fail)
		_, _, err = s.PutStream(ctx(t), key, g2, store.Cond{IfNoneMatch: true})
		return err
	}
	wantErr(t, again("p/obj", nil), store.ErrPreconditionFailed, "PutStream over an existing key")
	boom := errors.New("the writer failed")
	if err := again("p/new", boom); !errors.Is(err, boom) {
		t.Fatalf("PutStream of a failed body: %v", err)
	}
	if _, _, err := s.Get(ctx(t), "p/new"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed PutStream left an object: %v", err)
	}
	if got, _, _ := s.Get(ctx(t), "p/obj"); !bytes.Equal(got, body) {
		t.Fatal("a refused PutStream changed the object")
	}
}
