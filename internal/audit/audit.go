// Package audit reads, writes and verifies the audit log of SPEC §7: the CSV
// object `<repo>/<env>/audit.csv` of the bucket, one row per push, pull, import,
// export, rotate or restore.
//
// The format is shared with the TypeScript tool `vsync`: UTF-8, LF line ends, the
// header line Header, fields holding `"`, `,`, CR or LF quoted with doubled quotes.
// The reader (Parse) is strict about structure and tolerant about line ends (CRLF,
// a missing final LF, blank lines, a UTF-8 byte order mark); it rejects anything
// else with a *ParseError naming the line and the row, and never panics. The writer
// (Row.Format, Append) produces byte-exact rows.
//
// Tamper evidence: every row git-vsync appends carries "prev" in its meta, the hex
// SHA-256 of all the log's bytes before that row (header included). Verify walks
// the chain; see its documentation for what it detects.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Header is the first line of every audit log, without its LF.
const Header = "ts,action,version_ts,hostname,local_ip,os_user,git_email,vsync_version,bun_version,meta"

// Columns are the header's names, in order.
var Columns = []string{"ts", "action", "version_ts", "hostname", "local_ip", "os_user", "git_email", "vsync_version", "bun_version", "meta"}

// TimeLayout is the layout of the ts column: ISO-8601 UTC with milliseconds, as
// JavaScript's Date.prototype.toISOString writes it.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Limits of the reader and the writer.
const (
	// MaxLogSize bounds the log Parse, Verify and Append accept (about 250,000
	// rows of typical size).
	MaxLogSize = 64 << 20
	// MaxFieldSize bounds one field.
	MaxFieldSize = 1 << 20
	// MaxMetaSize bounds the user part of the meta Append writes (compact JSON,
	// before "prev" is added). Larger meta is replaced by {"_truncated":true}.
	MaxMetaSize = 2 << 10
)

// Meta keys with a meaning.
const (
	MetaPrev      = "prev"       // hex SHA-256 of the log bytes before the row
	MetaNote      = "note"       // --note
	MetaTruncated = "_truncated" // true when the meta was too large and dropped
)

// Row is one row of the log.
type Row struct {
	// Where the row is in the log it was parsed from (zero for a new row).
	Num    int // 1-based row number; the header is not a row
	Line   int // 1-based line of the file where the row starts
	Offset int // byte offset of the row's first byte
	End    int // byte offset just past the row's line end

	TS           string    // as written, e.g. 2026-01-31T23:59:59.123Z
	Time         time.Time // TS parsed
	Action       string    // push, pull, import, export, rotate, restore, sync, …
	VersionTS    string    // the bundle timestamp the action concerns, or ""
	Hostname     string
	LocalIP      string
	OSUser       string
	GitEmail     string
	VsyncVersion string // git-vsync/<version>, or the TypeScript tool's version
	BunVersion   string // the runtime: a Go version for git-vsync, Bun's for vsync

	// MetaRaw is the meta field exactly as written ("" when empty); Meta is
	// that JSON object parsed (numbers as json.Number), nil when MetaRaw is "".
	MetaRaw string
	Meta    map[string]any
}

// Fields returns the row's ten fields in header order.
func (r *Row) Fields() []string {
	return []string{r.TS, r.Action, r.VersionTS, r.Hostname, r.LocalIP, r.OSUser, r.GitEmail, r.VsyncVersion, r.BunVersion, r.MetaRaw}
}

// Prev returns the row's chain link: the "prev" meta value, and whether the row
// has one at all (ok is true for a present but malformed prev, which then does
// not match anything).
func (r *Row) Prev() (prev string, ok bool) {
	v, ok := r.Meta[MetaPrev]
	if !ok {
		return "", false
	}
	s, _ := v.(string)
	return s, true
}

