package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// twoTeammates sets up dev on machine m (clone a) with envText and a certificate,
// and a teammate machine (clone b) that imported a share and pulled it.
func twoTeammates(t *testing.T, m *machine, storeURL, envText string) (a, b *clone) {
	t.Helper()
	a = m.newClone("a")
	if _, err := a.app.Init(bg, a.app.Resolve(""), "dev", InitOptions{Store: storeURL, NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	a.write("dev", ".env.dev", envText)
	a.write("dev", "tls/server.crt", "CERT-1")
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	b = teammate(t, m).newClone("b")
	handShare(t, a, b, false)
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

const mergeBase = `# shared settings
export API_URL=https://api.example.com
API_TOKEN=tok-base
DB_PASSWORD="pw-base"
OLD_FLAG=1
`

// Issue 10.2: two teammates edit different keys of the same dotenv file and
// different files; pull --merge keeps both, push publishes them, and push's
// refusal names pull --merge (no loop).
func TestPullMergeKeyByKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, b := twoTeammates(t, m, storeURL, mergeBase)

		// a: changes API_TOKEN, adds A_ONLY, adds a file; pushes.
		a.write("dev", ".env.dev", strings.Replace(mergeBase, "tok-base", "tok-a", 1)+"A_ONLY=from-a\n")
		a.write("dev", "a.txt", "from a")
		if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
			t.Fatal(err)
		}
		// b: changes DB_PASSWORD, deletes OLD_FLAG, adds a comment, edits the cert.
		bEnv := "# shared settings\n# b's note\nexport API_URL=https://api.example.com\nAPI_TOKEN=tok-base\nDB_PASSWORD=\"pw-b\"\n"
		b.write("dev", ".env.dev", bEnv)
		b.write("dev", "tls/server.crt", "CERT-B")

		_, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{})
		wantCode(t, err, fail.Refused, "has not pulled")
		if !strings.Contains(fail.HintOf(err), "git vsync pull dev --merge") {
			t.Fatalf("push hint: %s", fail.HintOf(err))
		}
		_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
		wantCode(t, err, fail.Refused, "local changes")
		if !strings.Contains(fail.HintOf(err), "git vsync pull dev --merge") {
			t.Fatalf("pull hint: %s", fail.HintOf(err))
		}

		res, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Merge: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Merge == nil || strings.Join(res.Merge.Theirs, " ") != "+a.txt" ||
			strings.Join(res.Merge.Keys, " ") != ".env.dev: API_TOKEN .env.dev: A_ONLY" {
			t.Fatalf("merge report: %+v", res.Merge)
		}
		want := "# shared settings\n# b's note\nexport API_URL=https://api.example.com\nAPI_TOKEN=tok-a\nDB_PASSWORD=\"pw-b\"\nA_ONLY=from-a\n"
		got := tree(t, b.vault("dev"))
		if got[".env.dev"] != want || got["tls/server.crt"] != "CERT-B" || got["a.txt"] != "from a" {
			t.Fatalf("merged vault:\n%q\n%v", got[".env.dev"], got)
		}
		// The merge is local changes on top of a's version: status says so, push publishes.
		if _, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, tree(t, a.vault("dev")), got)

		// --merge without local edits is a plain pull; with nothing newer it keeps the edits.
		a.write("dev", "a.txt", "again")
		res, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{Merge: true})
		if err != nil || !res.KeptEdits {
			t.Fatalf("%+v %v", res, err)
		}
	})
}

