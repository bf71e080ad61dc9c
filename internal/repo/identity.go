package repo

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// MaxNameLen is the longest identity we accept from a URL; longer ones need --repo.
const MaxNameLen = 100

// ErrTooLong is returned for identities longer than MaxNameLen.
type ErrTooLong struct{ Name string }

func (e *ErrTooLong) Error() string {
	return fmt.Sprintf("repository identity %q is longer than %d characters", e.Name, MaxNameLen)
}

var reservedNames = map[string]bool{"profiles": true, "backups": true}

// Normalise maps any text to the identity alphabet of SPEC §2: lower case, each run
// of '/' or '-' becomes '_', everything outside [a-z0-9._] is dropped. An empty
// result means "no identity".
func Normalise(s string) (string, error) {
	s = strings.ToLower(s)
	var b strings.Builder
	inRun := false
	for _, r := range s {
		if r == '/' || r == '-' {
			if !inRun {
				b.WriteByte('_')
			}
			inRun = true
			continue
		}
		inRun = false
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_' {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > MaxNameLen {
		return "", &ErrTooLong{Name: out}
	}
	return out, nil
}

// CheckName validates a normalised identity used as a folder name in the config
// directory and as a bucket prefix.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("repository identity is empty")
	case len(name) > MaxNameLen:
		return &ErrTooLong{Name: name}
	case name == "." || name == ".." || strings.Trim(name, ".") == "":
		return fmt.Errorf("repository identity %q is not usable as a name", name)
	case reservedNames[name]:
		return fmt.Errorf("repository identity %q is reserved (it names a folder of the config directory)", name)
	}
	for _, r := range name {
		if !((r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_') {
			return fmt.Errorf("repository identity %q has characters outside [a-z0-9._]", name)
		}
	}
	return nil
}

// The syntax checks of this file loop over bytes instead of matching regexps,
// which Go compiles at package init, on every command's start (issue 15);
// TestSyntaxChecksMatchTheirPatterns holds each to the pattern in its comment.

// hasScheme: u matches ^[A-Za-z][A-Za-z0-9+.-]*:// (the first "://" ends the
// scheme, since its characters cannot be part of one).
func hasScheme(u string) bool {
	i := strings.Index(u, "://")
	return i > 0 && isLetter(u[0]) && allBytes(u[1:i], func(c byte) bool {
		return isLetter(c) || isDigit(c) || c == '+' || c == '.' || c == '-'
	})
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// allBytes reports whether every byte of s satisfies ok.
func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// PathFromURL extracts the repository path of a git remote URL (SPEC §2): the path
// of scp-style user@host:path, the last segment of file:// URLs and of local paths
// (so `/srv/git/app.git` and `file:///srv/git/app.git` agree), the path of other
// scheme URLs without user, host and port. Trailing '/' and '.git' are removed.
func PathFromURL(raw string) string {
	u := strings.TrimSpace(raw)
	at := strings.Index(u, "@")
	colon := strings.Index(u, ":")
	switch {
	case !strings.Contains(u, "://") && at >= 0 && colon > at:
		u = u[colon+1:]
	case hasScheme(u):
		i := strings.Index(u, "://")
		scheme := strings.ToLower(u[:i])
		rest := u[i+3:]
		if scheme == "file" {
			return lastSegment(rest, "/")
		}
		// Authority ends at the first '/'; user info ends at its last '@'.
		if j := strings.Index(rest, "/"); j >= 0 {
			rest = rest[j:]
		} else {
			rest = ""
		}
		u = rest
	case isLocalPath(u):
		return lastSegment(u, `/\`)
	}
	// The path part is "owner/repo", not "/owner/repo": a leading '/' would only
	// add a '_' to every identity.
	return trimGit(strings.TrimLeft(u, "/"))
}

// isLocalPath: what git itself clones as a path, not a host: no ':' at all, or only
// the one of a Windows drive letter (C:\repos\app, C:/repos/app).
func isLocalPath(u string) bool {
	if len(u) >= 3 && u[1] == ':' && (u[2] == '/' || u[2] == '\\') &&
		((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z')) {
		u = u[2:]
	}
	return u != "" && !strings.Contains(u, ":")
}

// lastSegment is the last path segment of p after trailing separators and '.git'
// are removed, so `/srv/app/.git` gives `app`.
func lastSegment(p, seps string) string {
	p = trimGit(p)
	if j := strings.LastIndexAny(p, seps); j >= 0 {
		p = p[j+1:]
	}
	return p
}

// trimGit removes trailing '/' (and '\') and '.git' until none is left.
func trimGit(u string) string {
	for {
		trimmed := strings.TrimSuffix(strings.TrimRight(u, `/\`), ".git")
		if trimmed == u {
			return u
		}
		u = trimmed
	}
}

// IdentityFromURL turns a remote URL into an identity; "" means the URL yields none.
func IdentityFromURL(raw string) (string, error) {
	return Normalise(PathFromURL(raw))
}

// Pin is the parsed content of the committed .vsync file.
type Pin struct {
	Repo   string
	Values map[string]string
}

// validPinKey: key matches ^[A-Za-z_][A-Za-z0-9_]*$.
func validPinKey(key string) bool {
	return key != "" && (isLetter(key[0]) || key[0] == '_') && allBytes(key[1:], func(c byte) bool {
		return isLetter(c) || isDigit(c) || c == '_'
	})
}

// ParsePin reads a .vsync file: key=value lines, blank and '#' lines skipped, the
// last duplicate wins, unknown keys kept but ignored. `repo` is required and is
// normalised like --repo.
func ParsePin(data []byte) (Pin, error) {
	p := Pin{Values: map[string]string{}}
	if len(data) > 64<<10 {
		return p, fmt.Errorf(".vsync is larger than 64 KiB")
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		eq := strings.Index(trimmed, "=")
		if eq < 0 {
			return p, fmt.Errorf(".vsync line %d: expected key=value", n)
		}
		key := strings.TrimSpace(trimmed[:eq])
		if !validPinKey(key) {
			return p, fmt.Errorf(".vsync line %d: %q is not a valid key", n, key)
		}
		p.Values[key] = strings.TrimRight(trimmed[eq+1:], " \t")
	}
	if err := sc.Err(); err != nil {
		return p, fmt.Errorf(".vsync: %w", err)
	}
	raw := strings.TrimSpace(p.Values["repo"])
	if raw == "" {
		return p, fmt.Errorf(".vsync has no repo=NAME line")
	}
	name, err := Normalise(raw)
	if err != nil {
		return p, fmt.Errorf(".vsync: %w", err)
	}
	p.Repo = name
	if err := CheckName(p.Repo); err != nil {
		return p, fmt.Errorf(".vsync: %w", err)
	}
	return p, nil
}

// FormatPin is the content init and import write when no pin exists.
func FormatPin(name string) []byte {
	return []byte("# git-vsync: the identity of this repository's secrets (bucket prefix and\n" +
		"# keychain account). Committed so every clone agrees, whatever its remote URL.\n" +
		"repo=" + name + "\n")
}

// ValidEnv reports whether s is a usable environment name: at most 64 bytes
// matching ^[a-z][a-z0-9_-]*$.
func ValidEnv(s string) bool {
	return s != "" && len(s) <= 64 && s[0] >= 'a' && s[0] <= 'z' && allBytes(s[1:], func(c byte) bool {
		return (c >= 'a' && c <= 'z') || isDigit(c) || c == '_' || c == '-'
	})
}
