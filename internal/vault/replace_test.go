package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

var (
	oldTree = map[string]string{".env.dev": "OLD=1\n", "tls/a.crt": "old-a", "tls/b.crt": "old-b", "only-old": "o", "emptyold/": "/"}
	newTree = map[string]string{".env.dev": "NEW=2\n", "tls/a.crt": "new-a", "tls/b.crt": "new-b", "only-new": "n", "emptynew/": "/"}
)

func treeFiles(t *testing.T, tree map[string]string) []File {
	t.Helper()
	dir := t.TempDir()
	testenv.WriteTree(t, dir, tree)
	files, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// parentNames lists the parent folder, to check that no leftovers remain.
func parentNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// fillPartial writes the new tree, stopping after n files when n >= 0.
func fillPartial(t *testing.T, dir string, n int) {
	keys := make([]string, 0, len(newTree))
	for k := range newTree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if n >= 0 {
		keys = keys[:n]
	}
	sub := map[string]string{}
	for _, k := range keys {
		sub[k] = newTree[k]
	}
	testenv.WriteTree(t, dir, sub)
}

// TestCrashAtEveryStep stops a swap after each step (and in the middle of the steps
// that take time), runs Recover, and checks the vault is exactly the old or the new
// content, which one matching the commit point, and nothing is left beside it.
func TestCrashAtEveryStep(t *testing.T) {
	oldFiles := treeFiles(t, oldTree)
	newFiles := treeFiles(t, newTree)
	type stepFn func(t *testing.T, s *swap)
	steps := []struct {
		name string
		run  stepFn
	}{
		{"fill-partial", func(t *testing.T, s *swap) { fillPartial(t, s.stage, 2) }},
		{"fill-complete", func(t *testing.T, s *swap) { fillPartial(t, s.stage, -1) }},
		{"retire", func(t *testing.T, s *swap) { must(t, s.retire()) }},
		{"install", func(t *testing.T, s *swap) { must(t, s.install()) }},
		{"trash", func(t *testing.T, s *swap) { must(t, s.trashOld()) }},
		{"remove-partial", func(t *testing.T, s *swap) {
			if s.hadVault {
				must(t, os.RemoveAll(filepath.Join(s.trash, "tls")))
			}
		}},
		{"remove", func(t *testing.T, s *swap) { must(t, s.removeTrash()) }},
	}
	const commit = 4 // steps[:commit] done => old; more => new
	for _, hadVault := range []bool{true, false} {
		for stop := 0; stop <= len(steps); stop++ {
			name := "begin"
			if stop > 0 {
				name = steps[stop-1].name
			}
			if !hadVault {
				name = "first-" + name
			}
			t.Run(name, func(t *testing.T) {
				parent := filepath.Join(t.TempDir(), "infra", "vault")
				vault := filepath.Join(parent, "dev")
				if hadVault {
					testenv.WriteTree(t, vault, oldTree)
				}
				s, err := begin(vault)
				if err != nil {
					t.Fatal(err)
				}
				for _, st := range steps[:stop] {
					st.run(t, s)
				}
				// The process dies here. Next command:
				for range 2 { // Recover is idempotent
					if err := Recover(vault, nil); err != nil {
						t.Fatal(err)
					}
				}
				got, err := Scan(vault)
				switch {
				case stop < commit && !hadVault:
					if !errors.Is(err, fs.ErrNotExist) {
						t.Fatalf("want no vault (the old state), got %v %+v", err, got)
					}
				case stop < commit:
					if err != nil || !reflect.DeepEqual(got, oldFiles) {
						t.Fatalf("want the old vault, got %v %+v", err, got)
					}
				default:
					if err != nil || !reflect.DeepEqual(got, newFiles) {
						t.Fatalf("want the new vault, got %v %+v", err, got)
					}
				}
				wantNames := []string{"dev"}
				if stop < commit && !hadVault {
					wantNames = nil
				}
				if names := parentNames(t, parent); !reflect.DeepEqual(names, wantNames) {
					t.Fatalf("leftovers beside the vault: %q", names)
				}
			})
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestReplace(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "a", "b")
	vault := filepath.Join(parent, "dev")
	// First replacement creates the vault and its parents (0700).
	must(t, Replace(vault, func(stage string) error {
		fi, err := os.Stat(stage)
		if err != nil {
			return err
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("stage mode %v", fi.Mode().Perm())
		}
		testenv.WriteTree(t, stage, oldTree)
		return nil
	}))
	if fi, err := os.Stat(parent); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("parent not created 0700: %v %v", err, fi.Mode())
	}
	got, err := Scan(vault)
	if err != nil || !reflect.DeepEqual(got, treeFiles(t, oldTree)) {
		t.Fatalf("after first Replace: %v %+v", err, got)
	}
	// A failing fill leaves the vault as it was and removes the stage.
	boom := errors.New("boom")
	err = Replace(vault, func(stage string) error {
		fillPartial(t, stage, 3)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	got, _ = Scan(vault)
	if !reflect.DeepEqual(got, treeFiles(t, oldTree)) {
		t.Fatalf("vault changed by a failed Replace: %+v", got)
	}
	if names := parentNames(t, parent); !reflect.DeepEqual(names, []string{"dev"}) {
		t.Fatalf("leftovers: %q", names)
	}
	// A successful one mirrors the new content exactly (files removed remotely go).
	must(t, Replace(vault, func(stage string) error { fillPartial(t, stage, -1); return nil }))
	got, _ = Scan(vault)
	if !reflect.DeepEqual(got, treeFiles(t, newTree)) {
		t.Fatalf("after Replace: %+v", got)
	}
	if names := parentNames(t, parent); !reflect.DeepEqual(names, []string{"dev"}) {
		t.Fatalf("leftovers: %q", names)
	}
}

func TestRecoverNothingToDo(t *testing.T) {
	must(t, Recover(filepath.Join(t.TempDir(), "missing", "dev"), nil))
	parent := t.TempDir()
	testenv.WriteTree(t, parent, map[string]string{"dev/x": "x", ".dev.vsync-other": "keep", ".devx.vsync-old-1/": "/", "dev2/": "/"})
	must(t, Recover(filepath.Join(parent, "dev"), nil))
	want := []string{".dev.vsync-other", ".devx.vsync-old-1", "dev", "dev2"}
	if names := parentNames(t, parent); !reflect.DeepEqual(names, want) {
		t.Fatalf("Recover touched unrelated names: %q", names)
	}
}

func TestRecoverRefusesSeveralOld(t *testing.T) {
	parent := t.TempDir()
	testenv.WriteTree(t, parent, map[string]string{".dev.vsync-old-1/x": "1", ".dev.vsync-old-2/x": "2"})
	err := Recover(filepath.Join(parent, "dev"), nil)
	wantRefused(t, err, "")
	if names := parentNames(t, parent); len(names) != 2 {
		t.Fatalf("Recover changed things while refusing: %q", names)
	}
}

// TestRecoverUndeletableLeftover: a leftover that cannot be removed is reported
// (LeftoverError, naming it) with the vault intact, never a failure that blocks.
func TestRecoverUndeletableLeftover(t *testing.T) {
	parent := t.TempDir()
	vaultDir := filepath.Join(parent, "dev")
	os.MkdirAll(vaultDir, 0o700)
	os.WriteFile(filepath.Join(vaultDir, "a"), []byte("A"), 0o600)
	stuck := filepath.Join(parent, ".dev"+tagTrash+"x1")
	os.MkdirAll(stuck, 0o700)
	old := removeAll
	removeAll = func(p string) error {
		if p == stuck {
			return os.ErrPermission
		}
		return old(p)
	}
	defer func() { removeAll = old }()
	err := Recover(vaultDir, nil)
	var le *LeftoverError
	if !errors.As(err, &le) || len(le.Paths) != 1 || le.Paths[0] != stuck {
		t.Fatalf("want a LeftoverError naming %s, got %v", stuck, err)
	}
	if b, _ := os.ReadFile(filepath.Join(vaultDir, "a")); string(b) != "A" {
		t.Fatal("the vault changed")
	}
}
