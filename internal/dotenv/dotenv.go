// Package dotenv is the one dotenv parser of git-vsync: `run`, `env`, `get`, `diff`,
// `pull --merge` and `sync` all read `.env*` files through it, so a value means the
// same thing to every command.
//
// The grammar, line by line (docs/dotenv.md says where it differs from other tools):
//
//	# comment                 blank lines and comment lines are kept, never parsed
//	KEY=value                 unquoted: surrounding blanks trimmed, ` #…` ends it
//	export KEY=value          the shell's `export ` prefix is accepted and remembered
//	KEY='literal'             single quotes (and backquotes): nothing is escaped; may span lines
//	KEY="a\nb"                double quotes: \n \r \t \" \\ \$ escapes; may span lines
//
// There is no variable expansion: `$OTHER` is those six characters. A line that is
// none of the above is an error naming its line number. Errors never quote a value:
// a vault file is secret.
package dotenv

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// MaxBytes bounds one dotenv file. Certificates inlined as values fit many times over.
const MaxBytes = 16 << 20

// Entry is one assignment.
type Entry struct {
	Key    string
	Value  string
	Line   int  // 1-based line where the assignment starts
	Export bool // written with the `export ` prefix
}

// Error is a syntax error. It names the line, never the value.
type Error struct {
	Line   int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ErrTooLarge is returned for input over MaxBytes.
var ErrTooLarge = errors.New("dotenv file larger than 16 MiB")

// chunk is a run of source lines: one assignment (possibly multi-line) or one line of
// anything else (comment, blank), kept byte for byte so an edited document keeps its
// comments, order and spacing.
type chunk struct {
	raw    string // the source text including its line ending
	assign bool
	entry  Entry
}

// Doc is a parsed dotenv file that can be edited key by key and written back with
// everything it did not change left as it was.
type Doc struct {
	chunks []chunk
	crlf   bool // the file used CRLF line endings; new lines follow suit
}

// Parse returns the assignments of data in file order (a key may repeat; use Map for
// last-wins lookup).
func Parse(data []byte) ([]Entry, error) {
	d, err := ParseDoc(data)
	if err != nil {
		return nil, err
	}
	return d.Entries(), nil
}

// ReadFile parses the regular file at path, bounded by MaxBytes. FIFOs, devices and
// folders are refused without being opened for reading data.
func ReadFile(path string) (*Doc, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	return ParseDoc(data)
}

func readBounded(path string) ([]byte, error) {
	data, err := atomicfile.ReadRegular(path, MaxBytes)
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return nil, ErrTooLarge
	}
	return data, err
}

// ParseDoc parses data into an editable document.
func ParseDoc(data []byte) (*Doc, error) {
	if len(data) > MaxBytes {
		return nil, ErrTooLarge
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &Error{Line: 1 + bytes.Count(data[:bytes.IndexByte(data, 0)], []byte("\n")), Reason: "NUL byte (not a text file)"}
	}
	s := string(data)
	s = strings.TrimPrefix(s, "\ufeff")
	d := &Doc{crlf: strings.Contains(s, "\r\n")}
	line := 1
	for len(s) > 0 {
		c, n, lines, err := parseChunk(s, line)
		if err != nil {
			return nil, err
		}
		d.chunks = append(d.chunks, c)
		s = s[n:]
		line += lines
	}
	return d, nil
}

