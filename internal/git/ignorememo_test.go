package git

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// IgnoresRemembered answers like git and asks git again after any change to what
// git reads: every .gitignore above the folder, info/exclude, the excludes file,
// the config files, the index (a file tracked inside the folder), the variables
// git sees. Only "ignored" is remembered, only once the inputs have settled, and
// nothing is remembered where config includes or `git -c` are in play.
func TestIgnoresRemembered(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("answers are remembered where /etc/gitconfig is the system file (configFiles) and files have change times")
	}
	w := newWorld(t)
	top := w.repo(t)
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	// A git on PATH that logs each check-ignore it answers.
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "calls")
	script := "#!/bin/sh\ncase \"$1\" in check-ignore) echo x >> '" + log + "';; esac\nexec '" + gitBin + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	old := memoSettle
	memoSettle = 0
	defer func() { memoSettle = old }()

	write := func(p, s string) { writeFile(t, p, s) }
	appendTo := func(p, s string) {
		t.Helper()
		b, _ := os.ReadFile(p)
		write(p, string(b)+s)
	}
	calls := func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "x")
	}
	memo := filepath.Join(top, ".git", "vsync", "ignored.memo")
	const vault = "infra/vault/dev/"
	ask := func(want bool, asksGit bool) {
		t.Helper()
		before := calls()
		got, err := w.discover(t, top).IgnoresRemembered(t.Context(), vault, memo)
		if err != nil || got != want {
			t.Fatalf("IgnoresRemembered = %v, %v; want %v", got, err, want)
		}
		if asked := calls() > before; asked != asksGit {
			t.Fatalf("git asked: %v, want %v", asked, asksGit)
		}
	}
	if err := os.MkdirAll(filepath.Join(top, "infra", "vault", "dev"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(top, ".gitignore"), "/infra/vault/\n")
	ask(true, true)
	ask(true, false)

	// Each input changed in a way that keeps the answer: git is asked once more.
	xdgIgnore := filepath.Join(w.vars["XDG_CONFIG_HOME"], "git", "ignore")
	if w.vars["XDG_CONFIG_HOME"] == "" {
		xdgIgnore = filepath.Join(w.home, ".config", "git", "ignore")
	}
	for name, change := range map[string]func(){
		".gitignore":        func() { appendTo(filepath.Join(top, ".gitignore"), "# a\n") },
		"infra/.gitignore":  func() { write(filepath.Join(top, "infra", ".gitignore"), "# b\n") },
		"vault/.gitignore":  func() { write(filepath.Join(top, "infra", "vault", ".gitignore"), "# c\n") },
		"info/exclude":      func() { appendTo(filepath.Join(top, ".git", "info", "exclude"), "# d\n") },
		"excludes file":     func() { write(xdgIgnore, "# e\n") },
		"global config":     func() { write(filepath.Join(w.home, ".gitconfig"), "[user]\n\tname = x\n") },
		"repository config": func() { w.git(t, top, "config", "user.email", "x@example.com") },
		"index":             func() { write(filepath.Join(top, "f"), "f"); w.git(t, top, "add", "f") },
		"variables":         func() { t.Setenv("GIT_TRACE2_EVENT_NESTING", "3") },
		"git binary":        func() { appendTo(filepath.Join(bin, "git"), "# f\n") },
	} {
		change()
		t.Run(name, func(t *testing.T) { ask(true, true); ask(true, false) })
	}

	// Changes that make git answer "not ignored" are seen, and that answer is not kept.
	write(filepath.Join(top, ".gitignore"), "/other/\n")
	ask(false, true)
	ask(false, true)
	write(filepath.Join(top, ".gitignore"), "/infra/vault/\n")
	ask(true, true)
	write(filepath.Join(top, "infra", "vault", "dev", "x"), "x")
	w.git(t, top, "add", "-f", "infra/vault/dev/x")
	ask(false, true)
	w.git(t, top, "rm", "-q", "--cached", "infra/vault/dev/x")
	ask(true, true)
	write(xdgIgnore, "/infra/vault/\n")
	write(filepath.Join(top, ".gitignore"), "")
	ask(true, true)
	ask(true, false)
	write(xdgIgnore, "")
	ask(false, true)
	write(xdgIgnore, "/infra/vault/\n")
	ask(true, true)

	// Inputs it cannot know: asked every time.
	t.Run("git -c", func(t *testing.T) {
		w.vars["GIT_CONFIG_PARAMETERS"] = "'core.x'='1'"
		defer delete(w.vars, "GIT_CONFIG_PARAMETERS")
		ask(true, true)
		ask(true, true)
	})
	t.Run("include", func(t *testing.T) {
		w.git(t, top, "config", "include.path", filepath.Join(w.home, "inc"))
		defer w.git(t, top, "config", "--unset", "include.path")
		ask(true, true)
		ask(true, true)
	})
	t.Run("not settled", func(t *testing.T) {
		memoSettle = time.Hour
		defer func() { memoSettle = 0 }()
		appendTo(filepath.Join(top, ".gitignore"), "# g\n")
		ask(true, true)
		ask(true, true)
	})
	// A memo that is not a regular file, or holds garbage, only means asking git.
	t.Run("bad memo", func(t *testing.T) {
		write(memo, strings.Repeat("z", 64)+"\n\x00garbage")
		ask(true, true)
		ask(true, false)
		os.Remove(memo)
		if err := os.Mkdir(memo, 0o700); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(memo)
		ask(true, true)
		ask(true, true)
	})
}
