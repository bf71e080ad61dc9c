package bundle

import (
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/git-vsync/git-vsync/internal/gitname"
)

// Reason says why an archive was refused; HostileError carries it.
type Reason string

const (
	ReasonCorrupt       Reason = "not a readable zip archive"
	ReasonTooMany       Reason = "too many entries"
	ReasonTooBig        Reason = "uncompressed content over the size limit"
	ReasonSizeMismatch  Reason = "content longer than its header declares"
	ReasonEmptyName     Reason = "empty name"
	ReasonTooLong       Reason = "name too long"
	ReasonEncoding      Reason = "name is not valid UTF-8"
	ReasonControl       Reason = "name contains a NUL or control character"
	ReasonBackslash     Reason = "name contains a backslash"
	ReasonAbsolute      Reason = "absolute path"
	ReasonDrive         Reason = "name starts with a drive letter"
	ReasonDotDot        Reason = "name contains a .. segment"
	ReasonBadSegment    Reason = "name contains an empty or . segment"
	ReasonWindows       Reason = "name cannot be used on Windows"
	ReasonSymlink       Reason = "symbolic link entry"
	ReasonSpecial       Reason = "device, pipe or socket entry"
	ReasonDirMismatch   Reason = "folder mode on a name without a trailing / (or the reverse)"
	ReasonDirData       Reason = "folder entry with content"
	ReasonEncrypted     Reason = "encrypted entry"
	ReasonMethod        Reason = "unsupported compression method"
	ReasonDuplicate     Reason = "duplicate name"
	ReasonCaseDuplicate Reason = "name differs from another entry only in letter case"
	ReasonConflict      Reason = "a file has entries below it"
	ReasonGitName       Reason = "name has a segment git would read (.git, .gitmodules, .gitattributes, .gitignore, .mailmap, in any letter case)"
)

// maxNameLen bounds one entry name in bytes; real paths stay far below.
const maxNameLen = 4096

// checkWindowsNames is true when names must also be valid Windows file names
// (colons would create alternate data streams there, reserved names open devices).
// A variable so tests on other systems can exercise the Windows rules.
var checkWindowsNames = runtime.GOOS == "windows"

// checkName validates one archive entry name (folders end with "/") and returns
// the reason it is refused, or "". The same rules apply when writing, so a bundle
// that one teammate pushes can be pulled by the others.
func checkName(name string) Reason {
	if name == "" || name == "/" {
		return ReasonEmptyName
	}
	if len(name) > maxNameLen {
		return ReasonTooLong
	}
	if !utf8.ValidString(name) {
		return ReasonEncoding
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return ReasonControl
		}
	}
	if strings.Contains(name, `\`) {
		return ReasonBackslash
	}
	if name[0] == '/' {
		return ReasonAbsolute
	}
	if len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]) {
		return ReasonDrive
	}
	trimmed := strings.TrimSuffix(name, "/")
	for _, seg := range strings.Split(trimmed, "/") {
		switch seg {
		case "..":
			return ReasonDotDot
		case "", ".":
			return ReasonBadSegment
		}
		if gitname.Is(seg) {
			return ReasonGitName
		}
		if checkWindowsNames && !windowsSafe(seg) {
			return ReasonWindows
		}
	}
	return ""
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// windowsSafe reports whether seg can be a Windows file name that means only itself.
func windowsSafe(seg string) bool {
	if strings.ContainsAny(seg, `<>:"|?*`) {
		return false
	}
	if last := seg[len(seg)-1]; last == '.' || last == ' ' {
		return false
	}
	stem := seg
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return false
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) {
		if c := stem[3]; c >= '0' && c <= '9' {
			return false
		}
	}
	if len(stem) > 3 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) {
		switch stem[3:] {
		case "¹", "²", "³":
			return false
		}
	}
	return true
}

// foldKey is the key under which names that differ only in letter case collide.
func foldKey(p string) string { return strings.ToLower(p) }
