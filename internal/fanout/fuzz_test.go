package fanout

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
)

// The GitHub ledger comes from the bucket, which anyone with bucket access can
// write: parsing never panics, accepts only version 1, and what it accepts
// survives a write and a read unchanged.
func FuzzGHLedger(f *testing.F) {
	f.Add([]byte(`{"v":1,"targets":{"acme/web#prod":{"A":"00"}}}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"v":1,"targets":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := parseGHLedger(body)
		if err != nil {
			return
		}
		if doc.V != 1 || doc.Targets == nil {
			t.Fatalf("accepted %+v", doc)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseGHLedger(b)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		b2, _ := json.Marshal(again)
		if !bytes.Equal(b, b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}

var labelRE = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)

// Every owner maps to a valid GCP label value, and different owners stay apart
// (the long ones through their hash suffix).
func FuzzOwnerLabel(f *testing.F) {
	f.Add("acme_web/prod", "acme_web/dev")
	f.Add("x", "X")
	f.Fuzz(func(t *testing.T, a, b string) {
		la := ownerLabel(a)
		if !labelRE.MatchString(la) {
			t.Fatalf("ownerLabel(%q) = %q", a, la)
		}
		if len(a) > 63 && len(b) > 63 && a != b && la == ownerLabel(b) {
			t.Fatalf("%q and %q share label %q", a, b, la)
		}
	})
}

// Error bodies of any shape give a short one-line message or none, never a panic.
func FuzzAPIMessage(f *testing.F) {
	f.Add([]byte(`{"message":"Not Found"}`))
	f.Add([]byte(`{"errors":["permission denied"]}`))
	f.Add([]byte(`{"error":{"code":404,"message":"x"}}`))
	f.Add([]byte(`{"error":"bad"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m := apiMessage(body)
		if len(m) > 204 || bytes.ContainsAny([]byte(m), "\n\r") {
			t.Fatalf("message %q", m)
		}
	})
}
