package hooks

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PushRef is one line git writes on a pre-push hook's stdin:
// "<local ref> SP <local object name> SP <remote ref> SP <remote object name>".
type PushRef struct {
	LocalRef  string
	LocalSHA  string
	RemoteRef string
	RemoteSHA string
}

// Deletion reports whether the line deletes the remote ref (local object all zeros).
func (r PushRef) Deletion() bool { return isZero(r.LocalSHA) }

// Limits of what ParsePushRefs accepts; a real push stays far below them.
const (
	MaxPushInput = 16 << 20 // bytes on stdin
	MaxPushLines = 100000
	maxLineBytes = 8 << 10
)

// PushInputError says which line of the pre-push input could not be read.
type PushInputError struct {
	Line int    // 1-based; 0 when the whole input is at fault
	Why  string // never holds more than a short, quoted excerpt of the input
}

func (e *PushInputError) Error() string {
	if e.Line == 0 {
		return "unreadable pre-push input: " + e.Why
	}
	return "unreadable pre-push input, line " + strconv.Itoa(e.Line) + ": " + e.Why
}

// ParsePushRefs reads the pre-push ref lines. Blank lines are skipped; any other
// line must have exactly four fields, object names of 40 (SHA-1) or 64 (SHA-256)
// hex digits and refs without control characters. It reads at most MaxPushInput
// bytes and never panics; the error is a *PushInputError.
func ParsePushRefs(r io.Reader) ([]PushRef, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPushInput+1))
	if err != nil {
		return nil, &PushInputError{Why: "read stdin: " + err.Error()}
	}
	if len(data) > MaxPushInput {
		return nil, &PushInputError{Why: fmt.Sprintf("more than %d bytes", MaxPushInput)}
	}
	var refs []PushRef
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	n := 0
	for sc.Scan() {
		n++
		if n > MaxPushLines {
			return nil, &PushInputError{Why: fmt.Sprintf("more than %d lines", MaxPushLines)}
		}
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, " ")
		if len(f) != 4 {
			return nil, &PushInputError{Line: n, Why: fmt.Sprintf("expected 4 space-separated fields, got %d in %s", len(f), excerpt(line))}
		}
		ref := PushRef{LocalRef: f[0], LocalSHA: f[1], RemoteRef: f[2], RemoteSHA: f[3]}
		for _, s := range []string{ref.LocalSHA, ref.RemoteSHA} {
			if !isObjectName(s) {
				return nil, &PushInputError{Line: n, Why: "not an object name: " + excerpt(s)}
			}
		}
		for _, s := range []string{ref.LocalRef, ref.RemoteRef} {
			if !validRef(s) {
				return nil, &PushInputError{Line: n, Why: "not a ref name: " + excerpt(s)}
			}
		}
		refs = append(refs, ref)
	}
	if err := sc.Err(); err != nil {
		return nil, &PushInputError{Line: n + 1, Why: "line longer than " + strconv.Itoa(maxLineBytes) + " bytes"}
	}
	return refs, nil
}

// OnlyDeletions reports whether a push only deletes remote refs (or pushes
// nothing): the pre-push check is then not needed.
func OnlyDeletions(refs []PushRef) bool {
	for _, r := range refs {
		if !r.Deletion() {
			return false
		}
	}
	return true
}

func isObjectName(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isZero(s string) bool {
	return s != "" && strings.Trim(s, "0") == ""
}

// validRef accepts what git writes there: a ref name, "(delete)", or HEAD-like
// names; it refuses empty strings and control characters.
func validRef(s string) bool {
	if s == "" || len(s) > 4096 {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// excerpt quotes at most 40 bytes of hostile input for a message.
func excerpt(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "…"
	}
	return strconv.Quote(s)
}
