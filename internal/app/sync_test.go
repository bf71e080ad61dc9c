package app

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/git-vsync/git-vsync/internal/backup"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// setup initialises dev in clone a with two files and pushes them.
func setup(t *testing.T, m *machine, storeURL string) (a *clone, ts string) {
	t.Helper()
	a = m.newClone("a")
	if _, err := a.app.Init(bg, a.app.Resolve(""), "dev", InitOptions{Store: storeURL}); err != nil {
		t.Fatal(err)
	}
	a.write("dev", ".env.dev", "API_TOKEN=s3cr3t-value\n")
	a.write("dev", "tls/server.crt", "CERT")
	res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a, res.TS
}

// bucket returns every object of the env as key → body, the audit log left out
// (it grows with every successful action; the audit tests look at it).
func bucket(t *testing.T, c *clone) map[string]string {
	t.Helper()
	return listBucket(t, c, false)
}

// bucketAll is bucket with the audit log: what a refused command must not change.
func bucketAll(t *testing.T, c *clone) map[string]string {
	t.Helper()
	return listBucket(t, c, true)
}

func listBucket(t *testing.T, c *clone, withAudit bool) map[string]string {
	t.Helper()
	e, err := c.app.OpenEnv(c.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	return storeObjects(t, e.Store, withAudit)
}

// storeObjects returns every object of st as key → body.
func storeObjects(t *testing.T, st store.Store, withAudit bool) map[string]string {
	t.Helper()
	infos, err := st.List(bg, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, in := range infos {
		if !withAudit && strings.HasSuffix(in.Key, "/audit.csv") {
			continue
		}
		body, _, err := st.Get(bg, in.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[in.Key] = string(body)
	}
	return out
}

func putObject(t *testing.T, c *clone, key string, body []byte) {
	t.Helper()
	e, err := c.app.OpenEnv(c.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Put(bg, key, body, store.Cond{}); err != nil {
		t.Fatal(err)
	}
}

func TestPushPullRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, ts := setup(t, m, storeURL)
		objs := bucket(t, a)
		if objs["acme_web/dev/latest"] != ts {
			t.Fatalf("latest = %q, want %q", objs["acme_web/dev/latest"], ts)
		}
		sealed := objs["acme_web/dev/versions/"+ts+".enc"]
		if !strings.HasPrefix(sealed, "RQE1") || strings.Contains(sealed, "s3cr3t") {
			t.Fatalf("version object is not an RQE1 envelope")
		}
		for k := range objs {
			if strings.Contains(k, "probe") {
				t.Fatalf("init left a probe object: %s", k)
			}
		}

		b := m.newClone("b")
		res, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.TS != ts || res.Files != 2 {
			t.Fatalf("pull result %+v", res)
		}
		sameTree(t, tree(t, b.vault("dev")), tree(t, a.vault("dev")))
		fi, _ := os.Stat(filepath.Join(b.vault("dev"), ".env.dev"))
		di, _ := os.Stat(b.vault("dev"))
		if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
			t.Fatalf("modes %v %v", fi.Mode(), di.Mode())
		}

		// Up to date: nothing downloaded, no key needed.
		m.kc.Err = errors.New("keychain must not be asked")
		res, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		m.kc.Err = nil
		if err != nil || !res.UpToDate {
			t.Fatalf("second pull: %+v %v", res, err)
		}

		// A deletion and an edit travel; the deleted file disappears in the other clone.
		if err := os.RemoveAll(filepath.Join(b.vault("dev"), "tls")); err != nil {
			t.Fatal(err)
		}
		b.write("dev", ".env.dev", "API_TOKEN=rotated\n")
		b.write("dev", "empty/", "")
		os.Remove(filepath.Join(b.vault("dev"), "empty"))
		os.Mkdir(filepath.Join(b.vault("dev"), "empty"), 0o700)
		res2, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res2.TS <= ts {
			t.Fatalf("new ts %s not after %s", res2.TS, ts)
		}
		if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, tree(t, a.vault("dev")), map[string]string{".env.dev": "API_TOKEN=rotated\n", "empty/": ""})

		// versions lists both, newest first, with latest and local marks.
		vs, err := a.app.Versions(bg, a.app.Resolve(""), "dev")
		if err != nil || len(vs) != 2 || vs[0].TS != res2.TS || !vs[0].Latest || !vs[0].Local || vs[1].Latest || vs[1].Size == 0 {
			t.Fatalf("versions %+v %v", vs, err)
		}
		// pull --at brings the old one back without moving latest.
		if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{At: ts}); err != nil {
			t.Fatal(err)
		}
		original := map[string]string{".env.dev": "API_TOKEN=s3cr3t-value\n", "tls/": "", "tls/server.crt": "CERT"}
		sameTree(t, tree(t, a.vault("dev")), original)
		if got := bucket(t, a)["acme_web/dev/latest"]; got != res2.TS {
			t.Fatalf("pull --at moved latest to %s", got)
		}
		// Pushing the old version again makes it the newest (no --force needed:
		// this clone has seen the latest version).
		res3, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, tree(t, b.vault("dev")), original)
		if res3.TS <= res2.TS {
			t.Fatalf("republished ts %s not after %s", res3.TS, res2.TS)
		}
	})
}

