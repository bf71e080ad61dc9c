package state

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeFast decodes a state file the way json.Unmarshal would into State, but
// only for what this package writes: the keys of State and File spelt exactly,
// each once, no null but for files, integers without fraction or exponent. Anything else
// gives ok false and the caller decodes with encoding/json, which then decides
// (and words any error). Every string is a slice of text, and Files
// is allocated once at its size: reflection and an allocation per string made
// decoding most of an up-to-date check of a large vault (20,000 files, 4 MB).
// FuzzDecodeFast checks that whatever it accepts decodes as encoding/json does.
func decodeFast(text string) (s *State, ok bool) {
	d := &decoder{s: text}
	s = &State{}
	d.ws()
	ok = d.object(func(key string) (int, bool) {
		if key == "files" {
			return bitFiles, d.files(&s.Files)
		}
		return d.headField(s, key)
	})
	d.ws()
	return s, ok && d.i == len(d.s)
}

// bitFiles is the bit of "files" among the keys object sees (headField's are
// the others).
const bitFiles = 1 << 12

// stopHere, returned by object's field, ends the object read successfully at
// the value of that key, left unread.
const stopHere = -1

// headField reads the value of key, a key of State other than files: its bit
// (0: unknown key) and whether the value was read.
func (d *decoder) headField(s *State, key string) (int, bool) {
	switch key {
	case "version":
		return 1, d.int(&s.Version)
	case "repo":
		return 2, d.string(&s.Repo)
	case "env":
		return 4, d.string(&s.Env)
	case "ts":
		return 8, d.string(&s.TS)
	case "seen":
		return 16, d.string(&s.Seen)
	case "etag":
		return 32, d.string(&s.ETag)
	case "op":
		return 64, d.string(&s.Op)
	case "time":
		return 128, d.time(&s.Time)
	case "stat_time":
		return 256, d.time(&s.StatTime)
	case "key_fp":
		return 512, d.string(&s.KeyFP)
	case "sealed":
		return 1024, d.string(&s.Sealed)
	case "stat_digest":
		return 2048, d.string(&s.StatDigest)
	}
	return 0, false
}

// decodeHead decodes the keys before "files" of a state laid out as write lays
// it out (files last): the state without its files, and the offset in text of
// the files' array, which is not read. ok is false when text does not hold such
// a head (no "files" array in it, another spelling, a value cut short).
func decodeHead(text string) (s *State, filesAt int, ok bool) {
	d := &decoder{s: text}
	s = &State{}
	d.ws()
	stopped := false
	ok = d.object(func(key string) (int, bool) {
		if key == "files" {
			stopped = true
			return stopHere, true
		}
		return d.headField(s, key)
	})
	if !ok || !stopped || d.peek() != '[' {
		return nil, 0, false
	}
	return s, d.i, true
}

