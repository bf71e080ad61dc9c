package git

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/go-git/gcfg"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// ConfigEntry is one value of git config. Key is "section.name" or
// "section.subsection.name" with section and name in lower case, as git prints it.
type ConfigEntry struct {
	Key, Value string
}

// errFallback: the files alone do not give git's answer; ask the git binary.
var errFallback = errors.New("needs the git binary")

// Config returns every config value whose key starts with prefix ("vsync.", in
// lower case) in the order git applies them (system, global, repository, work
// tree, command line), so the last one of a key is git's value. It reads the
// files itself when it can do so exactly, and runs `git config` otherwise.
func (r *Repo) Config(ctx context.Context, prefix string) ([]ConfigEntry, error) {
	entries, err := r.configFromFiles(prefix)
	if err == nil {
		return entries, nil
	}
	return r.configFromGit(ctx, prefix)
}

// ConfigValue is git's value of key ("user.email"), "" when unset.
func (r *Repo) ConfigValue(ctx context.Context, key string) (string, error) {
	key = strings.ToLower(key)
	entries, err := r.Config(ctx, key)
	if err != nil {
		return "", err
	}
	v := ""
	for _, e := range entries {
		if e.Key == key {
			v = e.Value
		}
	}
	return v, nil
}

// configFromFiles reads the config files git would read, in git's order. It
// gives up (errFallback) on anything it cannot evaluate exactly: include and
// includeIf, `git -c` (GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT), GIT_CONFIG, a
// file it cannot parse or that is not a regular file, or a system file whose
// place is not known (configFiles).
func (r *Repo) configFromFiles(prefix string) ([]ConfigEntry, error) {
	for _, v := range []string{"GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG"} {
		if r.getenv(v) != "" {
			return nil, errFallback
		}
	}
	files, err := r.configFiles()
	if err != nil {
		return nil, err
	}
	var out []ConfigEntry
	for _, f := range files {
		var b []byte
		if f == filepath.Join(r.CommonDir, "config") {
			b = r.local
		} else {
			b, err = readConfigFile(f)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, errFallback
			}
		}
		entries, include, err := parseConfig(bytes.NewReader(b), prefix)
		if err != nil || include {
			return nil, errFallback
		}
		out = append(out, entries...)
	}
	return out, nil
}

// configFiles lists the files git reads, lowest precedence first. The system
// file is /etc/gitconfig where git is installed under /usr (Linux and the BSDs);
// on macOS and Windows its place depends on the installer, so there the git
// binary answers.
func (r *Repo) configFiles() ([]string, error) {
	var files []string
	if !isTrue(r.getenv("GIT_CONFIG_NOSYSTEM")) {
		switch sys := r.getenv("GIT_CONFIG_SYSTEM"); {
		case sys != "":
			files = append(files, sys)
		case runtime.GOOS == "darwin" || runtime.GOOS == "windows":
			return nil, errFallback
		default:
			files = append(files, "/etc/gitconfig")
		}
	}
	if g := r.getenv("GIT_CONFIG_GLOBAL"); g != "" {
		files = append(files, g)
	} else {
		home := r.getenv("HOME")
		if x := r.getenv("XDG_CONFIG_HOME"); x != "" {
			files = append(files, filepath.Join(x, "git", "config"))
		} else if home != "" {
			files = append(files, filepath.Join(home, ".config", "git", "config"))
		}
		if home != "" {
			files = append(files, filepath.Join(home, ".gitconfig"))
		}
	}
	files = append(files, filepath.Join(r.CommonDir, "config"))
	if isTrue(parseSection(r.local, "extensions")["worktreeconfig"]) {
		files = append(files, filepath.Join(r.GitDir, "config.worktree"))
	}
	return files, nil
}

// readConfigFile reads one config file, bounded; /dev/null (a common
// GIT_CONFIG_GLOBAL) is an empty file.
func readConfigFile(p string) ([]byte, error) {
	if p == "/dev/null" {
		return nil, nil
	}
	return atomicfile.ReadRegularFollow(p, maxConfigFile)
}

// parseConfig returns the entries of a config file whose key starts with prefix,
// and whether the file includes others.
func parseConfig(rd io.Reader, prefix string) (entries []ConfigEntry, include bool, err error) {
	err = gcfg.ReadWithCallback(rd, func(sec, sub, key, value string, blank bool) error {
		sec = strings.ToLower(sec)
		if sec == "include" || sec == "includeif" {
			include = true
		}
		if key == "" {
			return nil
		}
		k := sec + "." + strings.ToLower(key)
		if sub != "" {
			k = sec + "." + sub + "." + strings.ToLower(key)
		}
		if blank {
			value = "true" // `[vsync] flag` without '=' is true, as for git
		}
		if strings.HasPrefix(k, prefix) {
			entries = append(entries, ConfigEntry{Key: k, Value: value})
		}
		return nil
	})
	return entries, include, err
}

// configFromGit asks the git binary: `git config -z --get-regexp ^PREFIX`.
func (r *Repo) configFromGit(ctx context.Context, prefix string) ([]ConfigEntry, error) {
	re := "^" + strings.ReplaceAll(prefix, ".", `\.`)
	out, err := r.run(ctx, "git config", "config", "-z", "--get-regexp", re)
	if exitCode(err) == 1 { // no such key
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries []ConfigEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		k, v, ok := strings.Cut(string(rec), "\n")
		if !ok {
			v = "true" // a key without '=', as configFromFiles reads it
		}
		entries = append(entries, ConfigEntry{Key: k, Value: v})
	}
	return entries, nil
}

// isTrue is git's boolean "true" spellings.
func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true
	}
	return false
}