// TestPushRefusals: every refusal of SPEC §5.2 leaves the bucket as it was.
func TestPushRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, _ := setup(t, m, storeURL)
		b := m.newClone("b")

		// b never synced and the store has a version: refused.
		b.write("dev", ".env.dev", "MINE=1\n")
		before := bucketAll(t, a)
		_, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{})
		wantCode(t, err, fail.Refused, "has version")
		if !strings.Contains(fail.HintOf(err), "git vsync pull dev") {
			t.Fatalf("hint %q", fail.HintOf(err))
		}
		sameTree(t, bucketAll(t, a), before)

		// A missing vault is never pushed.
		c := m.newClone("c")
		if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		before = bucketAll(t, a)
		os.RemoveAll(c.vault("dev"))
		_, err = c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{})
		wantCode(t, err, fail.Refused, "does not exist")
		sameTree(t, bucketAll(t, a), before)

		// A symlink in the vault is refused, naming it.
		if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		before = bucketAll(t, a)
		os.Symlink("/etc/passwd", filepath.Join(c.vault("dev"), "link"))
		_, err = c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{})
		wantCode(t, err, fail.Refused, "link")
		sameTree(t, bucketAll(t, a), before)
		os.Remove(filepath.Join(c.vault("dev"), "link"))

		// --force publishes over the unseen version, which stays in versions/.
		res, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{Force: true})
		if err != nil || !res.Forced {
			t.Fatalf("force push: %+v %v", res, err)
		}
		after := bucketAll(t, a)
		for k, v := range before {
			if strings.Contains(k, "/versions/") && after[k] != v {
				t.Fatalf("force push lost %s", k)
			}
		}
	})
}

