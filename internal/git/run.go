package git

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// errNoGit: the git binary is not on PATH.
var errNoGit = errors.New("git is not on PATH")

// run runs the git binary on this repository. GIT_DIR and GIT_WORK_TREE are set
// to the absolute folders Discover found, so a relative GIT_DIR that git gave
// us, or a command run from a subfolder, asks about the same repository.
func (r *Repo) run(ctx context.Context, op string, args ...string) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Top
	cmd.Env = append(r.environ(), "GIT_DIR="+r.GitDir, "GIT_WORK_TREE="+r.Top)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
	if errors.Is(err, exec.ErrNotFound) {
		err = errNoGit
	}
	return out, wrap(op, r.Top, err, stderr.String())
}

// configVars are the variables configFromFiles reads; the git binary sees the
// same values (from getenv), so both ways give one answer.
var configVars = []string{"HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_SYSTEM",
	"GIT_CONFIG_GLOBAL", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG"}

// environ is the process environment for a git run: without the variables that
// would point git at another repository, with configVars as getenv has them.
func (r *Repo) environ() []string {
	drop := map[string]bool{"GIT_DIR": true, "GIT_WORK_TREE": true, "GIT_COMMON_DIR": true,
		"GIT_INDEX_FILE": true, "GIT_PREFIX": true}
	for _, v := range configVars {
		drop[v] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	for _, v := range configVars {
		if val := r.getenv(v); val != "" {
			out = append(out, v+"="+val)
		}
	}
	if n, err := strconv.Atoi(r.getenv("GIT_CONFIG_COUNT")); err == nil {
		for i := range min(n, 1000) {
			for _, v := range []string{"GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"} {
				if val := r.getenv(v + strconv.Itoa(i)); val != "" {
					out = append(out, v+strconv.Itoa(i)+"="+val)
				}
			}
		}
	}
	return out
}

// exitCode is the exit status of a git run that ran and failed, -1 otherwise.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// Ignores reports whether git ignores path (slash-separated, relative to the work
// tree top; a trailing '/' asks about a folder), with every exclude source git
// knows (.gitignore files, info/exclude, core.excludesFile). A tracked path is not
// ignored. Only the git binary knows all of that.
func (r *Repo) Ignores(ctx context.Context, path string) (bool, error) {
	_, err := r.run(ctx, "git check-ignore", "check-ignore", "-q", "--", path)
	if exitCode(err) == 1 {
		return false, nil
	}
	return err == nil, err
}

// Tracks reports whether git tracks path (relative to the work tree top).
func (r *Repo) Tracks(ctx context.Context, path string) (bool, error) {
	_, err := r.run(ctx, "git ls-files", "ls-files", "--error-unmatch", "--", path)
	if exitCode(err) == 1 {
		return false, nil
	}
	return err == nil, err
}

// HooksDir is the folder git runs hooks from: core.hooksPath when set (resolved
// by the git binary: relative paths, '~' and linked work trees are git's rules),
// otherwise the common dir's hooks folder, which needs no git process.
func (r *Repo) HooksDir(ctx context.Context) (string, error) {
	hp, err := r.configFromFiles("core.hookspath")
	if err == nil && !hasKey(hp, "core.hookspath") {
		return filepath.Join(r.CommonDir, "hooks"), nil
	}
	out, err := r.run(ctx, "git rev-parse --git-path hooks", "rev-parse", "--git-path", "hooks")
	if err != nil {
		return "", err
	}
	p := strings.TrimRight(string(out), "\r\n")
	if p == "" {
		return "", wrap("git rev-parse --git-path hooks", r.Top, errors.New("git printed nothing"), "")
	}
	return join(r.Top, p), nil
}

func hasKey(entries []ConfigEntry, key string) bool {
	for _, e := range entries {
		if e.Key == key {
			return true
		}
	}
	return false
}
