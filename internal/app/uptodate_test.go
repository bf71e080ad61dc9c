package app

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
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
