package state

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// viaJSON decodes data with encoding/json, the reference decodeFast follows.
func viaJSON(t *testing.T, data []byte) (*State, error) {
	t.Helper()
	var s State
	err := json.Unmarshal(data, &s)
	return &s, err
}

// sameState compares two decoded states by their encoding (times by their
// instant and offset, Files nil apart from empty).
func sameState(t *testing.T, a, b *State) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// TestDecodeFastReadsWhatSaveWrites: the states this package writes take the
// fast path (else an up-to-date check of a large vault is as slow as before)
// and decode exactly as encoding/json decodes them, names with escapes and
// non-ASCII included.
func TestDecodeFastReadsWhatSaveWrites(t *testing.T) {
	dir := t.TempDir()
	for i, s := range []*State{
		{Env: "dev"},
		{Env: "dev", Files: []File{}},
		{Repo: "acme/app", Env: "dev", TS: "20260101-000000", Seen: "20260102-000000", ETag: `"abc"`, Op: "pull",
			Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), StatTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 7200)),
			KeyFP: "0011223344556677", Sealed: "ff",
			Files: []File{
				{Path: "a", Size: 3, SHA256: "ab", Stat: "3:1:2:3:4"},
				{Path: "d", Dir: true},
				{Path: "d/quote\"back\\slash<&>\t", Size: 0, SHA256: "00"},
				{Path: "d/é ü 秘密", Size: 1 << 40, SHA256: "01", Stat: "x"},
				{Path: "d/\u2028", Size: 9223372036854775807},
			}},
	} {
		s.Env = "dev"
		if err := Save(dir, s); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(Path(dir, "dev"))
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := decodeFast(string(data))
		if !ok {
			t.Fatalf("%d: the fast path refused a state Save wrote:\n%s", i, data)
		}
		ref, err := viaJSON(t, data)
		if err != nil || !sameState(t, fast, ref) {
			t.Fatalf("%d: fast %+v\nencoding/json %+v (%v)", i, fast, ref, err)
		}
	}
}

// TestDecodeFastStateOfVersion1Files: a state file as git-vsync wrote it before
// the fast decoder (MarshalIndent, one space) still reads, with every field.
func TestDecodeFastStateOfVersion1Files(t *testing.T) {
	data := []byte(`{
 "version": 1,
 "repo": "acme/app",
 "env": "dev",
 "ts": "20261201-051506",
 "seen": "20261201-051506",
 "etag": "\"9b2c\"",
 "op": "pull",
 "time": "2026-12-01T05:15:08.123456789Z",
 "files": [
  {
   "path": "d000",
   "size": 0,
   "dir": true
  },
  {
   "path": "d000/f00000.bin",
   "size": 2048,
   "sha256": "5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
   "stat": "2048:1764566104000000000:1764566108000000000:2049:131"
  }
 ],
 "stat_time": "2026-12-01T05:15:08.5Z",
 "key_fp": "0011223344556677"
}
`)
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := decodeFast(string(data)); !ok {
		t.Fatal("the fast path refused a version 1 state")
	}
	if s.Repo != "acme/app" || s.ETag != `"9b2c"` || s.Op != "pull" || len(s.Files) != 2 || !s.Files[0].Dir ||
		s.Files[1].Stat != "2048:1764566104000000000:1764566108000000000:2049:131" || s.Files[1].Size != 2048 ||
		!s.StatTime.Equal(time.Date(2026, 12, 1, 5, 15, 8, 5e8, time.UTC)) || s.KeyFP != "0011223344556677" {
		t.Fatalf("decoded %+v", s)
	}
}

