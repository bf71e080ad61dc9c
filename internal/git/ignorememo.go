package git

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// IgnoresRemembered is Ignores, with git's "ignored" answer kept in the file memo
// beside a fingerprint of everything git read to give it: the index, the
// .gitignore of every folder above path, info/exclude, the excludes file, every
// config file, the variables git sees and the git binary itself (each by its stat:
// device, inode, size, mode, modification and change time). While the
// fingerprint is the same, so is git's answer, and no git process is started (it
// costs ~7 ms of CPU, a quarter of a small push's own work). Only "ignored" is
// kept: "not ignored" refuses the command, and the user then changes one of these
// files. Nothing is kept where the inputs cannot all be known (config includes,
// `git -c`, a relative or unreadable excludes file, a platform without change
// times), nor while an input changed in the last memoSettle, whose next change
// could share its time stamp on a coarse file system. A memo that cannot be
// read or written is ignored: git is asked.
func (r *Repo) IgnoresRemembered(ctx context.Context, relPath, memo string) (bool, error) {
	fp, settled, ok := r.ignoreInputs(relPath)
	if ok && memoHolds(memo, fp) {
		return true, nil
	}
	ignored, err := r.Ignores(ctx, relPath)
	if err == nil && ignored && ok && settled {
		remember(memo, fp)
	}
	return ignored, err
}

// memoSettle is how old every input must be for an answer to be remembered.
var memoSettle = 2 * time.Second

// Bounds of the memo file: a line per remembered answer (vault folders of a
// clone), the oldest dropped first.
const (
	memoLines = 32
	memoMax   = memoLines * 65
)

// ignoreInputs fingerprints what `git check-ignore -- relPath` reads (run runs
// it with GIT_DIR and GIT_WORK_TREE set, so the index is GitDir's). settled says
// that none of it changed within memoSettle; ok is false when some input cannot
// be known.
func (r *Repo) ignoreInputs(relPath string) (fp string, settled, ok bool) {
	core, err := r.configFromFiles("core.")
	if err != nil {
		return "", false, false
	}
	files, err := r.configFiles()
	if err != nil {
		return "", false, false
	}
	files = append(files, filepath.Join(r.CommonDir, "config"), filepath.Join(r.GitDir, "index"),
		filepath.Join(r.CommonDir, "info", "exclude"))
	excludes := ""
	for _, e := range core {
		if e.Key == "core.excludesfile" {
			excludes = e.Value
		}
	}
	home, xdg := r.getenv("HOME"), r.getenv("XDG_CONFIG_HOME")
	switch {
	case excludes == "" && xdg != "":
		excludes = filepath.Join(xdg, "git", "ignore")
	case excludes == "" && home != "":
		excludes = filepath.Join(home, ".config", "git", "ignore")
	case strings.HasPrefix(excludes, "~/") && home != "":
		excludes = filepath.Join(home, excludes[2:])
	}
	if excludes != "" && !filepath.IsAbs(excludes) {
		return "", false, false
	}
	if excludes != "" {
		files = append(files, excludes)
	}
	for dir := path.Dir(strings.TrimSuffix(relPath, "/")); ; dir = path.Dir(dir) {
		files = append(files, filepath.Join(r.Top, filepath.FromSlash(dir), ".gitignore"))
		if dir == "." || dir == "/" {
			break
		}
	}
	bin, err := exec.LookPath("git")
	if err != nil {
		return "", false, false
	}
	files = append(files, bin)

	h := sha256.New()
	h.Write([]byte("check-ignore v1\x00" + r.Top + "\x00" + r.GitDir + "\x00" + relPath + "\x00"))
	for _, kv := range r.environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GIT_") || k == "HOME" || k == "XDG_CONFIG_HOME" || k == "PATH" {
			h.Write([]byte(kv + "\x00"))
		}
	}
	newest := time.Time{}
	for _, f := range files {
		key, changed, exists, ok := statInput(f)
		if !ok {
			return "", false, false
		}
		if !exists {
			key = "absent"
		}
		h.Write([]byte(f + "\x00" + key + "\x00"))
		newest = later(newest, changed)
	}
	return hex.EncodeToString(h.Sum(nil)), time.Since(newest) > memoSettle, true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// memoHolds reports whether the memo file holds the fingerprint fp.
func memoHolds(memo, fp string) bool {
	b, err := atomicfile.ReadRegular(memo, memoMax)
	if err != nil {
		return false
	}
	for line := range bytes.Lines(b) {
		if string(bytes.TrimSuffix(line, []byte("\n"))) == fp {
			return true
		}
	}
	return false
}

// remember adds fp to the memo file, keeping the newest memoLines lines. The
// write is atomic but not flushed: a memo lost in a crash only costs a git run.
func remember(memo, fp string) {
	var lines []string
	if b, err := atomicfile.ReadRegular(memo, memoMax); err == nil {
		for line := range strings.Lines(string(b)) {
			if l := strings.TrimSuffix(line, "\n"); len(l) == len(fp) && l != fp {
				lines = append(lines, l)
			}
		}
	}
	lines = append(lines, fp)
	if len(lines) > memoLines {
		lines = lines[len(lines)-memoLines:]
	}
	dir := filepath.Dir(memo)
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(memo)+".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.WriteString(strings.Join(lines, "\n") + "\n")
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), memo) != nil {
		os.Remove(tmp.Name())
	}
}
