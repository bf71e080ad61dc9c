package vault

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// IgnoreFile is the file at the top of a vault that names its local-only files:
// never pushed, never deleted or replaced by a pull, never counted as an edit.
// It is a vault file like any other, so the team shares its patterns.
const IgnoreFile = ".vsyncignore"

// DefaultIgnore are the patterns that always apply, with or without IgnoreFile.
var DefaultIgnore = []string{"*.local", ".env.*.local"}

// maxIgnoreBytes bounds IgnoreFile.
const maxIgnoreBytes = 64 << 10

// Ignore matches the local-only entries of a vault.
type Ignore struct {
	patterns []pattern
}

type pattern struct {
	glob     string // path.Match syntax
	anchored bool   // matched against the whole path (it held a "/"), else the base name
	dirOnly  bool   // written with a trailing "/"
	// simple: glob is prefix*suffix or a plain name (star false), matched
	// without path.Match (every entry of a vault is matched against each pattern).
	simple, star   bool
	prefix, suffix string
}

// simplify sets the simple form of p when its glob has one * at most and no other
// special character.
func (p *pattern) simplify() {
	if strings.ContainsAny(p.glob, "?[\\") || strings.Count(p.glob, "*") > 1 {
		return
	}
	p.simple = true
	p.prefix, p.suffix, p.star = strings.Cut(p.glob, "*")
}

// match is path.Match(p.glob, name).
func (p *pattern) match(name string) bool {
	if !p.simple {
		ok, _ := path.Match(p.glob, name)
		return ok
	}
	if !p.star {
		return name == p.prefix
	}
	// * matches any run of characters but "/".
	return len(name) >= len(p.prefix)+len(p.suffix) && strings.HasPrefix(name, p.prefix) && strings.HasSuffix(name, p.suffix) &&
		!strings.Contains(name[len(p.prefix):len(name)-len(p.suffix)], "/")
}

// LoadIgnore reads the patterns of the vault at dir: DefaultIgnore plus the lines
// of its IgnoreFile when there is one (blank lines and #comments skipped; a line
// with a "/" matches the path from the vault top, one without matches a name at
// any depth; a trailing "/" matches folders only; *, ? and [ ] as in path.Match).
// A missing vault or file means the defaults.
func LoadIgnore(dir string) (*Ignore, error) {
	data, err := readIgnoreFile(filepath.Join(dir, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ParseIgnore(nil)
	}
	if err != nil {
		return nil, err
	}
	return ParseIgnore(data)
}

// ParseIgnore reads the patterns of an IgnoreFile's content (see LoadIgnore).
func ParseIgnore(data []byte) (*Ignore, error) {
	ig := &Ignore{}
	for _, p := range DefaultIgnore {
		ig.add(p)
	}
	if len(data) > maxIgnoreBytes {
		return nil, fail.New(fail.Refused, "keep it to patterns, one a line", "%s is larger than %d bytes", IgnoreFile, maxIgnoreBytes)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxIgnoreBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") || strings.Contains(line, "**") {
			return nil, fail.New(fail.Refused, "use plain patterns (*, ?, [abc]); a pattern without / matches a name at any depth",
				"%s line %d: negation (!) and ** are not supported", IgnoreFile, n)
		}
		if !ig.add(line) {
			return nil, fail.New(fail.Refused, "fix the pattern (path.Match syntax: *, ?, [abc])", "%s line %d: invalid pattern", IgnoreFile, n)
		}
	}
	return ig, sc.Err()
}

func readIgnoreFile(p string) ([]byte, error) {
	data, err := atomicfile.ReadRegular(p, maxIgnoreBytes)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return data, err
	}
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return nil, fail.New(fail.Refused, "keep it to patterns, one a line", "%s is larger than %d bytes", IgnoreFile, maxIgnoreBytes)
	}
	return nil, fail.Wrap(fail.Refused, err, "make "+IgnoreFile+" a regular file at the top of the vault", "cannot read the vault's %s", IgnoreFile)
}

func (ig *Ignore) add(line string) bool {
	p := pattern{glob: line}
	if strings.HasSuffix(p.glob, "/") {
		p.dirOnly = true
		p.glob = strings.TrimRight(p.glob, "/")
	}
	if strings.Contains(p.glob, "/") {
		p.anchored = true
		p.glob = strings.TrimLeft(p.glob, "/")
	}
	if p.glob == "" {
		return false
	}
	if _, err := path.Match(p.glob, "x"); err != nil {
		return false
	}
	p.simplify()
	ig.patterns = append(ig.patterns, p)
	return true
}

// Match reports whether the entry rel (slash-separated, relative to the vault
// top) is local-only itself. Entries below a local-only folder are never listed.
func (ig *Ignore) Match(rel string, dir bool) bool {
	if ig == nil || rel == IgnoreFile {
		return false
	}
	base := path.Base(rel)
	for _, p := range ig.patterns {
		if p.dirOnly && !dir {
			continue
		}
		name := base
		if p.anchored {
			name = rel
		}
		if p.match(name) {
			return true
		}
	}
	return false
}

// LocalOnly lists the local-only entries of the vault at dir: each file or folder
// a pattern matches (not what is below a matched folder), sorted.
func LocalOnly(dir string) ([]string, error) {
	ig, err := LoadIgnore(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ig.Match(rel, d.IsDir()) {
			out = append(out, rel)
			if d.IsDir() {
				return fs.SkipDir
			}
		}
		return nil
	})
	return out, err
}

// CopyLocalOnly copies the local-only entries of the vault at from (by its own
// patterns) into the same paths below to, replacing what is there: a pull keeps
// them. Regular files keep their mode and times, folders are copied whole, and
// symbolic links are made again; other special files are skipped.
func CopyLocalOnly(from, to string) error {
	entries, err := LocalOnly(from)
	if err != nil {
		return err
	}
	for _, rel := range entries {
		src := filepath.Join(from, filepath.FromSlash(rel))
		dst := filepath.Join(to, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		if err := copyTree(src, dst); err != nil {
			return fmt.Errorf("keep the local-only %q: %w", rel, err)
		}
	}
	return nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch t := d.Type(); {
		case t.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case t&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case t.IsRegular():
			return copyFile(p, target, info)
		}
		return nil
	})
}

func copyFile(src, dst string, info fs.FileInfo) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

// Filter returns files without the local-only entries (an entry whose folder
// matches included) and without the folders that held only those: a listing of
// a version as the vault at dir would show it.
func (ig *Ignore) Filter(files []File) []File {
	hollow := map[string]bool{}
	out := make([]File, 0, len(files))
	for _, f := range files {
		if ig.hidden(f.Path, f.Dir) {
			for q := range parents(f.Path) {
				hollow[q] = true
			}
			continue
		}
		out = append(out, f)
	}
	return dropHollow(out, hollow, filePath)
}

// hidden reports whether rel or one of its folders is local-only.
func (ig *Ignore) hidden(rel string, dir bool) bool {
	if ig.Match(rel, dir) {
		return true
	}
	for q := range parents(rel) {
		if ig.Match(q, true) {
			return true
		}
	}
	return false
}
