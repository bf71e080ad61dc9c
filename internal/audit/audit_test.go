package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// specHeader is SPEC §7's header line, typed out here so that a change of the
// constant cannot go unnoticed.
const specHeader = "ts,action,version_ts,hostname,local_ip,os_user,git_email,vsync_version,bun_version,meta\n"

func readFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/typescript-0.13.csv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newRow(i int, action string) Row {
	return Row{
		TS:           time.Date(2026, 2, 1, 12, 0, i, 1e6*i, time.UTC).Format(TimeLayout),
		Action:       action,
		VersionTS:    fmt.Sprintf("20260201-1200%02d", i),
		Hostname:     fmt.Sprintf("host-%d", i),
		LocalIP:      "10.0.0.1",
		OSUser:       "dev",
		GitEmail:     "dev@example.com",
		VsyncVersion: "git-vsync/v0.1.0",
		BunVersion:   "go1.26.8",
		Meta:         map[string]any{"note": fmt.Sprintf("row %d", i)},
	}
}

func mustAppend(t *testing.T, log []byte, r Row) []byte {
	t.Helper()
	out, _, err := Append(log, r)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return out
}

func TestHeaderIsSpecBytes(t *testing.T) {
	if Header+"\n" != specHeader {
		t.Fatalf("Header = %q", Header)
	}
	if strings.Join(Columns, ",") != Header {
		t.Fatalf("Columns = %q", Columns)
	}
	out := mustAppend(t, nil, newRow(1, "push"))
	if !bytes.HasPrefix(out, []byte(specHeader)) {
		t.Fatalf("a new log starts with %q", out[:min(len(out), len(specHeader))])
	}
	if bytes.Contains(out, []byte("\r")) {
		t.Fatal("the writer wrote a CR")
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"plain":            "plain",
		" spaced ":         " spaced ",
		"a,b":              `"a,b"`,
		`say "hi"`:         `"say ""hi"""`,
		"two\nlines":       "\"two\nlines\"",
		"cr\rhere":         "\"cr\rhere\"",
		"crlf\r\n":         "\"crlf\r\n\"",
		`"`:                `""""`,
		`{"note":"a, b"}`:  `"{""note"":""a, b""}"`,
		"ünïcödé ✓":        "ünïcödé ✓",
		"tab\there; semi;": "tab\there; semi;",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatByteExact(t *testing.T) {
	r := Row{TS: "2026-02-01T12:00:00.000Z", Action: "push", VersionTS: "20260201-120000", Hostname: "h,1",
		LocalIP: "", OSUser: `o"u`, GitEmail: "e@x", VsyncVersion: "git-vsync/dev", BunVersion: "go1.26.8",
		MetaRaw: `{"note":"a\nb","prev":"00"}`}
	want := "2026-02-01T12:00:00.000Z,push,20260201-120000,\"h,1\",,\"o\"\"u\",e@x,git-vsync/dev,go1.26.8,\"{\"\"note\"\":\"\"a\\nb\"\",\"\"prev\"\":\"\"00\"\"}\"\n"
	if got := string(r.Format()); got != want {
		t.Fatalf("Format:\n got %q\nwant %q", got, want)
	}
}

func TestAppendByteExact(t *testing.T) {
	r := newRow(0, "push")
	r.Meta = map[string]any{"note": "<b> & co", "ticket": "OPS-1"}
	out, row, err := Append(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(specHeader))
	prev := hex.EncodeToString(sum[:])
	want := specHeader + "2026-02-01T12:00:00.000Z,push,20260201-120000,host-0,10.0.0.1,dev,dev@example.com,git-vsync/v0.1.0,go1.26.8," +
		`"{""note"":""<b> & co"",""prev"":""` + prev + `"",""ticket"":""OPS-1""}"` + "\n"
	if string(out) != want {
		t.Fatalf("Append:\n got %q\nwant %q", out, want)
	}
	if row.Num != 1 || row.Line != 2 || row.Offset != len(specHeader) || row.End != len(out) {
		t.Fatalf("row position %d/%d/%d/%d", row.Num, row.Line, row.Offset, row.End)
	}
	if p, ok := row.Prev(); !ok || p != prev {
		t.Fatalf("row prev %q %v", p, ok)
	}
}

func TestParseTypeScriptFixture(t *testing.T) {
	data := readFixture(t)
	rows, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	if r.Num != 1 || r.Line != 2 || r.Action != "push" || r.VersionTS != "20260115-091203" || r.Hostname != "alice-mbp" ||
		r.LocalIP != "192.168.1.23" || r.OSUser != "alice" || r.GitEmail != "alice@example.com" || r.VsyncVersion != "0.13.2" ||
		r.BunVersion != "1.1.38" || r.MetaRaw != "" || r.Meta != nil {
		t.Fatalf("row 1 = %+v", r)
	}
	if !r.Time.Equal(time.Date(2026, 1, 15, 9, 12, 3, 417e6, time.UTC)) {
		t.Fatalf("row 1 time %v", r.Time)
	}
	if rows[1].Note() != "nightly, after deploy" || rows[1].MetaRaw != `{"note":"nightly, after deploy"}` || rows[1].GitEmail != "" {
		t.Fatalf("row 2 = %+v", rows[1])
	}
	if rows[2].Note() != "onboard carol\nsee OPS-12" || rows[2].Meta["ticket"] != "OPS-12" || rows[2].VersionTS != "" {
		t.Fatalf("row 3 = %+v", rows[2])
	}
	for _, r := range rows {
		if _, ok := r.Prev(); ok {
			t.Fatalf("row %d has prev", r.Num)
		}
		if !bytes.Equal(data[r.Offset:r.End], r.Format()) {
			t.Fatalf("row %d does not re-format to its bytes: %q vs %q", r.Num, data[r.Offset:r.End], r.Format())
		}
	}
	rep, err := Verify(data)
	if err != nil || rep != (Report{Rows: 4, Unchained: 4}) {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	// Appending keeps the TypeScript rows byte for byte.
	out := mustAppend(t, data, newRow(1, "pull"))
	if !bytes.HasPrefix(out, data) {
		t.Fatal("Append changed the existing rows")
	}
	rep, err = Verify(out)
	if err != nil || rep != (Report{Rows: 5, Chained: 1, Unchained: 4, LastChained: 5}) {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

func TestParseQuotedNewlinesCommasCRLF(t *testing.T) {
	fields := []string{"2026-02-01T12:00:00.000Z", "push", "", "host,with,commas", "", "line1\nline2\r\nline3", `q"uo"te`, "v", "b", `{"note":"x,\"y\""}`}
	lf := []byte(specHeader)
	lf = append(lf, FormatRecord(fields)...)
	lf = append(lf, FormatRecord(fields)...)
	crlf := bytes.ReplaceAll([]byte(specHeader), []byte("\n"), []byte("\r\n"))
	rec := FormatRecord(fields)
	crlf = append(crlf, rec[:len(rec)-1]...)
	crlf = append(crlf, "\r\n\r\n"...) // a blank line too
	crlf = append(crlf, rec[:len(rec)-1]...)
	for name, data := range map[string][]byte{"lf": lf, "crlf": crlf, "bom": append([]byte(bom), lf...), "no final LF": lf[:len(lf)-1]} {
		rows, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows", name, len(rows))
		}
		for _, r := range rows {
			if got := r.Fields(); strings.Join(got, "|") != strings.Join(fields, "|") {
				t.Fatalf("%s: fields %q", name, got)
			}
			if r.Meta["note"] != `x,"y"` {
				t.Fatalf("%s: meta %v", name, r.Meta)
			}
		}
		wantLine := 5 // the first row spans lines 2-4
		if name == "crlf" {
			wantLine = 6 // and a blank line follows it
		}
		if rows[0].Line != 2 || rows[1].Line != wantLine {
			t.Fatalf("%s: lines %d %d", name, rows[0].Line, rows[1].Line)
		}
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	good := "2026-02-01T12:00:00.000Z,push,,h,,u,e,v,b,"
	cases := []struct {
		name, data, want string
		line, row        int
	}{
		{"not csv", "<html>Access Denied</html>\n", "the header is", 1, 0},
		{"other header", "ts,action\n", "the header is", 1, 0},
		{"blank only", "\n\n", "no header line", 3, 0},
		{"unclosed quote", specHeader + good + "\n" + `2026-02-01T12:00:00.000Z,push,,"h` + "\nmore\n", "never closed", 3, 2},
		{"quote in field", specHeader + `2026-02-01T12:00:00.000Z,pu"sh,,h,,u,e,v,b,` + "\n", "quote inside unquoted field 2", 2, 1},
		{"text after quote", specHeader + `2026-02-01T12:00:00.000Z,"push"x,,h,,u,e,v,b,` + "\n", "after the closing quote of field 2", 2, 1},
		{"stray CR", specHeader + "2026-02-01T12:00:00.000Z,pu\rsh,,h,,u,e,v,b,\n", "carriage return", 2, 1},
		{"too few fields", specHeader + "2026-02-01T12:00:00.000Z,push,,h,,u,e,v,b\n", "9 fields, want 10", 2, 1},
		{"too many fields", specHeader + good + ",x\n", "11 fields, want 10", 2, 1},
		{"runaway fields", specHeader + strings.Repeat(",", 100) + "\n", "more than 40 fields", 2, 1},
		{"bad ts", specHeader + "yesterday,push,,h,,u,e,v,b,\n", "not an ISO-8601 time", 2, 1},
		{"no action", specHeader + "2026-02-01T12:00:00.000Z,,,h,,u,e,v,b,\n", "empty action", 2, 1},
		{"meta not object", specHeader + good + "[1]\n", "meta is not a JSON object", 2, 1},
		{"meta broken", specHeader + good + "{oops\n", "meta is not a JSON object", 2, 1},
		{"meta trailing", specHeader + good + `"{}{}"` + "\n", "data after the object", 2, 1},
		{"bad utf8", specHeader + "2026-02-01T12:00:00.000Z,push,,h\xff,,u,e,v,b,\n", "hostname is not valid UTF-8", 2, 1},
		{"second row", specHeader + good + "\n" + good + "\n" + "x\n", "1 fields", 4, 3},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.data))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want a *ParseError", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || pe.Line != c.line || pe.Row != c.row {
			t.Errorf("%s: err = %v (line %d row %d), want %q at line %d row %d", c.name, err, pe.Line, pe.Row, c.want, c.line, c.row)
		}
		if _, err := Verify([]byte(c.data)); err == nil {
			t.Errorf("%s: Verify accepted it", c.name)
		}
		if _, _, err := Append([]byte(c.data), newRow(1, "push")); err == nil {
			t.Errorf("%s: Append accepted it", c.name)
		}
	}
	big := make([]byte, MaxLogSize+1)
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big: %v", err)
	}
	long := specHeader + "2026-02-01T12:00:00.000Z,push,,\"" + strings.Repeat("x", MaxFieldSize+1) + "\",,u,e,v,b,\n"
	if _, err := Parse([]byte(long)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("long field: %v", err)
	}
}

func TestParseEmpty(t *testing.T) {
	rows, err := Parse(nil)
	if err != nil || rows != nil {
		t.Fatalf("Parse(nil) = %v, %v", rows, err)
	}
	rep, err := Verify(nil)
	if err != nil || rep != (Report{}) {
		t.Fatalf("Verify(nil) = %v, %v", rep, err)
	}
	rows, err = Parse([]byte(specHeader))
	if err != nil || len(rows) != 0 {
		t.Fatalf("header only: %v, %v", rows, err)
	}
}

// chainedLog is the TypeScript fixture (4 unchained rows), 3 chained rows, one
// more unchained row (the TypeScript tool wrote again) and 2 chained rows: rows
// 1-4 and 8 unchained, 5-7 and 9-10 chained.
func chainedLog(t *testing.T) []byte {
	t.Helper()
	log := readFixture(t)
	for i := 1; i <= 3; i++ {
		log = mustAppend(t, log, newRow(i, "push"))
	}
	log = append(log, "2026-02-02T00:00:00.000Z,pull,20260201-120003,ts-box,,eve,,0.13.4,1.2.0,\n"...)
	for i := 4; i <= 5; i++ {
		log = mustAppend(t, log, newRow(i, "pull"))
	}
	return log
}

func TestVerifyIntact(t *testing.T) {
	log := chainedLog(t)
	rep, err := Verify(log)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (Report{Rows: 10, Chained: 5, Unchained: 5, LastChained: 10}) {
		t.Fatalf("report %+v", rep)
	}
}

// rowSpans returns the byte ranges of the log's rows.
func rowSpans(t *testing.T, log []byte) [][2]int {
	rows, err := Parse(log)
	if err != nil {
		t.Fatal(err)
	}
	var s [][2]int
	for _, r := range rows {
		s = append(s, [2]int{r.Offset, r.End})
	}
	return s
}

func splice(log []byte, at [2]int, with []byte) []byte {
	out := append([]byte{}, log[:at[0]]...)
	out = append(out, with...)
	return append(out, log[at[1]:]...)
}

// firstChainedAfter is the row Verify must name when row k (1-based) changed.
func firstChainedAfter(k int) int {
	for _, c := range []int{5, 6, 7, 9, 10} {
		if c > k {
			return c
		}
	}
	return 0
}

func expectTamper(t *testing.T, what string, log []byte, row int) {
	t.Helper()
	_, err := Verify(log)
	var te *TamperError
	if !errors.As(err, &te) {
		t.Fatalf("%s: Verify = %v, want a *TamperError", what, err)
	}
	if te.Row != row {
		t.Fatalf("%s: failure names row %d (%v), want row %d", what, te.Row, err, row)
	}
	if te.TS == "" || te.Action == "" || !strings.Contains(err.Error(), fmt.Sprintf("row %d (", row)) {
		t.Fatalf("%s: message %q", what, err)
	}
}

func TestVerifyDetectsEditsDeletionsReorderings(t *testing.T) {
	log := chainedLog(t)
	spans := rowSpans(t, log)
	last := 10
	for k := 1; k < last; k++ {
		sp := spans[k-1]
		rowBytes := log[sp[0]:sp[1]]

		// Edit: change one character of the hostname.
		edited := bytes.Replace(rowBytes, []byte(","), []byte(",x"), 3)
		expectTamper(t, fmt.Sprintf("edit row %d", k), splice(log, sp, edited), firstChainedAfter(k))

		// Deletion: the rows after it move up by one.
		expectTamper(t, fmt.Sprintf("delete row %d", k), splice(log, sp, nil), firstChainedAfter(k)-1)

		// Reordering: swap row k with row k+1.
		nx := spans[k]
		swapped := append([]byte{}, log[:sp[0]]...)
		swapped = append(swapped, log[nx[0]:nx[1]]...)
		swapped = append(swapped, rowBytes...)
		swapped = append(swapped, log[nx[1]:]...)
		// Row k now holds the old row k+1: if that one is chained it fails first.
		wantRow := firstChainedAfter(k)
		switch {
		case isChained(k + 1):
			wantRow = k
		case isChained(k): // the old row k, now row k+1, no longer follows what it hashed
			wantRow = k + 1
		}
		expectTamper(t, fmt.Sprintf("swap rows %d and %d", k, k+1), swapped, wantRow)

		// Insertion of a forged unchained row before row k.
		forged := []byte("2026-01-01T00:00:00.000Z,push,,forged,,mallory,,0.13.2,1.1.38,\n")
		expectTamper(t, fmt.Sprintf("insert before row %d", k), splice(log, [2]int{sp[0], sp[0]}, forged), firstChainedAfter(k-1)+1)
	}
	// The bytes before the first row are covered too: a byte order mark slipped
	// in front of the header breaks the first chained row, another header fails
	// to parse.
	expectTamper(t, "BOM before the header", append([]byte(bom), log...), 5)
	if _, err := Verify(bytes.Replace(log, []byte("bun_version"), []byte("bun_versioN"), 1)); err == nil {
		t.Fatal("edited header accepted")
	}
}

func isChained(row int) bool {
	switch row {
	case 5, 6, 7, 9, 10:
		return true
	}
	return false
}

func TestVerifyStrippedPrev(t *testing.T) {
	log := chainedLog(t)
	rows, _ := Parse(log)
	r := rows[9] // row 10, chained, git-vsync
	stripped := r
	delete(stripped.Meta, MetaPrev)
	stripped.MetaRaw, _ = EncodeMeta(stripped.Meta)
	expectTamper(t, "strip prev", splice(log, [2]int{r.Offset, r.End}, stripped.Format()), 10)
	// A malformed prev does not match either.
	bad := r
	bad.MetaRaw = `{"prev":42}`
	expectTamper(t, "numeric prev", splice(log, [2]int{r.Offset, r.End}, bad.Format()), 10)
}

func TestAppendTruncatesLargeMeta(t *testing.T) {
	r := newRow(1, "push")
	r.Meta = map[string]any{"note": strings.Repeat("n", MaxMetaSize-len(`{"note":""}`))}
	_, row, err := Append(nil, r)
	if err != nil || row.Meta["_truncated"] != nil || row.Note() != r.Meta["note"] {
		t.Fatalf("meta of exactly %d bytes: %v %v", MaxMetaSize, err, row.MetaRaw[:40])
	}
	r.Meta = map[string]any{"note": strings.Repeat("n", MaxMetaSize)}
	log, row, err := Append(readFixture(t), r)
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := row.Prev()
	if row.MetaRaw != `{"_truncated":true,"prev":"`+prev+`"}` || row.Note() != "" {
		t.Fatalf("meta = %s", row.MetaRaw)
	}
	if _, err := Verify(log); err != nil {
		t.Fatalf("Verify after truncation: %v", err)
	}
}

func TestAppendOverridesPrevAndFixes(t *testing.T) {
	r := newRow(1, "push")
	r.Meta = map[string]any{"prev": "forged"}
	r.Hostname = "bad\xffhost"
	noLF := bytes.TrimSuffix(readFixture(t), []byte("\n"))
	log, row, err := Append(noLF, r)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := row.Prev(); p == "forged" || row.Hostname != "bad\uFFFDhost" {
		t.Fatalf("row %+v", row)
	}
	if !bytes.HasPrefix(log, append(noLF, '\n')) {
		t.Fatal("missing LF not added")
	}
	if rep, err := Verify(log); err != nil || rep.Chained != 1 {
		t.Fatalf("Verify %+v %v", rep, err)
	}
	if _, _, err := Append(nil, Row{TS: "now", Action: "push"}); err == nil {
		t.Fatal("bad ts accepted")
	}
	if _, _, err := Append(nil, Row{TS: "2026-02-01T12:00:00.000Z"}); err == nil {
		t.Fatal("empty action accepted")
	}
}

func TestMarshalJSON(t *testing.T) {
	rows, err := Parse(readFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rows[:2])
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"ts":"2026-01-15T09:12:03.417Z","action":"push","version_ts":"20260115-091203","hostname":"alice-mbp","local_ip":"192.168.1.23","os_user":"alice","git_email":"alice@example.com","vsync_version":"0.13.2","bun_version":"1.1.38","meta":null},` +
		`{"ts":"2026-01-15T10:40:55.002Z","action":"pull","version_ts":"20260115-091203","hostname":"build-01","local_ip":"10.0.3.7","os_user":"ci","git_email":"","vsync_version":"0.13.2","bun_version":"1.1.38","meta":{"note":"nightly, after deploy"}}]`
	if string(b) != want {
		t.Fatalf("JSON:\n got %s\nwant %s", b, want)
	}
	var back []map[string]any
	if err := json.Unmarshal(b, &back); err != nil || len(back[0]) != len(Columns) {
		t.Fatalf("keys: %v %v", back, err)
	}
}

func TestDecodeMetaKeepsNumbers(t *testing.T) {
	m, err := DecodeMeta(`{"n":12345678901234567890,"ok":true}`)
	if err != nil || m["n"].(json.Number).String() != "12345678901234567890" {
		t.Fatalf("%v %v", m, err)
	}
	if m, err := DecodeMeta("{}"); err != nil || m == nil {
		t.Fatalf("{}: %v %v", m, err)
	}
	for _, bad := range []string{"null", " {}", "{} x", `"s"`, "{"} {
		if _, err := DecodeMeta(bad); err == nil {
			t.Errorf("DecodeMeta(%q) accepted", bad)
		}
	}
}