// TestConcurrentPushes: of two clones pushing at the same moment exactly one wins,
// the other exits 3, and the bucket holds exactly the winner's new version.
func TestConcurrentPushes(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 3
	}
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, _ := setup(t, m, storeURL)
		b := m.newClone("b")
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		clones := []*clone{a, b}
		for round := 0; round < rounds; round++ {
			before := bucket(t, a)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			results := make([]*PushResult, 2)
			for i, c := range clones {
				c.write("dev", ".env.dev", "ROUND="+string(rune('a'+round))+" BY="+string(rune('0'+i))+"\n")
				wg.Add(1)
				go func(i int, c *clone) {
					defer wg.Done()
					results[i], errs[i] = c.app.Push(bg, c.app.Resolve(""), "dev", PushOptions{})
				}(i, c)
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				if err == nil {
					if winner >= 0 {
						t.Fatalf("round %d: both pushes succeeded", round)
					}
					winner = i
				} else if fail.CodeOf(err) != fail.Refused {
					t.Fatalf("round %d: loser exit %d: %v", round, fail.CodeOf(err), err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no push succeeded: %v / %v", round, errs[0], errs[1])
			}
			after := bucket(t, a)
			if len(after) != len(before)+1 {
				t.Fatalf("round %d: bucket grew by %d objects, want 1 (orphan left?)", round, len(after)-len(before))
			}
			ts := results[winner].TS
			if after["acme_web/dev/latest"] != ts || after["acme_web/dev/versions/"+ts+".enc"] == "" {
				t.Fatalf("round %d: latest=%s, winner ts %s", round, after["acme_web/dev/latest"], ts)
			}
			// Nothing is lost: the loser's edit is still in its vault; it pulls with
			// --force only after we checked, then both are in step again.
			loser := clones[1-winner]
			if got := tree(t, loser.vault("dev"))[".env.dev"]; !strings.Contains(got, "BY="+string(rune('0'+1-winner))) {
				t.Fatalf("round %d: loser's edit vanished: %q", round, got)
			}
			if _, err := loser.app.Pull(bg, loser.app.Resolve(""), "dev", PullOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestPullRefusals: each refusal and failure of SPEC §5.3 keeps the vault as it was.
func TestPullRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, ts1 := setup(t, m, storeURL)
		b := m.newClone("b")
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		a.write("dev", ".env.dev", "V=2\n")
		res2, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ts2 := res2.TS

		// Local edit: refused, vault and bucket untouched (no audit row either).
		b.write("dev", ".env.dev", "LOCAL EDIT\n")
		before := tree(t, b.vault("dev"))
		objsBefore := bucketAll(t, a)
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		wantCode(t, err, fail.Refused, "local changes")
		sameTree(t, tree(t, b.vault("dev")), before)
		sameTree(t, bucketAll(t, a), objsBefore)

		// Tampered bundle: exit 6, vault untouched.
		objs := bucket(t, a)
		good := []byte(objs["acme_web/dev/versions/"+ts2+".enc"])
		bad := bytes.Clone(good)
		bad[len(bad)/2] ^= 1
		putObject(t, a, "acme_web/dev/versions/"+ts2+".enc", bad)
		objsBefore = bucketAll(t, a)
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Force: true})
		wantCode(t, err, fail.Integrity, "does not open")
		sameTree(t, tree(t, b.vault("dev")), before)
		sameTree(t, bucketAll(t, a), objsBefore)
		putObject(t, a, "acme_web/dev/versions/"+ts2+".enc", good)

		// A bundle sealed for another timestamp (replayed under a new name): exit 6.
		putObject(t, a, "acme_web/dev/versions/"+ts2+".enc", []byte(objs["acme_web/dev/versions/"+ts1+".enc"]))
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Force: true})
		wantCode(t, err, fail.Integrity, "corrupt")
		sameTree(t, tree(t, b.vault("dev")), before)
		putObject(t, a, "acme_web/dev/versions/"+ts2+".enc", good)

		// Wrong key: exit 6 with the import hint, vault untouched.
		other, _ := keychain.NewKey()
		m.env["VSYNC_KEY_DEV"] = other
		objsBefore = bucketAll(t, a)
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Force: true})
		delete(m.env, "VSYNC_KEY_DEV")
		wantCode(t, err, fail.Integrity, "does not open")
		sameTree(t, bucketAll(t, a), objsBefore)
		if !strings.Contains(fail.HintOf(err), "import") {
			t.Fatalf("hint %q", fail.HintOf(err))
		}
		sameTree(t, tree(t, b.vault("dev")), before)

		// Forced pull replaces the edit and keeps an encrypted backup.
		res, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Force: true})
		if err != nil || res.Backup == "" || len(res.Discarded) == 0 {
			t.Fatalf("forced pull %+v %v", res, err)
		}
		if raw, _ := os.ReadFile(res.Backup); !bytes.HasPrefix(raw, []byte("RQE1")) || bytes.Contains(raw, []byte("LOCAL EDIT")) {
			t.Fatalf("backup is not encrypted")
		}
		sameTree(t, tree(t, b.vault("dev")), tree(t, a.vault("dev")))

		// Rolled-back pointer: refused unless --at names it.
		putObject(t, a, "acme_web/dev/latest", []byte(ts1))
		before = tree(t, b.vault("dev"))
		objsBefore = bucketAll(t, a)
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		wantCode(t, err, fail.Refused, "went back")
		sameTree(t, bucketAll(t, a), objsBefore)
		if !strings.Contains(fail.HintOf(err), "--at "+ts1) {
			t.Fatalf("hint %q", fail.HintOf(err))
		}
		sameTree(t, tree(t, b.vault("dev")), before)
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{At: ts1}); err != nil {
			t.Fatal(err)
		}
		putObject(t, a, "acme_web/dev/latest", []byte(ts2))

		// Garbage in latest: exit 6.
		putObject(t, a, "acme_web/dev/latest", []byte("<html>oops</html>"))
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		wantCode(t, err, fail.Integrity, "corrupt")
		putObject(t, a, "acme_web/dev/latest", []byte(ts2))

		// latest names a version that is missing: exit 6.
		putObject(t, a, "acme_web/dev/latest", []byte("20300101-000000"))
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		wantCode(t, err, fail.Integrity, "missing")
		putObject(t, a, "acme_web/dev/latest", []byte(ts2))

		// --at of an unknown version: usage error.
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{At: "20000101-000000"})
		wantCode(t, err, fail.Usage, "no version")
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{At: "yesterday"})
		wantCode(t, err, fail.Usage, "invalid --at")
	})
}