// TestDecodeFastLeavesTheRestToEncodingJSON: what the fast path does not
// handle (other spellings, duplicates, nulls, fractions, unknown keys) goes to
// encoding/json, so Parse answers as it always did.
func TestDecodeFastLeavesTheRestToEncodingJSON(t *testing.T) {
	for name, in := range map[string]string{
		"case":      `{"Version":1,"files":[{"PATH":"a"}]}`,
		"unknown":   `{"version":1,"extra":{"x":[1,2]},"files":[]}`,
		"duplicate": `{"version":2,"version":1}`,
		"null":      `{"version":1,"files":null}`,
		"fraction":  `{"version":1,"files":[{"path":"a","size":1.0}]}`,
		"exponent":  `{"version":1e0}`,
		"escaped":   `{"vers\u0069on":1}`,
		"badutf8":   "{\"version\":1,\"repo\":\"\xff\"}",
		"trailing":  `{"version":1} x`,
		"leadzero":  `{"version":01}`,
		"big":       `{"version":1,"files":[{"path":"a","size":9223372036854775808}]}`,
	} {
		data := []byte(in)
		if s, ok := decodeFast(string(data)); ok {
			ref, err := viaJSON(t, data)
			if err != nil || !sameState(t, s, ref) {
				t.Errorf("%s: the fast path decoded %+v where encoding/json gives %+v (%v)", name, s, ref, err)
			}
			continue
		}
		got, gotErr := Parse(data)
		ref, refErr := viaJSON(t, data)
		if (gotErr == nil) != (refErr == nil) || (gotErr == nil && !sameState(t, got, ref)) {
			t.Errorf("%s: Parse %+v (%v), encoding/json %+v (%v)", name, got, gotErr, ref, refErr)
		}
	}
}

// TestParseRefusesHostileStates: a state of a hundred thousand empty objects, a
// duplicate path out of order, and one over the size bound are refused.
func TestParseRefusesHostileStates(t *testing.T) {
	empties := `{"version":1,"files":[` + string(bytes.Repeat([]byte(`{},`), 200_000)) + `{}]}`
	if _, err := Parse([]byte(empties)); err == nil {
		t.Error("a state of empty file entries was accepted")
	}
	if _, err := Parse([]byte(`{"version":1,"files":[{"path":"b"},{"path":"a"},{"path":"b"}]}`)); err == nil {
		t.Error("a duplicate path out of order was accepted")
	}
	if _, err := Parse(make([]byte, maxStateBytes+1)); err == nil {
		t.Error("an oversized state was accepted")
	}
}

// FuzzDecodeFast: whatever the fast path accepts, encoding/json accepts too and
// decodes to the same state; and so for the head LoadHead decodes.
func FuzzDecodeFast(f *testing.F) {
	f.Add([]byte(`{"version":1,"ts":"20260101-000000","files":[{"path":"a","size":1,"sha256":"00","stat":"1:2:3:4:5"},{"path":"d","dir":true}]}`))
	f.Add([]byte(`{"version":1,"time":"2026-01-02T03:04:05+02:00","stat_time":"2026-01-02T03:04:05Z","files":[]}`))
	f.Add([]byte(`{"version":1,"repo":"a\"b\u00e9\\","files":[{"path":"\ud83d\ude00","size":-0}]}`))
	f.Add([]byte(" {\n \"version\" : 1 ,\r\n\t\"files\" : [ { } ] } \n"))
	f.Add([]byte(`{"version":1,"ts":"20260101-000000","stat_digest":"ab","files":[{"path":"a","size":1,"sha256":"00","stat":"1:2:3:4:5"}]}` + "\n"))
	f.Add([]byte(`{"version":1,"repo":"a\u0062","files":[`))
	f.Add([]byte(`{"version":1,"files":[{"path":"a","stat":"-1:0:18446744073709551615:9223372036854775807:1:2:3:4"},{"path":"b","stat":"1::2"},{"path":"c","stat":"-0:1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The head decoder (LoadHead) reads a head as encoding/json reads
		// it followed by an empty files array.
		if h, at, ok := decodeHead(string(data)); ok {
			ref, err := viaJSON(t, append(data[:at:at], "[]}"...))
			h.Files = []File{}
			if err != nil || !sameState(t, h, ref) {
				t.Fatalf("head %+v\nencoding/json %+v (%v)\ninput %q", h, ref, err, data)
			}
		}
		s, ok := decodeFast(string(data))
		if !ok {
			return
		}
		// A stat key the digest takes reads back as the same text (so two
		// keys that digest alike are the same key).
		for _, f := range s.Files {
			fields, ok := KeyFields(f.Stat, nil)
			if !ok {
				continue
			}
			var back []string
			for _, v := range fields {
				back = append(back, strconv.FormatInt(int64(v), 10))
			}
			if strings.Join(back, ":") != f.Stat {
				t.Fatalf("stat key %q reads as %v", f.Stat, fields)
			}
		}
		ref, err := viaJSON(t, data)
		if err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, data)
		}
		if !sameState(t, s, ref) {
			t.Fatalf("fast %+v\nencoding/json %+v\ninput %q", s, ref, data)
		}
	})
}
