package state

import (
	"os"
	"testing"
	"time"
)

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir() + "/vsync"
	if s, err := Load(dir, "dev"); s != nil || err != nil {
		t.Fatalf("absent: %v %v", s, err)
	}
	in := &State{Repo: "r", Env: "dev", TS: "20260101-000000", ETag: `"e"`, Op: "push", Time: time.Unix(1, 0).UTC(),
		Files: []File{{Path: "a", Size: 1, SHA256: "00"}, {Path: "d", Dir: true}}}
	if err := Save(dir, in); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(Path(dir, "dev"))
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes %v %v", fi.Mode(), di.Mode())
	}
	out, err := Load(dir, "dev")
	if err != nil || out.TS != in.TS || len(out.Files) != 2 || !out.Files[1].Dir {
		t.Fatalf("%+v %v", out, err)
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"garbage":   "nope",
		"version":   `{"version":2}`,
		"dup":       `{"version":1,"files":[{"path":"a"},{"path":"a"}]}`,
		"empty":     `{"version":1,"files":[{"path":""}]}`,
		"negative":  `{"version":1,"files":[{"path":"a","size":-1}]}`,
		"wrongtype": `{"version":1,"ts":5}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":1,"ts":"20260101-000000","files":[{"path":"a","size":1,"sha256":"00"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(data)
	})
}

func TestPendingResolve(t *testing.T) {
	dir := t.TempDir()
	old := &State{Env: "dev", TS: "20260101-000000", Files: []File{{Path: "a", Size: 1, SHA256: "01"}}}
	if err := Save(dir, old); err != nil {
		t.Fatal(err)
	}
	next := &State{Env: "dev", TS: "20260102-000000", Files: []File{{Path: "a", Size: 1, SHA256: "02"}, {Path: "d", Dir: true}}}
	list := func(fs ...File) func() ([]File, error) { return func() ([]File, error) { return fs, nil } }

	// The swap happened (the vault holds the new files): the pending state wins.
	if err := SavePending(dir, next); err != nil {
		t.Fatal(err)
	}
	if err := Resolve(dir, "dev", list(File{Path: "d", Dir: true}, File{Path: "a", Size: 1, SHA256: "02"})); err != nil {
		t.Fatal(err)
	}
	if s, _ := Load(dir, "dev"); s.TS != next.TS {
		t.Fatalf("after a completed swap the state is %s", s.TS)
	}

	// The swap did not happen (old files, or edits): the pending state is dropped.
	if err := SavePending(dir, old); err != nil {
		t.Fatal(err)
	}
	if err := Resolve(dir, "dev", list(File{Path: "a", Size: 1, SHA256: "ff"})); err != nil {
		t.Fatal(err)
	}
	if s, _ := Load(dir, "dev"); s.TS != next.TS {
		t.Fatalf("a dropped pending state changed the state to %s", s.TS)
	}
	called := false
	if err := Resolve(dir, "dev", func() ([]File, error) { called = true; return nil, nil }); err != nil || called {
		t.Fatalf("nothing pending: the vault must not be listed (%v)", err)
	}
}