// hostileZips are archives a hostile bucket could serve, each to be refused.
func hostileZips(t *testing.T) map[string][]byte {
	mk := func(f func(w *zip.Writer)) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		f(w)
		w.Close()
		return b.Bytes()
	}
	file := func(w *zip.Writer, name, body string) {
		fw, _ := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		fw.Write([]byte(body))
	}
	return map[string][]byte{
		"traversal": mk(func(w *zip.Writer) { file(w, "infra/vault/dev/", ""); file(w, "infra/vault/dev/../../../evil", "x") }),
		"absolute":  mk(func(w *zip.Writer) { file(w, "/tmp/evil", "x") }),
		"backslash": mk(func(w *zip.Writer) { file(w, "infra\\vault\\dev\\x", "x") }),
		"drive":     mk(func(w *zip.Writer) { file(w, "C:/evil", "x") }),
		"symlink": mk(func(w *zip.Writer) {
			h := &zip.FileHeader{Name: "infra/vault/dev/link"}
			h.SetMode(os.ModeSymlink | 0o777)
			fw, _ := w.CreateHeader(h)
			fw.Write([]byte("/etc/passwd"))
		}),
		"device": mk(func(w *zip.Writer) {
			h := &zip.FileHeader{Name: "infra/vault/dev/dev"}
			h.SetMode(os.ModeDevice | 0o600)
			w.CreateHeader(h)
		}),
		"duplicate": mk(func(w *zip.Writer) { file(w, "infra/vault/dev/a", "1"); file(w, "infra/vault/dev/a", "2") }),
		"dot GIT": mk(func(w *zip.Writer) {
			file(w, "infra/vault/dev/.GIT/config", "[core]\n\tfsmonitor = touch /tmp/pwned\n")
		}),
		"gitmodules": mk(func(w *zip.Writer) { file(w, "infra/vault/dev/.gitmodules", "x") }),
		// Only reading the content tells: it must still be refused before the backup.
		"bad crc": mk(func(w *zip.Writer) {
			fw, _ := w.CreateRaw(&zip.FileHeader{Name: "infra/vault/dev/a", Method: zip.Store, CRC32: 12345, CompressedSize64: 4, UncompressedSize64: 4})
			fw.Write([]byte("abcd"))
		}),
		"not a zip": []byte("PK\x03\x04 definitely not a zip"),
	}
}

