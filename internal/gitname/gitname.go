// Package gitname recognises path segments that git would treat as its own: the
// .git folder of a nested repository and the files git reads from a work tree
// (.gitmodules, .gitattributes, .gitignore, .mailmap), in every spelling a file
// system may fold onto them. Vault content and vault paths come from other
// people (a bundle, a share, a branch), and a planted .git/config with
// core.fsmonitor runs code on the next `git status` inside the vault.
package gitname

import "strings"

// reserved are the names after folding (see fold), NTFS 8.3 short forms included.
var reserved = map[string]bool{
	".git": true, "git~1": true,
	".gitmodules": true, "gitmod~1": true,
	".gitattributes": true, "gitatt~1": true,
	".gitignore": true, "gitign~1": true,
	".mailmap": true, "mailma~1": true,
}

// Is reports whether the path segment seg (no slashes) names one of git's own
// files or folders on some file system: letter case (macOS, Windows), trailing
// dots and spaces and alternate data streams (NTFS), ignorable code points (HFS+).
func Is(seg string) bool { return reserved[fold(seg)] }

func fold(seg string) string {
	if i := strings.IndexByte(seg, ':'); i >= 0 {
		seg = seg[:i] // NTFS: ".git::$INDEX_ALLOCATION" is the folder .git
	}
	seg = strings.Map(func(r rune) rune {
		if ignorable(r) {
			return -1
		}
		return r
	}, seg)
	seg = strings.TrimRight(seg, ". ")
	return strings.ToLower(seg)
}

// ignorable lists the code points HFS+ drops when it compares names (as git's
// own is_hfs_dotgit does).
func ignorable(r rune) bool {
	switch {
	case r >= 0x200c && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x206a && r <= 0x206f, r == 0xfeff:
		return true
	}
	return false
}