// parseChunk reads one chunk from the start of s, which begins at line lineNo. It
// returns the chunk, the bytes consumed and the number of line breaks consumed.
func parseChunk(s string, lineNo int) (chunk, int, int, error) {
	first, _ := cutLine(s)
	trimmed := strings.TrimSpace(first)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		n := lineLen(s)
		return chunk{raw: s[:n]}, n, 1, nil
	}
	// Assignment: [blanks][export blanks]KEY[blanks]=[blanks]VALUE
	i := skipBlanks(s, 0)
	export := false
	if strings.HasPrefix(s[i:], "export") && i+6 < len(s) && (s[i+6] == ' ' || s[i+6] == '\t') {
		j := skipBlanks(s, i+6)
		if k := keyEnd(s, j); k > j {
			export = true
			i = j
		}
	}
	k := keyEnd(s, i)
	if k == i {
		return chunk{}, 0, 0, &Error{Line: lineNo, Reason: "expected KEY=value"}
	}
	key := s[i:k]
	j := skipBlanks(s, k)
	if j >= len(s) || s[j] != '=' {
		// What looks like a name here may be the secret itself (a token pasted
		// on a line of its own, the body of an unquoted PEM): never quoted.
		return chunk{}, 0, 0, &Error{Line: lineNo, Reason: "expected KEY=value: no '=' after the name that starts the line"}
	}
	j = skipBlanks(s, j+1)
	value, end, breaks, err := parseValue(s, j, lineNo)
	if err != nil {
		return chunk{}, 0, 0, err
	}
	// The rest of the line after a quoted value may hold only blanks and a comment.
	rest, _ := cutLine(s[end:])
	if r := strings.TrimSpace(rest); r != "" && !strings.HasPrefix(r, "#") {
		return chunk{}, 0, 0, &Error{Line: lineNo + breaks, Reason: fmt.Sprintf("unexpected text after the value of %s", key)}
	}
	n := end + lineLen(s[end:])
	return chunk{raw: s[:n], assign: true, entry: Entry{Key: key, Value: value, Line: lineNo, Export: export}}, n, breaks + 1, nil
}

// parseValue reads the value starting at s[i]; it returns the value, the offset just
// past it (past the closing quote) and the line breaks inside it.
func parseValue(s string, i, lineNo int) (string, int, int, error) {
	if i >= len(s) {
		return "", i, 0, nil
	}
	switch q := s[i]; q {
	case '\'', '`':
		end := strings.IndexByte(s[i+1:], q)
		if end < 0 {
			return "", 0, 0, &Error{Line: lineNo, Reason: "unterminated " + string(q) + " quote"}
		}
		v := s[i+1 : i+1+end]
		return normaliseBreaks(v), i + end + 2, strings.Count(v, "\n"), nil
	case '"':
		var b strings.Builder
		breaks := 0
		for j := i + 1; j < len(s); j++ {
			c := s[j]
			switch {
			case c == '"':
				return b.String(), j + 1, breaks, nil
			case c == '\r' && j+1 < len(s) && s[j+1] == '\n':
				// a literal CRLF inside the quotes reads as LF; an escaped \r stays
			case c == '\\' && j+1 < len(s):
				j++
				switch s[j] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case '"', '\\', '$', '\'', '`':
					b.WriteByte(s[j])
				case '\n':
					breaks++ // a backslash-newline continues the line
				default:
					b.WriteByte('\\')
					b.WriteByte(s[j])
				}
			default:
				if c == '\n' {
					breaks++
				}
				b.WriteByte(c)
			}
		}
		return "", 0, 0, &Error{Line: lineNo, Reason: "unterminated \" quote"}
	}
	line, _ := cutLine(s[i:])
	v := line
	// ` #` starts a comment; a # inside a word (a URL fragment, a colour) does not.
	for k := 0; k < len(v); k++ {
		if v[k] == '#' && (k == 0 || v[k-1] == ' ' || v[k-1] == '\t') {
			v = v[:k]
			break
		}
	}
	return strings.TrimSpace(v), i + len(line), 0, nil
}

// normaliseBreaks turns CRLF inside a quoted value into LF, as the value would read
// on any platform.
func normaliseBreaks(v string) string {
	if strings.Contains(v, "\r\n") {
		return strings.ReplaceAll(v, "\r\n", "\n")
	}
	return v
}

// cutLine returns the first line of s without its line ending, and whether one followed.
func cutLine(s string) (string, bool) {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSuffix(s[:i], "\r"), true
	}
	return s, false
}