// object reads an object whose keys field reads: field reads the value of key
// and returns the key's bit (0: unknown key; stopHere: stop before the value)
// and whether the value was read. A key twice fails.
func (d *decoder) object(field func(key string) (bit int, ok bool)) bool {
	if !d.byte('{') {
		return false
	}
	d.ws()
	if d.byte('}') {
		return true
	}
	seen := 0
	for {
		key, ok := d.plainString()
		if !ok {
			return false
		}
		d.ws()
		if !d.byte(':') {
			return false
		}
		d.ws()
		bit, ok := field(key)
		if bit == stopHere {
			return ok
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		d.ws()
		if d.byte(',') {
			d.ws()
			continue
		}
		return d.byte('}')
	}
}

type decoder struct {
	s string
	i int
}

func (d *decoder) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *decoder) byte(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// ws skips JSON white space.
func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// token returns the string token at the decoder, quotes included, and whether
// it is plain: no escape, no control character, valid UTF-8 (its content is then
// the text between the quotes).
func (d *decoder) token() (tok string, plain, ok bool) {
	if d.peek() != '"' {
		return "", false, false
	}
	start := d.i
	plain, ascii := true, true
	for j := d.i + 1; j < len(d.s); j++ {
		switch c := d.s[j]; {
		case c == '"':
			d.i = j + 1
			tok = d.s[start:d.i]
			if plain && !ascii && !utf8.ValidString(tok) {
				plain = false
			}
			return tok, plain, true
		case c == '\\':
			plain = false
			j++ // the escaped character, so an escaped quote does not end the string
		case c < 0x20:
			return "", false, false // not JSON
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false, false
}

// plainString reads a string without escapes (an object key).
func (d *decoder) plainString() (string, bool) {
	tok, plain, ok := d.token()
	if !ok || !plain {
		return "", false
	}
	return tok[1 : len(tok)-1], true
}

// string reads a string value; one with escapes or invalid UTF-8 is decoded by
// encoding/json (rare: paths with quotes, backslashes or <>&).
func (d *decoder) string(out *string) bool {
	tok, plain, ok := d.token()
	if !ok {
		return false
	}
	if plain {
		*out = tok[1 : len(tok)-1]
		return true
	}
	return json.Unmarshal([]byte(tok), out) == nil
}

func (d *decoder) time(out *time.Time) bool {
	tok, _, ok := d.token()
	return ok && out.UnmarshalJSON([]byte(tok)) == nil
}

// number reads a JSON integer: -?(0|[1-9][0-9]*), not followed by a fraction or
// an exponent.
func (d *decoder) number() (string, bool) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || (n > 1 && d.s[digits] == '0') {
		return "", false
	}
	if c := d.peek(); c == '.' || c == 'e' || c == 'E' {
		return "", false
	}
	return d.s[start:d.i], true
}

func (d *decoder) int(out *int) bool {
	tok, ok := d.number()
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(tok, 10, strconv.IntSize)
	*out = int(v)
	return err == nil
}

func (d *decoder) int64(out *int64) bool {
	tok, ok := d.number()
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(tok, 10, 64)
	*out = v
	return err == nil
}

func (d *decoder) bool(out *bool) bool {
	switch {
	case strings.HasPrefix(d.s[d.i:], "true"):
		*out, d.i = true, d.i+4
	case strings.HasPrefix(d.s[d.i:], "false"):
		*out, d.i = false, d.i+5
	default:
		return false
	}
	return true
}

// files reads the array of files (or null: none), allocated once: its length is counted first
// (a scan for the objects' braces outside strings).
func (d *decoder) files(out *[]File) bool {
	if strings.HasPrefix(d.s[d.i:], "null") { // Save of a state without files
		d.i += 4
		return true
	}
	if !d.byte('[') {
		return false
	}
	fs := make([]File, 0, min(d.countObjects(), maxPrealloc))
	d.ws()
	if d.byte(']') {
		*out = fs
		return true
	}
	var f *File // the file being read
	field := func(key string) (int, bool) {
		switch key {
		case "path":
			return 1, d.string(&f.Path)
		case "size":
			return 2, d.int64(&f.Size)
		case "sha256":
			return 4, d.string(&f.SHA256)
		case "dir":
			return 8, d.bool(&f.Dir)
		case "stat":
			return 16, d.string(&f.Stat)
		}
		return 0, false
	}
	for {
		fs = append(fs, File{})
		f = &fs[len(fs)-1]
		if !d.object(field) {
			return false
		}
		d.ws()
		if d.byte(',') {
			d.ws()
			continue
		}
		if !d.byte(']') {
			return false
		}
		*out = fs
		return true
	}
}

// maxPrealloc bounds the files allocated before they are read (a hostile state
// of empty objects); the bundle entry limit.
const maxPrealloc = 100_000

// countObjects counts the objects opening at depth 1 of the array the decoder
// is in (an estimate where the input is not what files() accepts, which then
// fails anyway).
func (d *decoder) countObjects() int {
	n, depth := 0, 0
	for j := d.i; j < len(d.s); j++ {
		switch d.s[j] {
		case '"':
			for j++; j < len(d.s) && d.s[j] != '"'; j++ {
				if d.s[j] == '\\' {
					j++
				}
			}
		case '{', '[':
			if depth == 0 && d.s[j] == '{' {
				n++
			}
			depth++
		case '}':
			depth--
		case ']':
			if depth == 0 {
				return n
			}
			depth--
		}
	}
	return n
}
