package git

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// world is a machine (testenv.Machine: a HOME with no system config): what the
// tests' git and Discover see. Tests change vars (the Machine's Env) to steer
// Discover; the tests' own git keeps the machine as it was made.
type world struct {
	home string
	vars map[string]string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	testenv.NeedCommand(t, "git")
	m := testenv.NewMachine(t)
	return &world{home: m.Home, vars: m.Env}
}

func (w *world) getenv(k string) string { return w.vars[k] }

func (w *world) git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "GIT_") && k != "XDG_CONFIG_HOME" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range testenv.MachineEnv(w.home) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// repo makes a repository with one commit under a fresh folder and returns its top.
func (w *world) repo(t *testing.T, initArgs ...string) string {
	t.Helper()
	top := filepath.Join(realPath(t.TempDir()), "top")
	w.git(t, filepath.Dir(top), append([]string{"init", "-q"}, append(initArgs, top)...)...)
	w.git(t, top, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "one")
	return top
}

// writeFile writes s to p, making its folders.
func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *world) discover(t *testing.T, dir string) *Repo {
	t.Helper()
	r, err := Discover(dir, w.getenv)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func check(t *testing.T, r *Repo, top, mainTop, gitDir, common string) {
	t.Helper()
	got := [4]string{r.Top, r.MainTop, r.GitDir, r.CommonDir}
	want := [4]string{top, mainTop, gitDir, common}
	if got != want {
		t.Errorf("Top, MainTop, GitDir, CommonDir =\n %q\nwant\n %q", got, want)
	}
}

func TestDiscover(t *testing.T) {
	w := newWorld(t)
	top := w.repo(t)
	gd := filepath.Join(top, ".git")
	if err := os.MkdirAll(filepath.Join(top, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("subfolder", func(t *testing.T) {
		check(t, w.discover(t, filepath.Join(top, "a", "b")), top, top, gd, gd)
	})
	t.Run("linked worktree", func(t *testing.T) {
		wt := filepath.Join(realPath(t.TempDir()), "wt")
		w.git(t, top, "worktree", "add", "-q", wt)
		r := w.discover(t, wt)
		check(t, r, wt, top, filepath.Join(gd, "worktrees", "wt"), gd)
		if m := r.Main(); m.Top != top || m.GitDir != gd {
			t.Errorf("Main() = %s %s", m.Top, m.GitDir)
		}
	})
	t.Run("GIT_DIR and GIT_WORK_TREE, relative to the folder", func(t *testing.T) {
		out := realPath(t.TempDir())
		w.vars["GIT_DIR"], w.vars["GIT_WORK_TREE"] = filepath.Join("..", filepath.Base(top), ".git"), filepath.Join("..", filepath.Base(top))
		defer func() { delete(w.vars, "GIT_DIR"); delete(w.vars, "GIT_WORK_TREE") }()
		sibling := filepath.Join(filepath.Dir(top), "sibling")
		if err := os.MkdirAll(sibling, 0o755); err != nil {
			t.Fatal(err)
		}
		check(t, w.discover(t, sibling), top, top, gd, gd)
		// GIT_DIR alone: the folder is the top, as for git.
		delete(w.vars, "GIT_WORK_TREE")
		w.vars["GIT_DIR"] = gd
		check(t, w.discover(t, out), out, out, gd, gd)
	})
	t.Run("separate git dir", func(t *testing.T) {
		sep := filepath.Join(realPath(t.TempDir()), "sep.git")
		stop := w.repo(t, "--separate-git-dir="+sep)
		check(t, w.discover(t, stop), stop, stop, sep, sep)
		// A linked work tree of it: git records no main work tree, so its vaults
		// stay in it.
		wt := filepath.Join(realPath(t.TempDir()), "wt")
		w.git(t, stop, "worktree", "add", "-q", wt)
		check(t, w.discover(t, wt), wt, wt, filepath.Join(sep, "worktrees", "wt"), sep)
	})
	t.Run("core.worktree", func(t *testing.T) {
		gdir := filepath.Join(realPath(t.TempDir()), "g.git")
		wt := filepath.Join(filepath.Dir(gdir), "files")
		w.git(t, filepath.Dir(gdir), "init", "-q", "--bare", gdir)
		w.git(t, gdir, "config", "core.bare", "false")
		w.git(t, gdir, "config", "core.worktree", "../files")
		if err := os.MkdirAll(wt, 0o755); err != nil {
			t.Fatal(err)
		}
		w.vars["GIT_DIR"] = gdir
		defer delete(w.vars, "GIT_DIR")
		check(t, w.discover(t, t.TempDir()), wt, wt, gdir, gdir)
	})
}

func TestDiscoverRefuses(t *testing.T) {
	w := newWorld(t)
	code := func(t *testing.T, dir string, want fail.Code, wantErr error) {
		t.Helper()
		_, err := Discover(dir, w.getenv)
		var ge *Error
		if fail.CodeOf(err) != want || !errors.As(err, &ge) || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Errorf("Discover(%s) = %v (code %d), want code %d, a *git.Error, %v", dir, err, fail.CodeOf(err), want, wantErr)
		}
		if fail.HintOf(err) == "" {
			t.Errorf("no hint: %v", err)
		}
	}
	t.Run("no repository", func(t *testing.T) {
		code(t, t.TempDir(), fail.NotSetUp, ErrNotARepo)
	})
	t.Run("bare", func(t *testing.T) {
		bare := filepath.Join(t.TempDir(), "b.git")
		w.git(t, filepath.Dir(bare), "init", "-q", "--bare", bare)
		w.vars["GIT_DIR"] = bare
		defer delete(w.vars, "GIT_DIR")
		code(t, t.TempDir(), fail.NotSetUp, ErrBare)
	})
	t.Run("GIT_DIR names nothing", func(t *testing.T) {
		w.vars["GIT_DIR"] = filepath.Join(t.TempDir(), "nope")
		defer delete(w.vars, "GIT_DIR")
		code(t, t.TempDir(), fail.NotSetUp, ErrNotARepo)
	})
	t.Run("bad gitdir file", func(t *testing.T) {
		for name, content := range map[string]string{
			"no prefix": "/somewhere\n", "empty target": "gitdir: \n", "missing target": "gitdir: ./nope\n",
			"too large": "gitdir: " + strings.Repeat("a", maxSmallFile+1),
		} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ".git"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Discover(dir, w.getenv); err == nil || fail.CodeOf(err) != fail.Failure {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("FIFOs are not read", func(t *testing.T) {
		dir := t.TempDir()
		testenv.Mkfifo(t, filepath.Join(dir, ".git"))
		if _, err := Discover(dir, w.getenv); err == nil {
			t.Error(".git as a FIFO accepted")
		}
		top := w.repo(t)
		wt := filepath.Join(t.TempDir(), "wt")
		w.git(t, top, "worktree", "add", "-q", wt)
		cd := filepath.Join(top, ".git", "worktrees", "wt", "commondir")
		if err := os.Remove(cd); err != nil {
			t.Fatal(err)
		}
		testenv.Mkfifo(t, cd)
		if _, err := Discover(wt, w.getenv); err == nil {
			t.Error("commondir as a FIFO accepted")
		}
	})
}

func TestOriginURL(t *testing.T) {
	w := newWorld(t)
	top := w.repo(t)
	r := w.discover(t, top)
	if u := r.OriginURL(); u != "" {
		t.Errorf("no origin: %q", u)
	}
	w.git(t, top, "remote", "add", "origin", "gh:acme/web.git")
	w.git(t, top, "config", "url.git@github.com:.insteadOf", "gh:")
	if u := w.discover(t, top).OriginURL(); u != "git@github.com:acme/web.git" {
		t.Errorf("origin %q", u)
	}
	// The longest matching prefix wins, and git agrees.
	w.git(t, top, "config", "url.https://example.com/a/.insteadOf", "gh:acme/")
	if u, g := w.discover(t, top).OriginURL(), w.git(t, top, "remote", "get-url", "origin"); u != "https://example.com/a/web.git" || u != g {
		t.Errorf("origin %q, git says %q", u, g)
	}
}

// TestConfigLikeGit: the config files read directly give what `git config
// --get-regexp` gives, for the files git reads and the syntax it accepts, and
// includes, -c and unparsable files go to the git binary.
func TestConfigLikeGit(t *testing.T) {
	w := newWorld(t)
	top := w.repo(t)
	write := func(p, s string) { writeFile(t, p, s) }
	write(filepath.Join(w.home, ".config", "git", "config"), "[vsync]\n\tenvs = xdg\n\thookTimeout = 1s\n")
	write(filepath.Join(w.home, ".gitconfig"), "[VSync]\n\tEnvs = \"dev, prod\" ; comment\n[user]\n\temail = me@example.com\n")
	w.git(t, top, "config", "vsync.prePush", "warn")
	w.git(t, top, "config", "--add", "vsync.envs", "dev,stage")
	w.git(t, top, "config", "vsync.sub.x", "a\\tb \"q\"")
	w.git(t, top, "config", "vsync.flag", "true")
	r := w.discover(t, top)
	same := func(t *testing.T, r *Repo, wantFast bool) {
		t.Helper()
		fromGit, err := r.configFromGit(t.Context(), "vsync.")
		if err != nil {
			t.Fatal(err)
		}
		fast, ferr := r.configFromFiles("vsync.")
		if (ferr == nil) != wantFast {
			t.Fatalf("read directly: %v, want %v", ferr, wantFast)
		}
		got, err := r.Config(t.Context(), "vsync.")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, fromGit) {
			t.Errorf("Config =\n %q\ngit gives\n %q", got, fromGit)
		}
		if wantFast && !reflect.DeepEqual(fast, fromGit) {
			t.Errorf("files =\n %q\ngit gives\n %q", fast, fromGit)
		}
	}
	t.Run("files", func(t *testing.T) { same(t, r, true) })
	if v, err := r.ConfigValue(t.Context(), "user.email"); err != nil || v != "me@example.com" {
		t.Errorf("user.email %q %v", v, err)
	}
	t.Run("worktree config", func(t *testing.T) {
		wt := filepath.Join(realPath(t.TempDir()), "wt")
		w.git(t, top, "worktree", "add", "-q", wt)
		w.git(t, top, "config", "extensions.worktreeConfig", "true")
		w.git(t, wt, "config", "--worktree", "vsync.envs", "only-here")
		defer w.git(t, top, "config", "--unset", "extensions.worktreeConfig")
		same(t, w.discover(t, wt), true)
	})
	t.Run("include goes to git", func(t *testing.T) {
		write(filepath.Join(w.home, "inc"), "[vsync]\n\tenvs = included\n")
		w.git(t, top, "config", "include.path", filepath.Join(w.home, "inc"))
		defer w.git(t, top, "config", "--unset", "include.path")
		same(t, w.discover(t, top), false)
	})
	t.Run("git -c goes to git", func(t *testing.T) {
		w.vars["GIT_CONFIG_PARAMETERS"] = "'vsync.envs'='from-c'"
		defer delete(w.vars, "GIT_CONFIG_PARAMETERS")
		same(t, w.discover(t, top), false)
	})
	t.Run("GIT_CONFIG_GLOBAL", func(t *testing.T) {
		w.vars["GIT_CONFIG_GLOBAL"] = "/dev/null"
		defer delete(w.vars, "GIT_CONFIG_GLOBAL")
		same(t, w.discover(t, top), true)
	})
	t.Run("syntax git reads differently goes to git", func(t *testing.T) {
		write(filepath.Join(w.home, ".gitconfig"), "[vsync.old]\n\tenvs = dotted\n")
		same(t, w.discover(t, top), false)
	})
}

func TestHooksDir(t *testing.T) {
	w := newWorld(t)
	top := w.repo(t)
	if d, err := w.discover(t, top).HooksDir(t.Context()); err != nil || d != filepath.Join(top, ".git", "hooks") {
		t.Errorf("default %s %v", d, err)
	}
	w.git(t, top, "config", "core.hooksPath", "~/hooks")
	if d, err := w.discover(t, top).HooksDir(t.Context()); err != nil || d != filepath.Join(w.home, "hooks") {
		t.Errorf("core.hooksPath ~/hooks: %s %v", d, err)
	}
}

func TestIgnoresAndTracks(t *testing.T) {
	w := newWorld(t)
	top := w.repo(t)
	if err := os.WriteFile(filepath.Join(top, ".gitignore"), []byte("/vault/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.git(t, top, "add", ".gitignore")
	sub := filepath.Join(top, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// A relative GIT_DIR from a subfolder (what git gives a command run there)
	// still asks about the same repository.
	w.vars["GIT_DIR"], w.vars["GIT_WORK_TREE"] = "../.git", ".."
	defer func() { delete(w.vars, "GIT_DIR"); delete(w.vars, "GIT_WORK_TREE") }()
	r := w.discover(t, sub)
	for path, want := range map[string]bool{"vault/": true, "other/": false, ".gitignore": false} {
		if got, err := r.Ignores(t.Context(), path); err != nil || got != want {
			t.Errorf("Ignores(%s) = %v %v", path, got, err)
		}
	}
	for path, want := range map[string]bool{".gitignore": true, "vault/x": false} {
		if got, err := r.Tracks(t.Context(), path); err != nil || got != want {
			t.Errorf("Tracks(%s) = %v %v", path, got, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("[vsync]\n\tenvs = dev\n"))
	f.Add([]byte("[remote \"origin\"]\nurl = x\n[include]\npath = y\n"))
	f.Add([]byte("[a.b]\nc\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, _, err := parseConfig(strings.NewReader(string(b)), "")
		if err != nil {
			return
		}
		for _, e := range entries {
			if sec, _, _ := strings.Cut(e.Key, "."); sec != strings.ToLower(sec) {
				t.Fatalf("section not lower case: %q", e.Key)
			}
		}
	})
}
