package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds the reader arbitrary bytes. It must never panic; whatever it
// accepts must re-format to rows that parse back to the same fields, verify
// without panicking, and take one more chained row that verifies.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		specHeader,
		specHeader + "2026-02-01T12:00:00.000Z,push,20260201-120000,h,10.0.0.1,u,e@x,git-vsync/dev,go1.26.8,\n",
		specHeader + "2026-02-01T12:00:00.000Z,pull,,\"h,1\",,\"o\"\"u\",,0.13.2,1.1.38,\"{\"\"note\"\":\"\"a, b\"\"}\"\n",
		specHeader + "2026-02-01T12:00:00.000Z,push,,\"multi\nline\r\nhost\",,u,,v,b,\n",
		strings.ReplaceAll(specHeader, "\n", "\r\n") + "2026-02-01T12:00:00Z,push,,h,,u,,v,b,\"{}\"\r\n\r\n",
		bom + specHeader + "2026-02-01T12:00:00.000+02:00,export,,h,,u,,v,b,",
		specHeader + "2026-02-01T12:00:00.000Z,push,,\"unterminated\n",
		specHeader + "2026-02-01T12:00:00.000Z,pu\"sh,,h,,u,,v,b,\n",
		specHeader + "2026-02-01T12:00:00.000Z,push,,h,,u,,v,b,\"{\"\"prev\"\":\"\"00\"\"}\"\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := Parse(data)
		if _, verr := Verify(data); (err == nil) != (verr == nil || isTamper(verr)) {
			t.Fatalf("Parse err %v but Verify err %v", err, verr)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if _, _, aerr := Append(data, newRow(1, "push")); aerr == nil {
				t.Fatal("Append accepted a log Parse rejects")
			}
			return
		}
		var again bytes.Buffer
		again.WriteString(specHeader)
		for _, r := range rows {
			again.Write(r.Format())
		}
		back, err := Parse(again.Bytes())
		if err != nil {
			t.Fatalf("re-formatted rows do not parse: %v", err)
		}
		if len(back) != len(rows) {
			t.Fatalf("%d rows, then %d", len(rows), len(back))
		}
		for i := range rows {
			if strings.Join(rows[i].Fields(), "\x00") != strings.Join(back[i].Fields(), "\x00") {
				t.Fatalf("row %d changed: %q → %q", i+1, rows[i].Fields(), back[i].Fields())
			}
		}
		out, row, err := Append(data, newRow(1, "push"))
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return
			}
			t.Fatalf("Append: %v", err)
		}
		sum := sha256.Sum256(out[:row.Offset])
		if p, _ := row.Prev(); p != hex.EncodeToString(sum[:]) {
			t.Fatal("the new row's prev is not the hash of the bytes before it")
		}
		all, err := Parse(out)
		if err != nil || len(all) != len(rows)+1 || all[len(rows)].Offset != row.Offset {
			t.Fatalf("after Append: %d rows, %v", len(all), err)
		}
		if _, err := Verify(out); err != nil {
			var te *TamperError
			if !errors.As(err, &te) || te.Row > len(rows) {
				t.Fatalf("Verify after Append: %v", err)
			}
		}
	})
}

func isTamper(err error) bool {
	var te *TamperError
	return errors.As(err, &te)
}
