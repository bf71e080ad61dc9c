package vault

import (
	"os"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestIgnoreMatch(t *testing.T) {
	ig, err := ParseIgnore([]byte("# c\n\nscratch/\n/build.txt\n*.bak\nconf/*.json\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rel  string
		dir  bool
		want bool
	}{
		{".env.dev.local", false, true}, {"sub/x.local", false, true}, {".env.dev", false, false},
		{".env.local", false, true}, {".vsyncignore", false, false},
		{"scratch", true, true}, {"scratch", false, false}, {"a/scratch", true, true},
		{"build.txt", false, true}, {"sub/build.txt", false, false},
		{"x.bak", false, true}, {"d/x.bak", false, true},
		{"conf/a.json", false, true}, {"x/conf/a.json", false, false},
	} {
		if got := ig.Match(c.rel, c.dir); got != c.want {
			t.Errorf("Match(%q, dir=%v) = %v", c.rel, c.dir, got)
		}
	}
	for _, bad := range []string{"ok\n[bad\n", "!keep.local\n", "**/x\n", strings.Repeat("x", maxIgnoreBytes+1)} {
		if _, err := ParseIgnore([]byte(bad)); err == nil {
			t.Errorf("accepted %.20q", bad)
		}
	}
}

// Listing leaves out local-only entries and folders that hold only them; a
// special file that is local-only is skipped, not refused.
func TestListLeavesOutLocalOnly(t *testing.T) {
	dir := t.TempDir()
	for p, body := range map[string]string{
		".env.dev": "A=1", ".env.dev.local": "L=1", "deep/only/x.local": "x", "keep/a.txt": "a", "keep/b.local": "b",
		".vsyncignore": "tmp/\n", "tmp/t.txt": "t",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o700)
		os.WriteFile(filepath.Join(dir, p), []byte(body), 0o600)
	}
	if runtime.GOOS != "windows" {
		os.Symlink("/etc/passwd", filepath.Join(dir, "link.local"))
	}
	files, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	if strings.Join(got, " ") != ".env.dev .vsyncignore keep keep/a.txt" {
		t.Fatalf("listed %v", got)
	}
	lo, err := LocalOnly(dir)
	if err != nil || strings.Join(lo, " ") != ".env.dev.local deep/only/x.local keep/b.local link.local tmp" {
		t.Fatalf("local-only %v %v", lo, err)
	}
	// A pull's stage gets them back, the symlink made again.
	stage := t.TempDir()
	if err := CopyLocalOnly(dir, stage); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(stage, "deep", "only", "x.local")); string(b) != "x" {
		t.Fatal("deep local-only file not copied")
	}
	if b, _ := os.ReadFile(filepath.Join(stage, "tmp", "t.txt")); string(b) != "t" {
		t.Fatal("local-only folder not copied")
	}
	if runtime.GOOS != "windows" {
		if l, err := os.Readlink(filepath.Join(stage, "link.local")); err != nil || l != "/etc/passwd" {
			t.Fatalf("symlink %q %v", l, err)
		}
	}
	// .vsyncignore must be a regular file.
	if runtime.GOOS != "windows" {
		os.Remove(filepath.Join(dir, IgnoreFile))
		os.Symlink("/etc/hostname", filepath.Join(dir, IgnoreFile))
		if _, err := Scan(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("symlinked %s: %v", IgnoreFile, err)
		}
	}
}

func FuzzParseIgnore(f *testing.F) {
	f.Add([]byte("scratch/\n/build.txt\n*.bak\n"), "a/b.bak")
	f.Add([]byte("[\n"), "x")
	f.Fuzz(func(t *testing.T, data []byte, rel string) {
		ig, err := ParseIgnore(data)
		if err != nil {
			return
		}
		ig.Match(rel, false)
		ig.Match(rel, true)
		ig.Filter([]File{{Path: rel}, {Path: rel + "/x"}})
	})
}

// TestSimplePatternsMatchAsPathMatch: the patterns matched without path.Match
// (one * at most, nothing else special) answer as path.Match does.
func TestSimplePatternsMatchAsPathMatch(t *testing.T) {
	globs := []string{"*.local", ".env.*.local", "*", "a*", "*a", "secret", "a*a", "x/*.key", "*/y", "]", ""}
	names := []string{"", "a", "aa", "a.local", ".local", "x.local.bak", ".env.dev.local", ".env..local", ".env.local",
		"secret", "secrets", "x/a.key", "x/y/a.key", "x/.key", "b/y", "y", "a/a", "]", "a/b.local"}
	for _, g := range globs {
		p := pattern{glob: g}
		p.simplify()
		if !p.simple {
			t.Fatalf("%q is not simple", g)
		}
		for _, n := range names {
			want, _ := path.Match(g, n)
			if got := p.match(n); got != want {
				t.Errorf("match(%q, %q) = %v, path.Match says %v", g, n, got, want)
			}
		}
	}
	for _, g := range []string{"a?", "[ab]", "a*b*", `a\*`} {
		p := pattern{glob: g}
		if p.simplify(); p.simple {
			t.Errorf("%q taken as simple", g)
		}
	}
}

// Paths that start with a slash, or are empty, end Filter and Match like any
// other: the walk up their folders stops at "/" as at "." (path.Dir("/") is "/",
// and a loop that stopped only at "." ran forever; found by FuzzParseIgnore).
func TestFilterOddPathsEnd(t *testing.T) {
	ig, err := ParseIgnore([]byte("secret/\n*.bak\n"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []File, 1)
	go func() {
		done <- ig.Filter([]File{{Path: ""}, {Path: "/x"}, {Path: "/"}, {Path: "//a/b.bak"}, {Path: "/secret/k", Dir: false}, {Path: "a/b"}})
	}()
	select {
	case got := <-done:
		var paths []string
		for _, f := range got {
			paths = append(paths, f.Path)
		}
		if want := []string{"", "/x", "/", "a/b"}; !reflect.DeepEqual(paths, want) {
			t.Errorf("Filter kept %q, want %q", paths, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Filter of paths with a leading slash did not end")
	}
	var seen []string
	for q := range parents("/a/b/c") {
		seen = append(seen, q)
	}
	if want := []string{"/a/b", "/a"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("parents(/a/b/c) = %q, want %q", seen, want)
	}
}
