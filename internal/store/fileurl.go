package store

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

func isFileEndpoint(ep string) bool {
	ep = strings.TrimSpace(ep)
	return len(ep) >= 5 && strings.EqualFold(ep[:5], "file:")
}

// fileRoot turns a file:// endpoint into the absolute folder it names, in the
// path syntax of goos.
//
// Accepted forms:
//
//	file:///abs/dir                  (unix)
//	file://localhost/abs/dir         (any OS; "localhost" is the local host)
//	file:///C:/dir, file://C:/dir    (Windows drive paths; backslashes allowed)
//	file://server/share/dir          (Windows UNC path \\server\share\dir)
//
// Percent-escapes are decoded (file:///my%20dir). Relative forms
// (file://dir, file:dir, file://./dir, file://~/dir) are rejected on purpose:
// the config is used from every working directory of every clone, so a
// relative root would name a different folder each time.
func fileRoot(ep, goos string) (string, error) {
	ep = strings.TrimSpace(ep)
	if !isFileEndpoint(ep) {
		return "", errors.New("not a file:// endpoint")
	}
	rest := ep[len("file:"):]
	if !strings.HasPrefix(rest, "//") {
		return "", errors.New("a file endpoint must look like file:///absolute/folder (relative folders are not supported)")
	}
	rest = rest[2:]
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		return "", errors.New("a file endpoint must not have a query or fragment")
	}
	windows := goos == "windows"
	if windows {
		rest = strings.ReplaceAll(rest, `\`, "/")
	}
	host, p := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, p = rest[:i], rest[i:]
	}
	dec, err := url.PathUnescape(p)
	if err != nil || !utf8.ValidString(dec) || strings.ContainsRune(dec, 0) {
		return "", errors.New("the file endpoint's path has invalid escapes")
	}
	p = dec

	isDrive := func(s string) bool {
		return len(s) >= 2 && s[1] == ':' && ('a' <= s[0]|0x20 && s[0]|0x20 <= 'z') && (len(s) == 2 || s[2] == '/')
	}
	relErr := fmt.Errorf("the file endpoint names a relative or remote folder; use an absolute path such as %s", map[bool]string{true: "file:///C:/vsync-store", false: "file:///home/me/vsync-store"}[windows])

	switch {
	case host == "" || strings.EqualFold(host, "localhost"):
		if !windows {
			if !strings.HasPrefix(p, "/") {
				return "", relErr
			}
			return path.Clean(p), nil
		}
		p = strings.TrimPrefix(p, "/")
		if !isDrive(p) {
			return "", relErr
		}
		return winDrivePath(p), nil
	case windows && isDrive(host):
		return winDrivePath(host + p), nil
	case windows:
		// UNC: //server/share/...
		segs := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
		if len(segs) == 0 || segs[0] == "" || host == "." || host == "~" || host == ".." {
			return "", relErr
		}
		return `\\` + host + `\` + strings.ReplaceAll(strings.Join(segs, "/"), "/", `\`), nil
	}
	return "", relErr
}

// winDrivePath cleans "C:/a/../b" into `C:\b`.
func winDrivePath(p string) string {
	drive, rest := strings.ToUpper(p[:2]), p[2:]
	rest = path.Clean("/" + rest)
	return drive + strings.ReplaceAll(rest, "/", `\`)
}

// fileURL renders a folder path back into a file:// URL for messages.
func fileURL(p string, windows bool) string {
	if windows {
		p = strings.ReplaceAll(p, `\`, "/")
		if strings.HasPrefix(p, "//") {
			return "file:" + (&url.URL{Path: p}).EscapedPath()
		}
		p = "/" + p
	}
	return "file://" + (&url.URL{Path: p}).EscapedPath()
}

// checkBucketDir validates a file store's bucket: one plain folder name.
func checkBucketDir(b string) error {
	if b == "" || len(b) > 255 || b == "." || b == ".." {
		return fmt.Errorf("bucket %q is not a valid folder name", b)
	}
	for i, r := range b {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && (r == '.' || r == '-' || r == '_'))
		if !ok {
			return fmt.Errorf("bucket %q is not a valid folder name (letters, digits, '.', '-', '_'; starting with a letter or digit)", b)
		}
	}
	if strings.HasSuffix(b, ".") || isWinReserved(b) {
		return fmt.Errorf("bucket %q is not a valid folder name", b)
	}
	return nil
}

// reservedPrefix starts the names of the file store's own files (temp files,
// lock folder); no key segment may start with it.
const reservedPrefix = ".vsync-"

// checkFileKey validates a key of the file store. Keys are "/"-separated
// relative paths whose segments are portable file names: no empty, "." or
// ".." segment, no leading "/", no backslash, no control or Windows-reserved
// characters (<>:"|?*), no segment ending in "." or " " and no Windows device
// names, so that a store folder shared between Windows, macOS and Linux holds
// the same objects everywhere.
func checkFileKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if len(key) > 1024 {
		return errors.New("key longer than 1024 bytes")
	}
	if !utf8.ValidString(key) {
		return errors.New("key is not valid UTF-8")
	}
	if strings.HasPrefix(key, "/") {
		return errors.New("key must not be absolute")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`\<>:"|?*`, r) {
			return fmt.Errorf("key must not contain %q", r)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return errors.New("key has an empty path segment")
		case seg == "." || seg == "..":
			return errors.New("key must not contain . or .. segments")
		case len(seg) > 255:
			return errors.New("key has a path segment longer than 255 bytes")
		case strings.HasPrefix(seg, reservedPrefix):
			return fmt.Errorf("key segments must not start with %q (reserved)", reservedPrefix)
		case strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " "):
			return errors.New("key segments must not end with '.' or ' '")
		case isWinReserved(seg):
			return fmt.Errorf("key segment %q is a reserved device name on Windows", seg)
		}
	}
	return nil
}

func isWinReserved(seg string) bool {
	base := seg
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '0' && base[3] <= '9' {
		return true
	}
	return false
}
