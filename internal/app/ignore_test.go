package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 10.10: local-only files (.vsyncignore, default *.local and .env.*.local)
// are never pushed, never deleted or replaced by a pull (plain, forced or merge),
// never an edit, and status lists them.
func TestLocalOnlyFiles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, b := twoTeammates(t, m, storeURL, "API=1\nDB=1\n")
		a.write("dev", ".env.dev.local", "MINE=a\n")
		a.write("dev", "notes.local", "a's notes")
		a.write("dev", ".vsyncignore", "# team rules\nscratch/\n/build.txt\n")
		a.write("dev", "scratch/tmp.txt", "x")
		a.write("dev", "build.txt", "x")
		a.write("dev", "sub/build.txt", "kept: the pattern is anchored")
		res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Files != 4 { // .env.dev, tls/server.crt, .vsyncignore, sub/build.txt
			t.Fatalf("pushed %d files", res.Files)
		}
		st, err := a.app.Status(bg, a.app.Resolve(""), false)
		if err != nil {
			t.Fatal(err)
		}
		es := st.Envs[0]
		if !*es.Clean || strings.Join(es.LocalOnly, " ") != ".env.dev.local build.txt notes.local scratch" {
			t.Fatalf("status: clean=%v local-only=%v changed=%v", *es.Clean, es.LocalOnly, es.Changed)
		}
		// Editing a local-only file is no edit.
		a.write("dev", ".env.dev.local", "MINE=a2\n")
		if res, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil || !res.Unchanged {
			t.Fatalf("%+v %v", res, err)
		}

		// b: its own local-only file survives a pull that deletes files and a forced pull.
		b.write("dev", ".env.dev.local", "MINE=b\n")
		b.write("dev", "deep/dir/x.local", "b deep")
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
			t.Fatal(err)
		}
		got := tree(t, b.vault("dev"))
		if got[".env.dev.local"] != "MINE=b\n" || got["deep/dir/x.local"] != "b deep" || got["notes.local"] != "" || got["sub/build.txt"] == "" {
			t.Fatalf("b after pull: %v", keys(got))
		}
		if _, ok := got["scratch/"]; ok {
			t.Fatal("a local-only folder travelled")
		}
		if st, err := b.app.Status(bg, b.app.Resolve(""), false); err != nil || !*st.Envs[0].Clean || len(st.Envs[0].LocalOnly) != 2 {
			t.Fatalf("b after pull: %+v %v", st.Envs, err)
		}
		b.write("dev", ".env.dev", "API=b\nDB=1\n")
		a.write("dev", ".env.dev", "API=1\nDB=a\n")
		if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Merge: true}); err != nil {
			t.Fatal(err)
		}
		got = tree(t, b.vault("dev"))
		if got[".env.dev"] != "API=b\nDB=a\n" || got[".env.dev.local"] != "MINE=b\n" || got["deep/dir/x.local"] != "b deep" {
			t.Fatalf("b after merge: %q %v", got[".env.dev"], keys(got))
		}
		if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		if got = tree(t, b.vault("dev")); got[".env.dev.local"] != "MINE=b\n" {
			t.Fatalf("b after pull --force: %v", keys(got))
		}
		// A bad pattern is an error naming the line, not a silent push of everything.
		a.write("dev", ".vsyncignore", "ok\n[bad\n")
		_, err = a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
		if err == nil || !strings.Contains(err.Error(), ".vsyncignore line 2") {
			t.Fatalf("bad pattern: %v", err)
		}
		os.Remove(filepath.Join(a.vault("dev"), ".vsyncignore"))
	})
}