// Issue 10.2: both sides changed the same key (and the same file) differently:
// exit 3 names them, never their values, and nothing changes.
func TestPullMergeConflict(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, b := twoTeammates(t, m, storeURL, mergeBase)
		a.write("dev", ".env.dev", strings.Replace(mergeBase, "tok-base", "tok-a", 1))
		a.write("dev", "tls/server.crt", "CERT-A")
		if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
			t.Fatal(err)
		}
		b.write("dev", ".env.dev", strings.Replace(strings.Replace(mergeBase, "tok-base", "tok-b", 1), "pw-base", "pw-b", 1))
		b.write("dev", "tls/server.crt", "CERT-B")
		before := tree(t, b.vault("dev"))
		stBefore, _ := os.ReadFile(filepath.Join(b.dir, ".git", "vsync", "dev.state.json"))
		bucketBefore := bucketAll(t, a)

		_, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Merge: true})
		wantCode(t, err, fail.Refused, "both changed .env.dev (API_TOKEN), tls/server.crt; nothing was changed")
		for _, secret := range []string{"tok-a", "tok-b", "CERT-A", "pw-b"} {
			if strings.Contains(err.Error(), secret) || strings.Contains(fail.HintOf(err), secret) {
				t.Fatalf("the conflict message shows a value: %v", err)
			}
		}
		sameTree(t, tree(t, b.vault("dev")), before)
		stAfter, _ := os.ReadFile(filepath.Join(b.dir, ".git", "vsync", "dev.state.json"))
		if string(stAfter) != string(stBefore) {
			t.Fatal("a refused merge changed the sync state")
		}
		sameTree(t, bucketAll(t, a), bucketBefore)

		// diff --remote names the keys, values only when asked.
		d, err := b.app.Diff(bg, b.app.Resolve(""), "dev", DiffOptions{Remote: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Files) != 2 || d.Files[0].Path != ".env.dev" || len(d.Files[0].Keys) != 2 ||
			d.Files[0].Keys[0].Key != "API_TOKEN" || d.Files[0].Keys[1].Key != "DB_PASSWORD" || d.Files[0].Keys[0].Old != nil {
			t.Fatalf("diff --remote: %+v", d.Files)
		}
	})
}

// Issue 10.3: diff against the last synced version, against latest, and between
// two versions; keys of dotenv files; values only with ShowValues.
func TestDiff(t *testing.T) {
	m := newMachine(t)
	store := "file://" + filepath.ToSlash(t.TempDir())
	a := m.newClone("a")
	if _, err := a.app.Init(bg, a.app.Resolve(""), "dev", InitOptions{Store: store, NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	a.write("dev", ".env.dev", "A=1\nB=2\n# c\nC=3\n")
	a.write("dev", "gone.txt", "x")
	r1, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.app.Diff(bg, a.app.Resolve(""), "dev", DiffOptions{})
	if err != nil || len(d.Files) != 0 || d.From != r1.TS || d.To != LocalLabel {
		t.Fatalf("clean diff: %+v %v", d, err)
	}
	a.write("dev", ".env.dev", "A=1\nB=22\n# c changed\nC=3\nD=4\n")
	os.Remove(filepath.Join(a.vault("dev"), "gone.txt"))
	a.write("dev", "new/cert.pem", "PEM")
	a.write("dev", ".env.test", "T=1\n")
	d, err = a.app.Diff(bg, a.app.Resolve(""), "dev", DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range d.Files {
		lines = append(lines, f.Change+" "+f.Path)
		for _, k := range f.Keys {
			if k.Old != nil || k.New != nil {
				t.Fatalf("values without ShowValues: %+v", k)
			}
			lines = append(lines, "  "+k.Change+" "+k.Key)
		}
	}
	want := "changed .env.dev|  changed B|  added D|added .env.test|  added T|removed gone.txt|added new/cert.pem"
	if got := strings.Join(lines, "|"); got != want {
		t.Fatalf("diff:\n got %s\nwant %s", got, want)
	}
	r2, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err = a.app.Diff(bg, a.app.Resolve(""), "dev", DiffOptions{From: r1.TS, To: r2.TS, ShowValues: true})
	if err != nil {
		t.Fatal(err)
	}
	k := d.Files[0].Keys[0]
	if d.From != r1.TS || d.To != r2.TS || k.Key != "B" || *k.Old != "2" || *k.New != "22" || k.DiffLine() != "B=2 → 22" {
		t.Fatalf("two versions: %+v %+v", d, k)
	}
	// --remote when in step: nothing differs.
	if d, err = a.app.Diff(bg, a.app.Resolve(""), "dev", DiffOptions{Remote: true}); err != nil || len(d.Files) != 0 {
		t.Fatalf("%+v %v", d, err)
	}
	_, err = a.app.Diff(bg, a.app.Resolve(""), "dev", DiffOptions{From: "2026", To: r2.TS})
	wantCode(t, err, fail.Usage, "invalid version")
}
