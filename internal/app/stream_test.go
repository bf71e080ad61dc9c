package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/backup"
	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// tempLeft lists what the clone's temp folder holds.
func tempLeft(t *testing.T, c *clone) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(c.dir, ".git", "vsync", "tmp"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range ents {
		names = append(names, de.Name())
	}
	return names
}

func noTempLeft(t *testing.T, c *clone, after string) {
	t.Helper()
	if left := tempLeft(t, c); len(left) > 0 {
		t.Fatalf("after %s, temp files are left: %v", after, left)
	}
}

func writeRandom(t *testing.T, c *clone, rel string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	c.write("dev", rel, string(b))
}

// Bundles larger than the streaming chunks go through push, pull, rotate and
// restore byte-compatible with the one-shot RQE1 (rqe1.Open reads them), and every
// path — successes and refusals — leaves no temp file behind.
func TestStreamingBundles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, _ := setup(t, m, storeURL)
		writeRandom(t, a, "big.bin", 1<<20+13)
		writeRandom(t, a, "d/mid.bin", 200<<10)
		res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		noTempLeft(t, a, "push")
		want := tree(t, a.vault("dev"))

		// The stored bundle is a plain RQE1 envelope of RQEM0001(ts, zip).
		e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
		key, _, _, err := e.Key(bg)
		if err != nil {
			t.Fatal(err)
		}
		body, _, err := e.Store.Get(bg, e.VersionKey(res.TS))
		if err != nil {
			t.Fatal(err)
		}
		if len(body) != res.Bytes {
			t.Fatalf("push says %d bytes, the bundle has %d", res.Bytes, len(body))
		}
		pt, err := rqe1.Open(key, body)
		if err != nil {
			t.Fatal(err)
		}
		zipData, err := rqem.Open(pt, res.TS)
		if err != nil {
			t.Fatal(err)
		}
		if entries, err := bundle.ListAt(bytes.NewReader(zipData), int64(len(zipData)), bundle.DefaultLimits); err != nil || len(entries) != len(want) {
			t.Fatalf("bundle lists %d entries (%v), the vault has %d", len(entries), err, len(want))
		}

		b := m.newClone("b")
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, tree(t, b.vault("dev")), want)
		noTempLeft(t, b, "pull")

		// A tampered bundle is refused after the download; nothing is left.
		bad := bytes.Clone(body)
		bad[len(bad)/2] ^= 1
		putObject(t, a, e.VersionKey(res.TS), bad)
		b.write("dev", "local.txt", "edit")
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{At: res.TS, Force: true})
		wantCode(t, err, fail.Integrity, "does not open")
		noTempLeft(t, b, "a refused pull")
		putObject(t, a, e.VersionKey(res.TS), body)

		// Pull --force backs the large vault up (streamed into the backup file).
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{At: res.TS, Force: true}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, tree(t, b.vault("dev")), want)
		eb, _ := b.app.OpenEnv(b.app.Resolve(""), "dev")
		bs, err := backup.List(eb.backupRoot(), eb.ID.Name, "dev")
		if err != nil || len(bs) == 0 {
			t.Fatalf("no backup: %v", err)
		}
		if sealed, err := os.ReadFile(bs[0].Path); err != nil {
			t.Fatal(err)
		} else if data, err := rqe1.Open(key, sealed); err != nil {
			t.Fatal(err)
		} else if entries, err := bundle.ListAt(bytes.NewReader(data), int64(len(data)), bundle.DefaultLimits); err != nil || len(entries) != len(want)+1 {
			t.Fatalf("backup lists %d entries (%v), want %d", len(entries), err, len(want)+1)
		}
		infos, _, err := b.app.Backups(bg, b.app.Resolve(""), "dev")
		if err != nil || len(infos) == 0 || !infos[0].Readable || infos[0].Files != 5 {
			t.Fatalf("backups: %+v %v", infos, err)
		}
		r, err := b.app.Restore(bg, b.app.Resolve(""), "dev", bs[0].ID, AuditOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Files != 5 || tree(t, b.vault("dev"))["local.txt"] != "edit" {
			t.Fatalf("restore: %+v", r)
		}
		noTempLeft(t, b, "restore")

		// Rotate re-seals the large latest under the new key.
		rot, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		noTempLeft(t, a, "rotate")
		c := m.newClone("c")
		if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, tree(t, c.vault("dev")), want)
		if st, _ := c.app.OpenEnv(c.app.Resolve(""), "dev"); st != nil {
			if s, _ := st.State(); s == nil || s.TS != rot.TS {
				t.Fatalf("pulled %v, rotate made %s", s, rot.TS)
			}
		}
		if _, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{PurgeOld: true}); err != nil {
			t.Fatal(err)
		}
		noTempLeft(t, a, "rotate --purge-old")

		// A push that loses the race to latest removes its temp file too.
		latest, etag, _ := e.Latest(bg)
		a.write("dev", ".env.dev", "X=1\n")
		ea, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
		ka, _, _, _ := ea.Key(bg)
		_, _, err = a.app.publish(bg, ea, ka, []byte("zip"), latest, etag+"x", "push")
		wantCode(t, err, fail.Refused, "remote advanced")
		noTempLeft(t, a, "a push that lost")
	})
}