func TestPullRefusesHostileArchives(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, _ := setup(t, m, storeURL)
		e, err := a.app.OpenEnv(a.app.Resolve(""), "dev")
		if err != nil {
			t.Fatal(err)
		}
		key, _, _, err := e.Key(bg)
		if err != nil {
			t.Fatal(err)
		}
		before := tree(t, a.vault("dev"))
		ts := "20990101-000000"
		for name, z := range hostileZips(t) {
			t.Run(name, func(t *testing.T) {
				sealed, err := rqe1.Seal(key, rqem.Seal(ts, z))
				if err != nil {
					t.Fatal(err)
				}
				putObject(t, a, "acme_web/dev/versions/"+ts+".enc", sealed)
				putObject(t, a, "acme_web/dev/latest", []byte(ts))
				objsBefore := bucketAll(t, a)
				backupsBefore, _ := backup.List(e.ConfigRoot, "acme_web", "dev")
				backupDir := backup.Dir(e.backupRoot(), "acme_web", "dev")
				filesBefore, _ := os.ReadDir(backupDir)
				_, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{})
				wantCode(t, err, fail.Integrity, "")
				if after, _ := backup.List(e.ConfigRoot, "acme_web", "dev"); len(after) != len(backupsBefore) {
					t.Fatalf("a refused pull wrote a backup (%d → %d)", len(backupsBefore), len(after))
				}
				// The backup made meanwhile is dropped, temp file included.
				if after, _ := os.ReadDir(backupDir); len(after) != len(filesBefore) {
					t.Fatalf("a refused pull left files in the backups folder (%d → %d)", len(filesBefore), len(after))
				}
				sameTree(t, bucketAll(t, a), objsBefore)
				sameTree(t, tree(t, a.vault("dev")), before)
				leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(a.vault("dev")), ".*vsync*"))
				if len(leftovers) > 0 {
					t.Fatalf("leftovers beside the vault: %v", leftovers)
				}
			})
		}
		_ = kdf.Iterations
	})
}

// TestStoreDownAndDenied: exit 5, and nothing local changes.
func TestStoreDownAndDenied(t *testing.T) {
	srv := testenv.Versitygw(t)
	m := newMachine(t)
	bucketName := srv.NewBucket(t)
	m.env["AWS_ACCESS_KEY_ID"] = srv.AccessKey
	m.env["AWS_SECRET_ACCESS_KEY"] = srv.SecretKey
	a, _ := setup(t, m, srv.Endpoint+"/"+bucketName)
	a.write("dev", ".env.dev", "EDIT\n")
	before := tree(t, a.vault("dev"))
	objsBefore := bucketAll(t, a)

	cfgPath := filepath.Join(m.ConfigDir(), "acme_web", "env_dev")
	good, _ := os.ReadFile(cfgPath)
	e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")

	e.Config.S3.Endpoint = testenv.DownEndpoint(t)
	if err := e.Config.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	_, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	wantCode(t, err, fail.Unreachable, "")
	_, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{Force: true})
	wantCode(t, err, fail.Unreachable, "")
	sameTree(t, tree(t, a.vault("dev")), before)

	e.Config.S3.Endpoint = srv.Endpoint
	e.Config.S3.SecretAccessKey = "wrong-secret"
	if err := e.Config.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	_, err = a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	wantCode(t, err, fail.Unreachable, "")
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("error leaks the secret: %v", err)
	}
	_, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{Force: true})
	wantCode(t, err, fail.Unreachable, "")
	sameTree(t, tree(t, a.vault("dev")), before)
	if err := os.WriteFile(cfgPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	sameTree(t, bucketAll(t, a), objsBefore)
}

