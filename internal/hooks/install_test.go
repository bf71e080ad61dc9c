package hooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	gitpkg "github.com/git-vsync/git-vsync/internal/git"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// gitRepo makes a repository with one commit and returns its top folder.
func gitRepo(t *testing.T) string {
	t.Helper()
	testenv.NeedCommand(t, "git")
	top := t.TempDir()
	if r, err := filepath.EvalSymlinks(top); err == nil {
		top = r
	}
	git(t, top, "init", "-q")
	git(t, top, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "one")
	return top
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// hooksDir is the hooks folder git uses for the work tree at top.
func hooksDir(t *testing.T, top string) string {
	t.Helper()
	r, err := gitpkg.Discover(top, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.HooksDir(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustInstall(t *testing.T, top string) Report {
	t.Helper()
	rep, err := Install(hooksDir(t, top))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func actions(rep Report) string {
	var s []string
	for _, h := range rep.Hooks {
		s = append(s, h.Name+"="+string(h.Action))
	}
	return strings.Join(s, " ")
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range Names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err == nil {
			out[n] = string(b)
		}
	}
	return out
}

func checkMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
	}
}

func TestInstallIntoDotGitHooks(t *testing.T) {
	top := gitRepo(t)
	rep := mustInstall(t, top)
	dir := filepath.Join(top, ".git", "hooks")
	if rep.Dir != dir {
		t.Fatalf("dir %s, want %s", rep.Dir, dir)
	}
	if got := actions(rep); got != "post-checkout=created post-merge=created post-rewrite=created pre-push=created" {
		t.Fatalf("actions %s", got)
	}
	for _, n := range Names {
		checkMode(t, filepath.Join(dir, n), 0o755)
		if b, _ := os.ReadFile(filepath.Join(dir, n)); string(b) != Script(n) {
			t.Errorf("%s: content differs from the embedded script", n)
		}
	}
	before := readAll(t, dir)
	if got := actions(mustInstall(t, top)); got != "post-checkout=unchanged post-merge=unchanged post-rewrite=unchanged pre-push=unchanged" {
		t.Errorf("second install: %s", got)
	}
	if after := readAll(t, dir); after["pre-push"] != before["pre-push"] || after["post-checkout"] != before["post-checkout"] {
		t.Error("second install changed bytes")
	}
	if st := StatesIn(hooksDir(t, top)); st["pre-push"] != StateInstalled || st["post-checkout"] != StateInstalled {
		t.Errorf("states %v", st)
	}
	urep, err := Uninstall(hooksDir(t, top))
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(urep); got != "post-checkout=removed post-merge=removed post-rewrite=removed pre-push=removed" {
		t.Errorf("uninstall: %s", got)
	}
	if st := StatesIn(hooksDir(t, top)); st["pre-push"] != StateMissing {
		t.Errorf("after uninstall: %v", st)
	}
	if got := actions(func() Report { r, _ := Uninstall(hooksDir(t, top)); return r }()); got != "post-checkout=absent post-merge=absent post-rewrite=absent pre-push=absent" {
		t.Errorf("second uninstall: %s", got)
	}
}

func TestInstallHonoursCoreHooksPath(t *testing.T) {
	t.Run("relative", func(t *testing.T) {
		top := gitRepo(t)
		git(t, top, "config", "core.hooksPath", ".githooks")
		rep := mustInstall(t, top)
		if want := filepath.Join(top, ".githooks"); rep.Dir != want {
			t.Fatalf("dir %s, want %s", rep.Dir, want)
		}
		if _, err := os.Stat(filepath.Join(top, ".githooks", "pre-push")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(top, ".git", "hooks", "pre-push")); err == nil {
			t.Error("also installed into .git/hooks")
		}
		// From a linked worktree the same folder is meant (relative to that
		// worktree's top, as git runs hooks there).
		wt := filepath.Join(t.TempDir(), "wt")
		git(t, top, "worktree", "add", "-q", wt)
		if d := hooksDir(t, wt); d != filepath.Join(wt, ".githooks") {
			t.Errorf("worktree dir %s", d)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		top := gitRepo(t)
		abs := filepath.Join(t.TempDir(), "shared", "hooks")
		git(t, top, "config", "core.hooksPath", abs)
		rep := mustInstall(t, top)
		if rep.Dir != abs {
			t.Fatalf("dir %s, want %s", rep.Dir, abs)
		}
		checkMode(t, filepath.Join(abs, "post-checkout"), 0o755)
	})
	t.Run("linked worktree without hooksPath", func(t *testing.T) {
		top := gitRepo(t)
		wt := filepath.Join(t.TempDir(), "wt")
		git(t, top, "worktree", "add", "-q", wt)
		rep := mustInstall(t, wt)
		if want := filepath.Join(top, ".git", "hooks"); rep.Dir != want {
			t.Errorf("dir %s, want %s (hooks are shared by worktrees)", rep.Dir, want)
		}
	})
	t.Run("husky folder", func(t *testing.T) {
		top := gitRepo(t)
		git(t, top, "config", "core.hooksPath", ".husky/_")
		rep := mustInstall(t, top)
		if !rep.NeedsManual() || rep.Hooks[0].Manager != "husky" {
			t.Errorf("husky: %s", actions(rep))
		}
		if _, err := os.Stat(filepath.Join(top, ".husky")); err == nil {
			t.Error("wrote into the husky folder")
		}
	})
}

func TestInstallForeignHooks(t *testing.T) {
	top := gitRepo(t)
	dir := filepath.Join(top, ".git", "hooks")
	shell := "#!/bin/sh\necho foreign\n"
	node := "#!/usr/bin/env node\nconsole.log('x')\n"
	if err := os.WriteFile(filepath.Join(dir, "post-checkout"), []byte(shell), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pre-push"), []byte(node), 0o755); err != nil {
		t.Fatal(err)
	}
	merge := "#!/bin/bash\necho foreign merge\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "post-merge"), []byte(merge), 0o755); err != nil {
		t.Fatal(err)
	}
	rep := mustInstall(t, top)
	if got := actions(rep); got != "post-checkout=added post-merge=added post-rewrite=created pre-push=manual" || !rep.NeedsManual() {
		t.Fatalf("actions %s", got)
	}
	checkMode(t, filepath.Join(dir, "post-checkout"), 0o750) // the foreign mode is kept
	got := readAll(t, dir)
	if got["pre-push"] != node {
		t.Error("the node hook was modified")
	}
	if !strings.HasPrefix(got["post-checkout"], "#!/bin/sh\n"+BeginMarker) || !strings.HasSuffix(got["post-checkout"], "echo foreign\n") {
		t.Errorf("post-checkout:\n%s", got["post-checkout"])
	}
	if msg := ForeignInstructions(rep.Hooks[3]); !strings.Contains(msg, Line("pre-push")) || !strings.Contains(msg, "node script") {
		t.Errorf("instructions: %s", msg)
	}
	st := StatesIn(hooksDir(t, top))
	if st["post-checkout"] != StateInstalled || st["post-merge"] != StateInstalled || st["pre-push"] != StateForeignOnly {
		t.Errorf("states %v", st)
	}
	if _, err := Uninstall(hooksDir(t, top)); err != nil {
		t.Fatal(err)
	}
	got = readAll(t, dir)
	if got["post-checkout"] != shell || got["pre-push"] != node || got["post-merge"] != merge || got["post-rewrite"] != "" {
		t.Errorf("after uninstall: %q %q", got["post-checkout"], got["pre-push"])
	}
	checkMode(t, filepath.Join(dir, "post-checkout"), 0o750)
}

func TestInstallLeavesDisabledAndLinkedHooks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no execute bits or symlinks without privileges")
	}
	top := gitRepo(t)
	dir := filepath.Join(top, ".git", "hooks")
	if err := os.WriteFile(filepath.Join(dir, "pre-push"), []byte("#!/bin/sh\necho off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(top, "shared-hook")
	os.WriteFile(target, []byte("#!/bin/sh\n"), 0o755)
	if err := os.Symlink(target, filepath.Join(dir, "post-checkout")); err != nil {
		t.Fatal(err)
	}
	rep := mustInstall(t, top)
	if got := actions(rep); got != "post-checkout=manual post-merge=created post-rewrite=created pre-push=manual" {
		t.Fatalf("actions %s", got)
	}
	if b, _ := os.ReadFile(target); string(b) != "#!/bin/sh\n" {
		t.Error("the symlink target was modified")
	}
}

func TestInstallRepairsExecuteBit(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no execute bits")
	}
	top := gitRepo(t)
	mustInstall(t, top)
	p := filepath.Join(top, ".git", "hooks", "pre-push")
	os.Chmod(p, 0o644)
	rep := mustInstall(t, top)
	if rep.Hooks[3].Action != Upgraded {
		t.Errorf("action %s", rep.Hooks[3].Action)
	}
	checkMode(t, p, 0o755)
}

func TestManualTextHasEverySnippet(t *testing.T) {
	s := ManualText("/repo/.git/hooks")
	for _, want := range []string{
		Line("post-checkout"), Line("pre-push"), BeginMarker, EndMarker,
		".husky/post-checkout", "lefthook.yml", "use_stdin: true", ".pre-commit-config.yaml", "repo: local",
		"stages: [post-checkout]", "stages: [pre-push]",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("manual text lacks %q", want)
		}
	}
}