// When the version object of the push's second exists (another push in the same
// second), the bundle is sealed again as the next second, with a fresh nonce, and
// opens as that version.
func TestPushSameSecondReseals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, ts1 := setup(t, m, storeURL)
		t1, _ := time.Parse(rqem.TSLayout, ts1)
		now := t1.Add(10 * time.Second)
		a.app.Now = func() time.Time { return now }
		taken := rqem.FormatTS(now)
		putObject(t, a, "acme_web/dev/versions/"+taken+".enc", []byte("someone else's"))
		writeRandom(t, a, "big.bin", 300<<10)
		res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := rqem.FormatTS(now.Add(time.Second)); res.TS != want {
			t.Fatalf("pushed as %s, want %s", res.TS, want)
		}
		noTempLeft(t, a, "a resealed push")
		e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
		key, _, _, _ := e.Key(bg)
		body, _, err := e.Store.Get(bg, e.VersionKey(res.TS))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := rqe1.Open(key, body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rqem.Open(pt, res.TS); err != nil {
			t.Fatal(err)
		}
		if len(body) != res.Bytes {
			t.Fatalf("push says %d bytes, the bundle has %d", res.Bytes, len(body))
		}
		b := m.newClone("b")
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, tree(t, b.vault("dev")), tree(t, a.vault("dev")))
	})
}

// Temp files a killed process left behind are removed once they are old.
func TestStaleTempFilesSwept(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	dir := filepath.Join(a.dir, ".git", "vsync", "tmp")
	old, fresh := filepath.Join(dir, tempPrefix+"old.enc"), filepath.Join(dir, tempPrefix+"fresh.enc")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * staleTemp)
	os.Chtimes(old, long, long)
	a.write("dev", ".env.dev", "Y=2\n")
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if left := tempLeft(t, a); len(left) != 1 || left[0] != filepath.Base(fresh) {
		t.Fatalf("temp folder holds %v, want only the fresh file", left)
	}
	if fi, err := os.Stat(dir); err != nil || (fi.Mode().Perm() != 0o700 && os.PathSeparator == '/') {
		t.Fatalf("temp folder: %v %v", fi.Mode(), err)
	}
}

// publish seals zipData under aesKey as the version after latest and swaps the
// latest pointer from etag (see publishSealed).
func (a *App) publish(ctx context.Context, e *EnvHandle, aesKey, zipData []byte, latest, etag, action string) (ts, newETag string, err error) {
	ts = nextTS(a.Now(), latest)
	sealed, err := e.sealBundle(aesKey, ts, func(w io.Writer) error {
		if _, err := w.Write(zipData); err != nil {
			return fail.Wrap(fail.Failure, err, fail.HintLocal, "seal the bundle")
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	defer sealed.remove()
	return a.publishSealed(ctx, e, aesKey, sealed, nil, ts, latest, etag, action)
}

// A pull authenticates the bundle while it downloads (rqe1.OpenGrowing): a
// bundle changed anywhere — the first chunk, a chunk edge, the last byte of
// ciphertext, the tag — or cut short is refused like before, and nothing local
// changes: the vault, the sync state, the backups (a refused bundle costs no
// backup) and the temp folder are as they were.
func TestPullRefusesTamperedBundleWhileDownloading(t *testing.T) {
	m := newMachine(t)
	a, ts1 := setup(t, m, fileStoreURL(t))
	writeRandom(t, a, "big.bin", 5*64<<10+100) // several GHASH chunks
	res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{At: ts1}); err != nil {
		t.Fatal(err)
	}
	vaultBefore := tree(t, b.vault("dev"))
	stateDir := filepath.Join(b.dir, ".git", "vsync")
	stateBefore, err := os.ReadFile(filepath.Join(stateDir, "dev.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	eb, _ := b.app.OpenEnv(b.app.Resolve(""), "dev")
	backupsBefore, _ := backup.List(eb.backupRoot(), eb.ID.Name, "dev")
	e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	good, _, err := e.Store.Get(bg, e.VersionKey(res.TS))
	if err != nil {
		t.Fatal(err)
	}
	n := len(good)
	for _, c := range []struct {
		what string
		bad  func() []byte
	}{
		{"first ciphertext byte", func() []byte { x := bytes.Clone(good); x[rqe1.HeaderSize] ^= 1; return x }},
		{"a chunk edge", func() []byte { x := bytes.Clone(good); x[rqe1.HeaderSize+64<<10] ^= 0x80; return x }},
		{"last ciphertext byte", func() []byte { x := bytes.Clone(good); x[n-rqe1.TagSize-1] ^= 1; return x }},
		{"the tag", func() []byte { x := bytes.Clone(good); x[n-1] ^= 1; return x }},
		{"cut by one byte", func() []byte { return bytes.Clone(good[:n-1]) }},
		{"cut in half", func() []byte { return bytes.Clone(good[:n/2]) }},
	} {
		putObject(t, a, e.VersionKey(res.TS), c.bad())
		_, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		wantCode(t, err, fail.Integrity, "")
		sameTree(t, tree(t, b.vault("dev")), vaultBefore)
		if st, err := os.ReadFile(filepath.Join(stateDir, "dev.state.json")); err != nil || !bytes.Equal(st, stateBefore) {
			t.Fatalf("%s: the sync state changed (%v)", c.what, err)
		}
		if _, err := os.Stat(filepath.Join(stateDir, "dev.pending.json")); !os.IsNotExist(err) {
			t.Fatalf("%s: a pending state is left (%v)", c.what, err)
		}
		if bs, _ := backup.List(eb.backupRoot(), eb.ID.Name, "dev"); len(bs) != len(backupsBefore) {
			t.Fatalf("%s: %d backups, were %d", c.what, len(bs), len(backupsBefore))
		}
		noTempLeft(t, b, c.what)
	}
	putObject(t, a, e.VersionKey(res.TS), good)
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, b.vault("dev")), tree(t, a.vault("dev")))
}