// TestInteropWithInfoZip: what we push, unzip extracts to the same files at
// infra/vault/dev/…; a bundle zipped by Info-ZIP from the repository top and sealed
// per SPEC §4 pulls to identical files.
func TestInteropWithInfoZip(t *testing.T) {
	unzip := testenv.NeedCommand(t, "unzip")
	zipCmd := testenv.NeedCommand(t, "zip")
	m := newMachine(t)
	a, ts := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	key, _, _, err := e.Key(bg)
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := e.Store.Get(bg, e.VersionKey(ts))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := rqe1.Open(key, body)
	if err != nil {
		t.Fatal(err)
	}
	z, err := rqem.Open(pt, ts)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "b.zip"), z, 0o600)
	if o, err := exec.Command(unzip, "-q", filepath.Join(out, "b.zip"), "-d", filepath.Join(out, "x")).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v %s", err, o)
	}
	sameTree(t, tree(t, filepath.Join(out, "x", "infra", "vault", "dev")), tree(t, a.vault("dev")))

	// The other way: a teammate's tool zipped the vault with `zip -r` from the top.
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "infra", "vault", "dev", "nested", "deeper"), 0o700)
	os.MkdirAll(filepath.Join(src, "infra", "vault", "dev", "emptydir"), 0o700)
	os.WriteFile(filepath.Join(src, "infra", "vault", "dev", ".env.dev"), []byte("FROM_TS=1\n"), 0o600)
	os.WriteFile(filepath.Join(src, "infra", "vault", "dev", "nested", "deeper", "k.json"), []byte(`{"k":1}`), 0o600)
	cmd := exec.Command(zipCmd, "-q", "-r", filepath.Join(out, "ts.zip"), "infra/vault/dev")
	cmd.Dir = src
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v %s", err, o)
	}
	tsZip, _ := os.ReadFile(filepath.Join(out, "ts.zip"))
	ts2 := "20990101-000000"
	sealed, _ := rqe1.Seal(key, rqem.Seal(ts2, tsZip))
	putObject(t, a, e.VersionKey(ts2), sealed)
	putObject(t, a, e.LatestKey(), []byte(ts2))
	if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, a.vault("dev")), tree(t, filepath.Join(src, "infra", "vault", "dev")))
}

// TestSameSizeEditRightAfterPull: the stat cache of the up-to-date check never hides
// an edit, even one of the same size made in the same second as the pull.
func TestSameSizeEditRightAfterPull(t *testing.T) {
	m := newMachine(t)
	setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	e, err := b.app.OpenEnv(b.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.State()
	if st.StatTime.IsZero() || (st.Files[0].Stat == "" && runtime.GOOS == "linux") {
		t.Fatalf("pull recorded no stats: %+v", st)
	}
	if _, changes, _ := e.Changes(st); len(changes) != 0 {
		t.Fatalf("fresh pull looks changed: %v", changes)
	}
	p := filepath.Join(b.vault("dev"), ".env.dev")
	old, _ := os.ReadFile(p)
	edited := bytes.ToUpper(old)
	if bytes.Equal(edited, old) || len(edited) != len(old) {
		t.Fatal("test needs a same-size edit")
	}
	if err := os.WriteFile(p, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, changes, _ := e.Changes(st); len(changes) != 1 || changes[0] != "~.env.dev" {
		t.Fatalf("same-size edit unseen: %v", changes)
	}
	_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Refused, "local changes")
}

// TestPushWarnsPastSpecEntries: a bundle of more entries than SPEC §4.4's 10,000
// (which the TypeScript tool enforces) is pushed, with a warning naming the count;
// a smaller one is pushed without it. (The limit is lowered to 4 entries here.)
func TestPushWarnsPastSpecEntries(t *testing.T) {
	defer func(n int) { specEntries = n }(specEntries)
	specEntries = 4
	m := newMachine(t)
	a, _ := setup(t, m, backends[0].store(t, m)) // root, .env.dev, tls/, tls/server.crt: 4 entries
	a.log.Reset()
	a.write("dev", ".env.dev", "API_TOKEN=2\n")
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.log.String(), "TypeScript tool refuses") {
		t.Fatalf("warned at 4 entries with a limit of 4: %s", a.log)
	}
	a.write("dev", "b", "B")
	res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil || res.TS == "" {
		t.Fatalf("push past the spec's entry limit: %+v %v", res, err)
	}
	if !strings.Contains(a.log.String(), "holds 5 entries; the TypeScript tool refuses bundles of more than 4") {
		t.Fatalf("no warning: %s", a.log)
	}
}
