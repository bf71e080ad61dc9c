package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/store/storetest"
)

func fileEndpoint(dir string) string {
	return store.FileURL(dir)
}

func openTempFileStore(t *testing.T) store.Store {
	t.Helper()
	s, err := store.Open(store.Config{Endpoint: fileEndpoint(t.TempDir()), Bucket: "bucket"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFileStore(t *testing.T) {
	storetest.Run(t, openTempFileStore)
}

func TestFileStoreLayout(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(store.Config{Endpoint: fileEndpoint(root), Bucket: "my-bucket"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fileEndpoint(filepath.Join(root, "my-bucket")); s.String() != want {
		t.Errorf("String() = %s, want %s", s.String(), want)
	}
	ctx := context.Background()
	if _, err := s.Put(ctx, "acme/dev/latest", []byte("20240101T000000"), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "my-bucket", "acme", "dev", "latest")
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "20240101T000000" {
		t.Fatalf("object file: %q %v", b, err)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{
			p:                                0o600,
			filepath.Join(root, "my-bucket"): 0o700,
			filepath.Join(root, "my-bucket", "acme", "dev"): 0o700,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
			}
		}
	}
	// Temp and lock files never show up as objects; old temp files go away.
	dir := filepath.Join(root, "my-bucket", "acme", "dev")
	stale := filepath.Join(dir, store.TempPrefix+"old")
	fresh := filepath.Join(dir, store.TempPrefix+"new")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(stale, old, old)
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "acme/dev/latest" || infos[0].Size != 15 {
		t.Fatalf("list = %+v", infos)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file not removed: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
	// A folder is not an object.
	if _, _, err := s.Get(ctx, "acme/dev"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get of a folder: %v", err)
	}
	if _, err := s.Put(ctx, "acme/dev", []byte("x"), store.Cond{}); err == nil {
		t.Error("put over a folder of objects succeeded")
	}
	if _, err := s.Put(ctx, "acme/dev/latest/x", []byte("x"), store.Cond{}); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("put below an object: %v", err)
	}
	if err := s.Delete(ctx, "acme/dev"); err != nil {
		t.Errorf("delete of a folder name: %v", err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("deleting a folder name removed something: %v", err)
	}
	if _, err := s.Put(ctx, "acme/dev/audit.csv", []byte("x"), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, store.TempPrefix+"*"))
	if len(leftovers) != 1 { // only the fresh one we planted
		t.Errorf("temp files left behind: %v", leftovers)
	}
}

// linkStore is a file store with bucket "b" in a new folder root, for tests that
// put symbolic links in it (skipped on Windows, where they need privileges).
func linkStore(t *testing.T) (root string, s store.Store) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	root = t.TempDir()
	s, err := store.Open(store.Config{Endpoint: fileEndpoint(root), Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	return root, s
}

func TestFileStoreSymlinkIsNotAnObject(t *testing.T) {
	root, s := linkStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "real", []byte("x"), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(root, "outside")
	os.WriteFile(secret, []byte("secret"), 0o600)
	if err := os.Symlink(secret, filepath.Join(root, "b", "link")); err != nil {
		t.Fatal(err)
	}
	if body, _, err := s.Get(ctx, "link"); err == nil {
		t.Fatalf("get through a symlink returned %q", body)
	}
	if _, err := s.Put(ctx, "link", []byte("y"), store.Cond{IfNoneMatch: true}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("IfNoneMatch over a symlink: %v", err)
	}
	infos, _ := s.List(ctx, "")
	if len(infos) != 1 || infos[0].Key != "real" {
		t.Fatalf("list = %+v", infos)
	}
	if b, _ := os.ReadFile(secret); string(b) != "secret" {
		t.Fatal("symlink target changed")
	}
}

// TestFileStoreFollowsNoLinkedFolder: a folder part-way down a key's path that
// another user of a shared store made a link (to another repository's prefix)
// is refused by every operation, and nothing where it points is read, written,
// deleted or listed.
func TestFileStoreFollowsNoLinkedFolder(t *testing.T) {
	root, s := linkStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "vsync/other/prod/latest", []byte("20260101-000000"), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "b", "vsync", "app"), 0o700)
	if err := os.Symlink(filepath.Join(root, "b", "vsync", "other", "prod"), filepath.Join(root, "b", "vsync", "app", "dev")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "vsync/app/dev/latest"); err == nil {
		t.Error("get followed the linked folder")
	}
	if _, _, err := s.GetTo(ctx, "vsync/app/dev/latest", io.Discard); err == nil {
		t.Error("get to followed the linked folder")
	}
	if _, err := s.Put(ctx, "vsync/app/dev/latest", []byte("20990101-000000"), store.Cond{}); err == nil {
		t.Error("put followed the linked folder")
	}
	if err := s.Delete(ctx, "vsync/app/dev/latest"); err == nil {
		t.Error("delete followed the linked folder")
	}
	if infos, err := s.List(ctx, "vsync/app/dev/"); err == nil {
		t.Errorf("list followed the linked folder: %+v", infos)
	}
	if b, err := os.ReadFile(filepath.Join(root, "b", "vsync", "other", "prod", "latest")); err != nil || string(b) != "20260101-000000" {
		t.Fatalf("the other prefix changed: %q %v", b, err)
	}
}

func TestFileStoreMissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "not-mounted")
	s, err := store.Open(store.Config{Endpoint: fileEndpoint(root), Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _, err = s.Get(ctx, "k")
	if !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("get: %v", err)
	}
	if _, err := s.Put(ctx, "k", []byte("x"), store.Cond{}); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("put: %v", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("list: %v", err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the store created its missing root")
	}
	if fe := store.AsFail(err, "read"); fe == nil || !strings.Contains(fe.Error(), "not-mounted") {
		t.Fatalf("store.AsFail: %v", fe)
	}
	// A bucket folder that does not exist yet is an empty bucket.
	s2, _ := store.Open(store.Config{Endpoint: fileEndpoint(t.TempDir()), Bucket: "b"})
	if _, _, err := s2.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get in a fresh bucket: %v", err)
	}
	if l, err := s2.List(ctx, "a/b/"); err != nil || len(l) != 0 {
		t.Fatalf("list in a fresh bucket: %v %v", l, err)
	}
	if err := s2.Delete(ctx, "a/b"); err != nil {
		t.Fatalf("delete in a fresh bucket: %v", err)
	}
}

func TestFileStoreBadKeys(t *testing.T) {
	s := openTempFileStore(t)
	ctx := context.Background()
	for _, k := range []string{"", "/abs", "a/../b", "..", "../x", "a/./b", "a//b", "a/", `a\b`, "a\x00b",
		"C:/x", "a/.vsync-locks/00.lock", ".vsync-tmp-1", "con", "x/NUL.txt", "trailing.", "sp ", "a\nb", "q?"} {
		if _, err := s.Put(ctx, k, []byte("x"), store.Cond{}); err == nil {
			t.Errorf("put accepted key %q", k)
		}
		if _, _, err := s.Get(ctx, k); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("get of key %q: %v", k, err)
		}
		if err := s.Delete(ctx, k); err == nil {
			t.Errorf("delete accepted key %q", k)
		}
	}
	if l, err := s.List(ctx, "../"); err != nil || len(l) != 0 {
		t.Errorf("list ../ = %v %v", l, err)
	}
	for _, k := range []string{"a", "a.b/c-d_e/f.enc", "acme_web/dev/versions/20240101T000000.enc", ".env", "ünï/cödé"} {
		if _, err := s.Put(ctx, k, []byte("x"), store.Cond{}); err != nil {
			t.Errorf("key %q refused: %v", k, err)
		}
	}
	for _, b := range []string{"", ".", "..", "a/b", `a\b`, ".hidden", "-x", "con", "x."} {
		if _, err := store.Open(store.Config{Endpoint: fileEndpoint(t.TempDir()), Bucket: b}); err == nil {
			t.Errorf("bucket %q accepted", b)
		}
	}
}

// TestFileStoreProcessRace races several processes on one key, first with
// IfMatch on the same ETag, then with IfNoneMatch on a new key: exactly one
// process may win each round. Bodies differ between rounds: ETags hash the
// content, so rewriting an earlier body would bring its ETag back (ABA).
func TestFileStoreProcessRace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const procs, rounds = 6, 4
	root := t.TempDir()
	s, err := store.Open(store.Config{Endpoint: fileEndpoint(root), Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	etag, err := s.Put(ctx, "acme/dev/latest", []byte("start"), store.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < rounds; r++ {
		for _, mode := range []string{"ifmatch", "ifnonematch"} {
			key := "acme/dev/latest"
			if mode == "ifnonematch" {
				key = fmt.Sprintf("acme/dev/versions/%d.enc", r)
			}
			results := raceProcesses(t, procs, root, key, mode, etag, r)
			wins := 0
			var winner string
			for id, res := range results {
				switch res {
				case "WIN":
					wins++
					winner = fmt.Sprintf("round %d proc %d", r, id)
				case "LOST":
				default:
					t.Fatalf("round %d %s: process %d: %s", r, mode, id, res)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d %s: %d processes won, want exactly 1 (%v)", r, mode, wins, results)
			}
			body, e, err := s.Get(ctx, key)
			if err != nil || string(body) != winner {
				t.Fatalf("round %d %s: object holds %q (%v), winner was %q", r, mode, body, err, winner)
			}
			if mode == "ifmatch" {
				etag = e
			}
		}
	}
}

// raceProcesses starts n helper processes, lets them all get ready, then
// releases them at once by closing their stdin.
func raceProcesses(t *testing.T, n int, root, key, mode, etag string, round int) []string {
	type helper struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Scanner
	}
	hs := make([]helper, n)
	for i := range hs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreHelperProcess$")
		cmd.Env = append(os.Environ(),
			"VSYNC_STORE_HELPER=1", "VSYNC_STORE_ROOT="+root, "VSYNC_STORE_KEY="+key,
			"VSYNC_STORE_MODE="+mode, "VSYNC_STORE_ETAG="+etag, fmt.Sprintf("VSYNC_STORE_ID=round %d proc %d", round, i))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		hs[i] = helper{cmd, stdin, bufio.NewScanner(stdout)}
	}
	line := func(h helper, prefix string) string {
		for h.out.Scan() {
			if s, ok := strings.CutPrefix(h.out.Text(), prefix); ok {
				return s
			}
		}
		return "no output"
	}
	for i, h := range hs {
		if got := line(h, "READY"); got != "" {
			t.Fatalf("helper %d did not get ready: %s", i, got)
		}
	}
	for _, h := range hs {
		h.stdin.Close()
	}
	res := make([]string, n)
	for i, h := range hs {
		res[i] = strings.TrimSpace(line(h, "RESULT "))
		h.cmd.Wait()
	}
	return res
}

// TestFileStoreHelperProcess is one racer of TestFileStoreProcessRace; it
// does nothing in a normal test run.
func TestFileStoreHelperProcess(t *testing.T) {
	if os.Getenv("VSYNC_STORE_HELPER") != "1" {
		return // only a helper process for TestFileStoreProcessRace
	}
	s, err := store.Open(store.Config{Endpoint: fileEndpoint(os.Getenv("VSYNC_STORE_ROOT")), Bucket: "b"})
	if err != nil {
		fmt.Println("RESULT ERR", err)
		return
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin) // released when the parent closes stdin
	c := store.Cond{IfMatch: os.Getenv("VSYNC_STORE_ETAG")}
	if os.Getenv("VSYNC_STORE_MODE") == "ifnonematch" {
		c = store.Cond{IfNoneMatch: true}
	}
	_, err = s.Put(context.Background(), os.Getenv("VSYNC_STORE_KEY"), []byte(os.Getenv("VSYNC_STORE_ID")), c)
	switch {
	case err == nil:
		fmt.Println("RESULT WIN")
	case errors.Is(err, store.ErrPreconditionFailed):
		fmt.Println("RESULT LOST")
	default:
		fmt.Println("RESULT ERR", err)
	}
}

// unusedETag is a download whose caller ignores the ETag.
type unusedETag struct{ strings.Builder }

func (*unusedETag) ETagUnused() {}

// A download into a writer that does not use the ETag is not hashed for it: the
// file store returns no ETag (it would be a SHA-256 of the whole object).
func TestFileStoreGetToSkipsUnusedETag(t *testing.T) {
	s := openTempFileStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "r/dev/v", []byte("bundle bytes"), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	var w unusedETag
	etag, n, err := s.GetTo(ctx, "r/dev/v", &w)
	if err != nil || etag != "" || n != 12 || w.String() != "bundle bytes" {
		t.Fatalf("GetTo: %q %d %q %v", etag, n, w.String(), err)
	}
	var b strings.Builder
	if etag, _, err := s.GetTo(ctx, "r/dev/v", &b); err != nil || etag == "" {
		t.Fatalf("GetTo into a plain writer: ETag %q, %v", etag, err)
	}
}
