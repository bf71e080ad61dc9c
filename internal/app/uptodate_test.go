package app

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// TestUpToDateCheckOfManyFiles: a pulled vault of several hundred files (stated
// in chunks by several goroutines, relative to their folders) is clean to status,
// and then every kind of edit shows: a same-size rewrite that even restores the
// modification time, a file added, one removed, an empty folder added, a file
// turned into a folder.
func TestUpToDateCheckOfManyFiles(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	for i := range 600 {
		a.write("dev", fmt.Sprintf("d%d/f%03d", i%2, i), fmt.Sprintf("v%03d", i))
	}
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	changed := func() []string {
		t.Helper()
		rep, err := b.app.Status(bg, b.app.Resolve(""), false)
		if err != nil || len(rep.Envs) != 1 || rep.Envs[0].Clean == nil {
			t.Fatalf("status: %+v %v", rep, err)
		}
		if *rep.Envs[0].Clean != (len(rep.Envs[0].Changed) == 0) {
			t.Fatalf("clean %v with changes %v", *rep.Envs[0].Clean, rep.Envs[0].Changed)
		}
		return rep.Envs[0].Changed
	}
	if c := changed(); len(c) != 0 {
		t.Fatalf("a fresh pull looks changed: %v", c)
	}
	v := b.vault("dev")
	same := filepath.Join(v, "d1", "f599")
	fi, err := os.Stat(same)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(same, []byte("V599"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(same, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if c := changed(); !reflect.DeepEqual(c, []string{"~d1/f599"}) {
		t.Fatalf("a same-size rewrite with its old modification time: changes %v", c)
	}
	b.write("dev", "d0/new", "n")
	if err := os.Remove(filepath.Join(v, "d0", "f300")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(v, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(v, "d1", "f001")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(v, "d1", "f001"), 0o700); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour) // dates do not hide any of it
	for _, p := range []string{"d0/new", "empty", "d1/f001"} {
		os.Chtimes(filepath.Join(v, p), past, past)
	}
	want := []string{"+d0/new", "+empty/", "~d1/f001", "~d1/f599", "-d0/f300"}
	if c := changed(); !reflect.DeepEqual(c, want) {
		t.Fatalf("changes %v, want %v", c, want)
	}
}

// TestUpToDateCheckByStatDigest: the state of a pulled vault large enough for
// LoadHead is read without its files, and an unchanged vault is found clean by
// its stat digest alone (the state stays Partial); a pull that finds it up to
// date and records a newer `latest` keeps every file of the state; and a
// same-size rewrite that restores the modification time, a file added and one
// removed are found by reading the files, as before.
func TestUpToDateCheckByStatDigest(t *testing.T) {
	m := newMachine(t)
	a, _ := setup(t, m, "file://"+filepath.ToSlash(t.TempDir())+"#team")
	for i := range 150 {
		a.write("dev", fmt.Sprintf("d%d/f%03d", i%3, i), fmt.Sprintf("v%03d", i))
	}
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	b := m.newClone("b")
	res, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := b.app.OpenEnv(b.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	check := func() (*state.State, []string) {
		t.Helper()
		listing := vault.StartListing(e.VaultDir)
		st, err := e.StateSettled()
		if err != nil || st == nil || !st.Partial() {
			t.Fatalf("the state of %d files was read whole (%v)", 150, err)
		}
		st, changes, err := e.changesListed(listing, st)
		if err != nil {
			t.Fatal(err)
		}
		return st, changes
	}
	if st, c := check(); len(c) != 0 || !st.Partial() {
		t.Fatalf("an unchanged vault: changes %v, files read %v", c, !st.Partial())
	}
	if rep, err := b.app.Status(bg, b.app.Resolve(""), false); err != nil || !*rep.Envs[0].Clean || *rep.Envs[0].LocalTS != res.TS {
		t.Fatalf("status: %+v %v", rep, err)
	}

	// A state that knew of no newer `latest` (Seen empty): the up-to-date pull
	// records it, and the state keeps its files.
	full, err := e.State()
	if err != nil {
		t.Fatal(err)
	}
	full.Seen = ""
	if err := state.Save(e.Repo.StateDir(), full); err != nil {
		t.Fatal(err)
	}
	if pr, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil || !pr.UpToDate {
		t.Fatalf("pull: %+v %v", pr, err)
	}
	after, err := e.State()
	if err != nil || after.Seen != res.TS || !reflect.DeepEqual(after.Files, full.Files) || after.StatDigest != full.StatDigest {
		t.Fatalf("after an up-to-date pull: seen %q, %d files of %d (%v)", after.Seen, len(after.Files), len(full.Files), err)
	}

	v := b.vault("dev")
	same := filepath.Join(v, "d1", "f100")
	fi, err := os.Stat(same)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a change time of its own, whatever the clock's tick
	if err := os.WriteFile(same, []byte("V100"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(same, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if st, c := check(); !reflect.DeepEqual(c, []string{"~d1/f100"}) || st.Partial() {
		t.Fatalf("a same-size rewrite with its old modification time: changes %v (files read %v)", c, !st.Partial())
	}
	b.write("dev", "d0/new", "n")
	if err := os.Remove(filepath.Join(v, "d2", "f002")); err != nil {
		t.Fatal(err)
	}
	want := []string{"+d0/new", "~d1/f100", "-d2/f002"}
	if _, c := check(); !reflect.DeepEqual(c, want) {
		t.Fatalf("changes %v, want %v", c, want)
	}
}
