package app

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/git-vsync/git-vsync/internal/dotenv"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// RunOptions are the flags of `run`.
type RunOptions struct {
	SecretsOptions
	Pristine bool     // pass only the vault's keys and PristineVars
	Only     []string // pass only these keys of the vault
	Exclude  []string // leave these keys of the vault out
	FilesDir bool     // expose the other vault files in a temp folder
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
}

// PristineVars are the only inherited variables `run --pristine` keeps.
var PristineVars = []string{"PATH", "HOME", "USER", "TERM", "LANG"}

// FilesDirVar names the folder `run --files-dir` exposes the vault files in.
const FilesDirVar = "VSYNC_FILES_DIR"

// Exit codes of `run` when the command does not start, as shells use them.
const (
	ExitCannotExecute = 126
	ExitNotFound      = 127
)

// Select returns the keys of s that only and exclude keep, sorted, the last
// assignment of a key winning. A key named in only that the file lacks is an error
// (a typo would otherwise run the command without it); one named in exclude is
// not. With envNames, keys that cannot be environment variable names are refused.
func Select(s *Secrets, only, exclude []string, envNames bool) ([]dotenv.Entry, error) {
	m := dotenv.Map(s.Entries)
	if len(only) > 0 {
		kept := make(map[string]string, len(only))
		var missing []string
		for _, k := range only {
			v, ok := m[k]
			if !ok {
				missing = append(missing, k)
				continue
			}
			kept[k] = v
		}
		if len(missing) > 0 {
			return nil, fail.New(fail.Failure, "check the spelling; `git vsync env "+s.Env+" | cut -d= -f1` lists the keys",
				".env.%s (%s) has no key %s", s.Env, s.From, strings.Join(missing, ", "))
		}
		m = kept
	}
	for _, k := range exclude {
		delete(m, k)
	}
	out := make([]dotenv.Entry, 0, len(m))
	var bad []string
	for k, v := range m {
		if envNames && !dotenv.ValidName(k) {
			bad = append(bad, k)
		}
		out = append(out, dotenv.Entry{Key: k, Value: v})
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fail.New(fail.Failure, "rename them in .env."+s.Env+" (letters, digits and _, not starting with a digit), or leave them out with --exclude "+bad[0],
			".env.%s has keys that cannot be environment variable names: %s", s.Env, strings.Join(bad, ", "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// childEnv is the environment of run's command: the inherited one (only
// PristineVars with pristine) without git-vsync's own secrets, then the vault's
// keys, which win.
func childEnv(base []string, keys []dotenv.Entry, pristine bool) []string {
	keep := map[string]bool{}
	for _, k := range PristineVars {
		keep[k] = true
	}
	if runtime.GOOS == "windows" {
		keep["SYSTEMROOT"] = true // without it most Windows programs cannot start
	}
	vaultKeys := make(map[string]bool, len(keys))
	for _, e := range keys {
		vaultKeys[envKey(e.Key)] = true
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		k = envKey(k)
		if vaultKeys[k] || (pristine && !keep[k]) || isVsyncSecretVar(k) {
			continue
		}
		out = append(out, kv)
	}
	for _, e := range keys {
		out = append(out, e.Key+"="+e.Value)
	}
	return out
}

// envKey is how the platform compares variable names: Windows ignores case.
func envKey(k string) string {
	if runtime.GOOS == "windows" {
		return strings.ToUpper(k)
	}
	return k
}

// isVsyncSecretVar says whether an inherited variable holds one of git-vsync's
// own secrets (the key, the runtime token, a share passphrase): the command gets
// the vault's keys, not the means to open every version of the vault.
func isVsyncSecretVar(k string) bool {
	for _, p := range []string{"VSYNC_KEY", "VSYNC_CONFIG", "VSYNC_PASSPHRASE", "VSYNC_SHARE_PASSPHRASE"} {
		if k == p || strings.HasPrefix(k, p+"_") {
			return true
		}
	}
	return false
}

// Run runs argv with the env's keys in its environment (SPEC-less; issue 12):
// nothing is written to disk except, with FilesDir, the other vault files in a
// private temp folder removed when the command ends. Signals git-vsync receives
// are passed on to the command, and its exit code is returned (128+N when a
// signal N ended it).
func (a *App) Run(ctx context.Context, target *Target, env string, argv []string, o RunOptions) (int, error) {
	if len(argv) == 0 {
		return 0, fail.New(fail.Usage, "put the command after --: `git vsync run "+env+" -- npm start`", "no command to run")
	}
	s, err := a.LoadSecrets(ctx, target, env, o.SecretsOptions)
	if err != nil {
		return 0, err
	}
	defer s.Wipe()
	keys, err := Select(s, o.Only, o.Exclude, true)
	if err != nil {
		return 0, err
	}
	environ := os.Environ
	if a.Environ != nil {
		environ = a.Environ
	}
	envv := childEnv(environ(), keys, o.Pristine)
	if o.FilesDir {
		dir, err := a.writeFilesDir(s)
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		envv = append(envv, FilesDirVar+"="+dir)
	}
	s.Wipe()

	path, err := exec.LookPath(argv[0])
	if err != nil {
		code := ExitNotFound
		if errors.Is(err, os.ErrPermission) {
			code = ExitCannotExecute
		}
		return code, fail.Wrap(fail.Code(code), err, "check the command name and PATH", "cannot run %s", argv[0])
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = envv
	cmd.Dir = a.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardSignals...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return ExitCannotExecute, fail.Wrap(fail.Code(ExitCannotExecute), err, "check the command name and its permissions", "cannot run %s", argv[0])
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 1, fail.Wrap(fail.Failure, err, "check that "+argv[0]+" is installed and on PATH", "run %s", argv[0])
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ee.ExitCode(), nil
}

// writeFilesDir writes the vault files of s into a new private folder: 0700
// folders, 0600 files, in $XDG_RUNTIME_DIR (memory-backed on most Linux systems)
// when set, else the temp folder.
func (a *App) writeFilesDir(s *Secrets) (dir string, err error) {
	parent := a.Getenv("XDG_RUNTIME_DIR")
	if fi, err := os.Stat(parent); parent == "" || err != nil || !fi.IsDir() {
		parent = os.TempDir()
	}
	dir, err = os.MkdirTemp(parent, "vsync-files-")
	if err != nil {
		return "", fail.Wrap(fail.Failure, err, "check the permissions and free space of "+parent, "create a folder for the vault files")
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fail.Wrap(fail.Failure, err, fail.HintLocal, "protect %s", dir)
	}
	for _, f := range s.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := mkdirs(dir, filepath.Dir(p)); err != nil {
			return "", fail.Wrap(fail.Failure, err, fail.HintLocal, "write the vault files")
		}
		fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = fh.Write(f.Data)
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return "", fail.Wrap(fail.Failure, err, "check the free space of "+parent, "write the vault file %s", f.Path)
		}
	}
	return dir, nil
}

// mkdirs creates the folders from root down to dir, 0700 each.
func mkdirs(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." {
		return err
	}
	p := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}