// Note returns the "note" meta value as text ("" when absent).
func (r *Row) Note() string {
	switch v := r.Meta[MetaNote].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// MarshalJSON writes the row as an object keyed by the header's names, with meta
// parsed (an object, or null when empty).
func (r Row) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range r.Fields()[:len(Columns)-1] {
		k, _ := json.Marshal(Columns[i])
		v, _ := json.Marshal(f)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
		b.WriteByte(',')
	}
	b.WriteString(`"meta":`)
	if r.Meta == nil {
		b.WriteString("null")
	} else {
		m, err := json.Marshal(r.Meta)
		if err != nil {
			return nil, err
		}
		b.Write(m)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// needsQuotes reports whether a field must be quoted (SPEC §7).
func needsQuotes(s string) bool { return strings.ContainsAny(s, "\",\r\n") }

// Quote returns a field as the log writes it: verbatim, or within double quotes
// with inner quotes doubled when it holds `"`, `,`, CR or LF.
func Quote(s string) string {
	if !needsQuotes(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// FormatRecord returns fields joined as one CSV line, LF included.
func FormatRecord(fields []string) []byte {
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Quote(f))
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// Format returns the row as one line of the log, LF included. MetaRaw is written
// as it is; Meta is not consulted.
func (r *Row) Format() []byte { return FormatRecord(r.Fields()) }

// EncodeMeta returns m as compact JSON with keys sorted and without HTML
// escaping (as JSON.stringify writes text); "" for an empty or nil map.
func EncodeMeta(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// DecodeMeta parses a meta field: "" → nil; otherwise exactly one JSON object.
func DecodeMeta(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a JSON object: data after the object")
	}
	return m, nil
}

// ParseError is a log Parse rejects.
type ParseError struct {
	Line int    // 1-based line where the problem is
	Row  int    // 1-based row number (0: the header)
	Msg  string // what is wrong
}

func (e *ParseError) Error() string {
	if e.Row == 0 {
		return fmt.Sprintf("audit log line %d (header): %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("audit log line %d (row %d): %s", e.Line, e.Row, e.Msg)
}

// ErrTooLarge is returned (wrapped) for a log over MaxLogSize.
var ErrTooLarge = fmt.Errorf("the audit log is larger than %d MiB", MaxLogSize>>20)

// bom is the UTF-8 byte order mark, which some editors put in front of CSV files.
const bom = "\xef\xbb\xbf"

// Parse reads a whole log. An empty log (zero bytes) has no rows and no error;
// otherwise the first line must be Header. Line ends may be LF or CRLF, the last
// one may be missing, blank lines are skipped, and a leading UTF-8 byte order
// mark is allowed. Offsets in the rows are offsets in data.
func Parse(data []byte) ([]Row, error) {
	if len(data) > MaxLogSize {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(data))
	}
	if len(data) == 0 {
		return nil, nil
	}
	p := &parser{data: data, line: 1}
	if bytes.HasPrefix(data, []byte(bom)) {
		p.pos = len(bom)
	}
	p.skipBlank()
	if p.pos >= len(data) {
		return nil, &ParseError{Line: p.line, Msg: "no header line (the object holds only blank lines)"}
	}
	hdrLine := p.line
	hdr, err := p.record(0)
	if err != nil {
		return nil, err
	}
	if strings.Join(hdr, ",") != Header || len(hdr) != len(Columns) {
		return nil, &ParseError{Line: hdrLine, Msg: fmt.Sprintf("the header is %q, want %q (is this an audit log?)", clip(strings.Join(hdr, ","), 120), Header)}
	}
	var rows []Row
	for {
		p.skipBlank()
		if p.pos >= len(data) {
			return rows, nil
		}
		num := len(rows) + 1
		start, line := p.pos, p.line
		fields, err := p.record(num)
		if err != nil {
			return nil, err
		}
		r, err := rowOf(fields)
		if err != nil {
			return nil, &ParseError{Line: line, Row: num, Msg: err.Error()}
		}
		r.Num, r.Line, r.Offset, r.End = num, line, start, p.pos
		rows = append(rows, r)
	}
}

// rowOf checks and types the ten fields of a row.
func rowOf(f []string) (Row, error) {
	if len(f) != len(Columns) {
		return Row{}, fmt.Errorf("%d fields, want %d", len(f), len(Columns))
	}
	for i, s := range f {
		if !utf8.ValidString(s) {
			return Row{}, fmt.Errorf("%s is not valid UTF-8", Columns[i])
		}
	}
	r := Row{TS: f[0], Action: f[1], VersionTS: f[2], Hostname: f[3], LocalIP: f[4], OSUser: f[5], GitEmail: f[6], VsyncVersion: f[7], BunVersion: f[8], MetaRaw: f[9]}
	t, err := time.Parse(time.RFC3339Nano, r.TS)
	if err != nil {
		return Row{}, fmt.Errorf("ts %q is not an ISO-8601 time", clip(r.TS, 40))
	}
	r.Time = t
	if r.Action == "" {
		return Row{}, errors.New("empty action")
	}
	if r.Meta, err = DecodeMeta(r.MetaRaw); err != nil {
		return Row{}, fmt.Errorf("meta is %v", err)
	}
	return r, nil
}

type parser struct {
	data []byte
	pos  int
	line int
}

// skipBlank skips empty lines (LF or CRLF alone).
func (p *parser) skipBlank() {
	for {
		switch {
		case p.pos < len(p.data) && p.data[p.pos] == '\n':
			p.pos++
			p.line++
		case p.pos+1 < len(p.data) && p.data[p.pos] == '\r' && p.data[p.pos+1] == '\n':
			p.pos += 2
			p.line++
		default:
			return
		}
	}
}

// record reads one CSV record and its line end (or the end of the data).
func (p *parser) record(row int) ([]string, error) {
	var fields []string
	fail := func(format string, args ...any) error {
		return &ParseError{Line: p.line, Row: row, Msg: fmt.Sprintf(format, args...)}
	}
	d := p.data
	for {
		if len(fields) >= 4*len(Columns) {
			return nil, fail("more than %d fields", 4*len(Columns))
		}
		var field string
		if p.pos < len(d) && d[p.pos] == '"' {
			openLine := p.line
			p.pos++
			var b strings.Builder
			for {
				i := bytes.IndexByte(d[p.pos:], '"')
				if i < 0 {
					p.line = openLine
					return nil, fail("a quoted field opened on this line is never closed")
				}
				chunk := d[p.pos : p.pos+i]
				if b.Len()+len(chunk) > MaxFieldSize {
					return nil, fail("a field is longer than %d bytes", MaxFieldSize)
				}
				b.Write(chunk)
				p.line += bytes.Count(chunk, []byte{'\n'})
				p.pos += i + 1
				if p.pos < len(d) && d[p.pos] == '"' { // doubled quote
					b.WriteByte('"')
					p.pos++
					continue
				}
				break
			}
			field = b.String()
			if p.pos < len(d) && d[p.pos] != ',' && d[p.pos] != '\n' && !(d[p.pos] == '\r' && p.pos+1 < len(d) && d[p.pos+1] == '\n') {
				return nil, fail("unexpected %q after the closing quote of field %d", d[p.pos], len(fields)+1)
			}
		} else {
			start := p.pos
			for p.pos < len(d) && d[p.pos] != ',' && d[p.pos] != '\n' {
				switch d[p.pos] {
				case '"':
					return nil, fail("a quote inside unquoted field %d (fields holding quotes must be quoted)", len(fields)+1)
				case '\r':
					if p.pos+1 >= len(d) || d[p.pos+1] != '\n' {
						return nil, fail("a carriage return inside unquoted field %d", len(fields)+1)
					}
				}
				if p.pos-start >= MaxFieldSize {
					return nil, fail("a field is longer than %d bytes", MaxFieldSize)
				}
				if d[p.pos] == '\r' { // CRLF line end
					break
				}
				p.pos++
			}
			field = string(d[start:p.pos])
		}
		fields = append(fields, field)
		switch {
		case p.pos >= len(d):
			return fields, nil
		case d[p.pos] == ',':
			p.pos++
		case d[p.pos] == '\n':
			p.pos++
			p.line++
			return fields, nil
		case d[p.pos] == '\r': // checked above: followed by LF
			p.pos += 2
			p.line++
			return fields, nil
		default:
			return nil, fail("unexpected %q", d[p.pos])
		}
	}
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Append returns log followed by r as its last row, and the row as written. r's
// Meta (its MetaRaw is ignored) is encoded as compact JSON, replaced by
// {"_truncated":true} when it is over MaxMetaSize, and "prev" is set to the hex
// SHA-256 of every byte of the result before the new row — so the chain holds
// even when the meta was dropped. An empty log starts with Header; a log whose
// last line has no LF gets one first (the hash covers it). The existing log must
// parse: appending to a broken one could glue the new row into a broken field.
// Fields are made valid UTF-8; TS must be an ISO-8601 time and Action non-empty.
func Append(log []byte, r Row) ([]byte, Row, error) {
	var base []byte
	n := 0
	if len(log) == 0 {
		base = []byte(Header + "\n")
	} else {
		rows, err := Parse(log)
		if err != nil {
			return nil, Row{}, err
		}
		n = len(rows)
		base = log
		if log[len(log)-1] != '\n' {
			base = append(append(make([]byte, 0, len(log)+1), log...), '\n')
		}
	}
	for _, s := range []*string{&r.TS, &r.Action, &r.VersionTS, &r.Hostname, &r.LocalIP, &r.OSUser, &r.GitEmail, &r.VsyncVersion, &r.BunVersion} {
		*s = strings.ToValidUTF8(*s, "\uFFFD")
		if len(*s) > MaxFieldSize/2 {
			*s = clip(*s, MaxFieldSize/2)
		}
	}
	t, err := time.Parse(time.RFC3339Nano, r.TS)
	if err != nil {
		return nil, Row{}, fmt.Errorf("the new row's ts %q is not an ISO-8601 time", r.TS)
	}
	if r.Action == "" {
		return nil, Row{}, errors.New("the new row has no action")
	}
	meta := make(map[string]any, len(r.Meta)+1)
	for k, v := range r.Meta {
		if k != MetaPrev {
			meta[k] = v
		}
	}
	user, err := EncodeMeta(meta)
	if err != nil || len(user) > MaxMetaSize {
		meta = map[string]any{MetaTruncated: true}
	}
	sum := sha256.Sum256(base)
	meta[MetaPrev] = hex.EncodeToString(sum[:])
	if r.MetaRaw, err = EncodeMeta(meta); err != nil {
		return nil, Row{}, err // cannot happen: only bool and string values
	}
	r.Meta, _ = DecodeMeta(r.MetaRaw)
	line := r.Format()
	out := make([]byte, 0, len(base)+len(line))
	out = append(append(out, base...), line...)
	if len(out) > MaxLogSize {
		return nil, Row{}, fmt.Errorf("%w: rotate it (rename the object) to start a new one", ErrTooLarge)
	}
	r.Time = t
	r.Num, r.Offset, r.End, r.Line = n+1, len(base), len(out), 1+bytes.Count(base, []byte{'\n'})
	return out, r, nil
}
