package hooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// These tests run the real blocks with /bin/sh (and bash when present) and a fake
// git-vsync on PATH, to pin down how they live next to a foreign hook's lines.

const refs = "refs/heads/main 1111111111111111111111111111111111111111 refs/heads/main 2222222222222222222222222222222222222222\n" +
	"refs/heads/b 3333333333333333333333333333333333333333 refs/heads/b 4444444444444444444444444444444444444444\n"

type shellRun struct {
	status int
	out    string
}

// runHook writes content as a hook, puts a fake git-vsync (exiting fakeRC and
// logging its arguments and stdin) and a fake git on PATH, and runs it.
func runHook(t *testing.T, shell, content, stdin string, fakeRC string, extraEnv ...string) shellRun {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	fake := "#!/bin/sh\necho \"vsync args: $*\" >&2\nprintf 'vsync stdin: %s|\\n' \"$(cat)\" >&2\nexit " + fakeRC + "\n"
	os.WriteFile(filepath.Join(bin, "git-vsync"), []byte(fake), 0o755)
	// git vsync … → git-vsync … (a stand-in for git's dispatch).
	os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\nsub=$1; shift\nexec git-$sub \"$@\"\n"), 0o755)
	hook := filepath.Join(dir, "hook")
	os.WriteFile(hook, []byte(content), 0o755)
	cmd := exec.Command(shell, hook, "origin", "file:///remote.git")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+"/usr/bin:/bin", "VSYNC_SKIP_HOOKS=")
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	st := 0
	if ee, ok := err.(*exec.ExitError); ok {
		st = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return shellRun{st, string(out)}
}

func testShells(t *testing.T) []string {
	if runtime.GOOS == "windows" {
		t.Skip("needs a POSIX shell")
	}
	var out []string
	for _, s := range []string{"/bin/sh", "dash", "bash"} {
		if p, err := exec.LookPath(s); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Skip("no shell")
	}
	return out
}

func withForeign(name, foreignBody string) string {
	p := planInstall(name, []byte("#!/bin/sh\n"+foreignBody))
	if p.action != Added {
		panic(p.action)
	}
	return string(p.content)
}

func TestPrePushBlockWithForeignHook(t *testing.T) {
	readAll := "while read l ls r rs; do echo \"foreign saw $l\"; done\necho foreign-done\n"
	for _, sh := range testShells(t) {
		cases := []struct {
			name    string
			foreign string
			fakeRC  string
			status  int
			want    []string
		}{
			{"both pass", readAll, "0", 0, []string{"foreign saw refs/heads/main", "foreign saw refs/heads/b", "foreign-done", "vsync args: hook pre-push origin file:///remote.git"}},
			{"vsync refuses, foreign still runs", readAll, "1", 1, []string{"foreign saw refs/heads/b", "foreign-done"}},
			{"vsync refuses, foreign exits 0", readAll + "exit 0\n", "1", 1, []string{"foreign-done"}},
			{"foreign fails with its code", "echo ran\nexit 7\n", "0", 7, []string{"ran"}},
			{"foreign fails, vsync refuses", "exit 5\n", "1", 5, nil},
			{"foreign last command fails", "false\n", "0", 1, nil},
		}
		for _, c := range cases {
			r := runHook(t, sh, withForeign("pre-push", c.foreign), refs, c.fakeRC)
			if r.status != c.status {
				t.Errorf("%s %s: status %d, want %d\n%s", sh, c.name, r.status, c.status, r.out)
			}
			for _, w := range append(c.want, "vsync stdin: "+strings.TrimSuffix(refs, "\n")+"|") {
				if !strings.Contains(r.out, w) {
					t.Errorf("%s %s: output lacks %q\n%s", sh, c.name, w, r.out)
				}
			}
		}
		// Our own script: the fake's status is the hook's.
		for rc, want := range map[string]int{"0": 0, "1": 1, "3": 1} {
			if r := runHook(t, sh, Script("pre-push"), refs, rc); r.status != want {
				t.Errorf("%s own script rc %s: status %d\n%s", sh, rc, r.status, r.out)
			}
		}
		// Empty stdin: the foreign lines read nothing, not a blank line.
		r := runHook(t, sh, withForeign("pre-push", "n=0; while read x; do n=$((n+1)); done; echo lines=$n\n"), "", "0")
		if !strings.Contains(r.out, "lines=0") {
			t.Errorf("%s empty stdin: %s", sh, r.out)
		}
		// VSYNC_SKIP_HOOKS=1: git-vsync is not called, the foreign lines get stdin.
		r = runHook(t, sh, withForeign("pre-push", readAll), refs, "1", "VSYNC_SKIP_HOOKS=1")
		if r.status != 0 || strings.Contains(r.out, "vsync args") || !strings.Contains(r.out, "foreign saw refs/heads/b") {
			t.Errorf("%s skip: %d %s", sh, r.status, r.out)
		}
	}
}

func TestPostCheckoutBlockNeverFails(t *testing.T) {
	for _, sh := range testShells(t) {
		r := runHook(t, sh, withForeign("post-checkout", "echo foreign-ran\n"), "", "1")
		if r.status != 0 || !strings.Contains(r.out, "foreign-ran") || !strings.Contains(r.out, "vsync args: hook post-checkout") {
			t.Errorf("%s: %d %s", sh, r.status, r.out)
		}
		r = runHook(t, sh, withForeign("post-checkout", "exit 4\n"), "", "0")
		if r.status != 4 {
			t.Errorf("%s: foreign status lost: %d", sh, r.status)
		}
	}
}

func TestBlocksWithoutGitVsync(t *testing.T) {
	for _, sh := range testShells(t) {
		for _, n := range Names {
			cmd := exec.Command(sh, "-c", Script(n), n, "a", "b", "1")
			cmd.Env = append(os.Environ(), "PATH=/nonexistent", "VSYNC_SKIP_HOOKS=")
			cmd.Stdin = strings.NewReader(refs)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			want := 0
			if n == "pre-push" {
				want = 1
			}
			if code != want || !strings.Contains(string(out), "not on PATH") {
				t.Errorf("%s %s: exit %d, want %d\n%s", sh, n, code, want, out)
			}
			if n == "pre-push" && (!strings.Contains(string(out), "install git-vsync") || !strings.Contains(string(out), "git vsync uninstall")) {
				t.Errorf("%s: no install/uninstall hint: %s", sh, out)
			}
		}
	}
}

// post-merge and post-rewrite never fail git, keep the foreign status, and leave
// stdin (post-rewrite's list of rewritten commits) to the foreign lines.
func TestPostMergeAndRewriteBlocks(t *testing.T) {
	const rewritten = "1111111111111111111111111111111111111111 2222222222222222222222222222222222222222\n"
	for _, sh := range testShells(t) {
		for _, n := range []string{"post-merge", "post-rewrite"} {
			r := runHook(t, sh, withForeign(n, "echo foreign-ran; cat\n"), rewritten, "1")
			if r.status != 0 || !strings.Contains(r.out, "vsync args: hook "+n) || !strings.Contains(r.out, "foreign-ran") {
				t.Errorf("%s %s: %d %s", sh, n, r.status, r.out)
			}
			if n == "post-rewrite" && (!strings.Contains(r.out, "vsync stdin: |") || !strings.Contains(r.out, rewritten)) {
				t.Errorf("%s %s: stdin not left to the foreign lines: %s", sh, n, r.out)
			}
			if r := runHook(t, sh, withForeign(n, "exit 5\n"), "", "0"); r.status != 5 {
				t.Errorf("%s %s: foreign status lost: %d", sh, n, r.status)
			}
		}
	}
}