// lineLen is the length of the first line of s including its line ending.
func lineLen(s string) int {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return i + 1
	}
	return len(s)
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// keyEnd returns the end of the key starting at s[i]: a letter or _ then letters,
// digits, _, . or - (the names dotenv files use; ValidName is stricter).
func keyEnd(s string, i int) int {
	j := i
	for j < len(s) {
		c := s[j]
		if c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') ||
			(j > i && (('0' <= c && c <= '9') || c == '.' || c == '-')) {
			j++
			continue
		}
		break
	}
	return j
}

// ValidName reports whether key can be a process environment variable name for every
// shell: [A-Za-z_][A-Za-z0-9_]*.
func ValidName(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || (i > 0 && '0' <= c && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// Entries returns the assignments in file order.
func (d *Doc) Entries() []Entry {
	var out []Entry
	for _, c := range d.chunks {
		if c.assign {
			out = append(out, c.entry)
		}
	}
	return out
}

// Map returns the assignments as a map; a repeated key keeps its last value, as a
// shell sourcing the file would.
func (d *Doc) Map() map[string]string { return Map(d.Entries()) }

// Map returns entries as a map, the last assignment of a key winning.
func Map(entries []Entry) map[string]string {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		m[e.Key] = e.Value
	}
	return m
}

// Keys returns the distinct keys of entries, sorted.
func Keys(entries []Entry) []string {
	m := Map(entries)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Get returns the value of key (its last assignment).
func (d *Doc) Get(key string) (string, bool) {
	for i := len(d.chunks) - 1; i >= 0; i-- {
		if c := d.chunks[i]; c.assign && c.entry.Key == key {
			return c.entry.Value, true
		}
	}
	return "", false
}

// Set gives key the value: its last assignment is rewritten in place (earlier
// duplicates are dropped, so the file means what it says), or a new line is appended.
func (d *Doc) Set(key, value string) {
	last := -1
	for i, c := range d.chunks {
		if c.assign && c.entry.Key == key {
			last = i
		}
	}
	if last < 0 {
		if n := len(d.chunks); n > 0 && !strings.HasSuffix(d.chunks[n-1].raw, "\n") {
			d.chunks[n-1].raw += d.eol()
		}
		d.chunks = append(d.chunks, chunk{raw: Line(key, value) + d.eol(), assign: true, entry: Entry{Key: key, Value: value}})
		return
	}
	c := &d.chunks[last]
	prefix := ""
	if c.entry.Export {
		prefix = "export "
	}
	eol := ""
	if strings.HasSuffix(c.raw, "\n") {
		eol = d.eol()
	}
	c.raw = prefix + Line(key, value) + eol
	c.entry.Value = value
	d.removeWhere(func(i int, c chunk) bool { return i != last && c.assign && c.entry.Key == key })
}

// Delete removes every assignment of key.
func (d *Doc) Delete(key string) {
	d.removeWhere(func(_ int, c chunk) bool { return c.assign && c.entry.Key == key })
}

func (d *Doc) removeWhere(drop func(int, chunk) bool) {
	kept := d.chunks[:0]
	for i, c := range d.chunks {
		if !drop(i, c) {
			kept = append(kept, c)
		}
	}
	d.chunks = kept
}

func (d *Doc) eol() string {
	if d.crlf {
		return "\r\n"
	}
	return "\n"
}

// Bytes returns the document as text: unchanged chunks byte for byte.
func (d *Doc) Bytes() []byte {
	var b bytes.Buffer
	for _, c := range d.chunks {
		b.WriteString(c.raw)
	}
	return b.Bytes()
}

// Line formats one assignment that this parser (and the common dotenv readers) read
// back as exactly value.
func Line(key, value string) string { return key + "=" + Quote(value) }

// Quote returns value in the dotenv form that reads back as value: bare when it is
// made only of characters no reader treats specially, single-quoted when it holds no
// single quote or line break, double-quoted with escapes otherwise.
func Quote(value string) string {
	if value != "" && bare(value) {
		return value
	}
	if !strings.ContainsAny(value, "'\n\r") {
		return "'" + value + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"', '\\', '$', '`':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func bare(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			strings.IndexByte("_-.,:/+=@%^~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}
