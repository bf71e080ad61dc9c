package rqem

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

func TestValidTS(t *testing.T) {
	good := []string{"20260429-103045", "00000000-000000", "99999999-999999"}
	bad := []string{"", "20260429103045", "20260429-10304", "20260429-1030450", "2026042x-103045",
		"20260429_103045", " 20260429-10304", "２0260429-103045", "20260429-10304５", "2026-04-29T1030"}
	for _, s := range good {
		if !ValidTS(s) {
			t.Errorf("ValidTS(%q) = false", s)
		}
	}
	for _, s := range bad {
		if ValidTS(s) {
			t.Errorf("ValidTS(%q) = true", s)
		}
	}
}

func TestFormatTS(t *testing.T) {
	tz := time.FixedZone("x", 5*3600+30*60)
	at := time.Date(2026, 4, 29, 16, 0, 45, 999, tz)
	if got := FormatTS(at); got != "20260429-103045" {
		t.Fatalf("FormatTS = %q", got)
	}
	if !ValidTS(FormatTS(time.Now())) {
		t.Fatal("FormatTS(now) is not valid")
	}
}

func TestRoundTrip(t *testing.T) {
	for _, payload := range [][]byte{nil, []byte("PK\x03\x04zip"), bytes.Repeat([]byte{7}, 1000)} {
		data := Seal("20260501-091500", payload)
		if string(data[:8]) != Magic || len(data) != HeaderSize+len(payload) {
			t.Fatal("bad layout")
		}
		ts, p, err := Parse(data)
		if err != nil || ts != "20260501-091500" || !bytes.Equal(p, payload) {
			t.Fatalf("Parse: %q %v", ts, err)
		}
		p, err = Open(data, "20260501-091500")
		if err != nil || !bytes.Equal(p, payload) {
			t.Fatalf("Open: %v", err)
		}
	}
}

func TestSealPanicsOnBadTS(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Seal("2026-05-01", nil)
}

func TestErrors(t *testing.T) {
	good := Seal("20260429-103045", []byte("secret zip bytes"))
	cases := map[string][]byte{
		"empty":      nil,
		"magic only": []byte(Magic),
		"short":      good[:HeaderSize-1],
		"magic":      append([]byte("XQEM0001"), good[8:]...),
		"version":    append([]byte("RQEM0002"), good[8:]...),
		"ts letter":  append(append([]byte(Magic), "2026042X-103045"...), "secret"...),
		"ts dash":    append(append([]byte(Magic), "20260429 103045"...), "secret"...),
	}
	for name, data := range cases {
		_, _, err := Parse(data)
		if envelope.KindOf(err) != envelope.KindBundleCorrupt {
			t.Errorf("%s: Parse error %v", name, err)
		}
		_, err = Open(data, "20260429-103045")
		if envelope.KindOf(err) != envelope.KindBundleCorrupt {
			t.Errorf("%s: Open error %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error quotes the payload", name)
		}
	}
	_, err := Open(good, "20260501-091500")
	if envelope.KindOf(err) != envelope.KindBundleCorrupt {
		t.Fatalf("mismatch: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "20260429-103045") || !strings.Contains(msg, "20260501-091500") {
		t.Fatalf("mismatch message should name both timestamps: %q", msg)
	}
}

func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "conformance", "rqem0001-manifest", "*.bin"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(Seal("20260429-103045", nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, payload, err := Parse(data)
		if err != nil {
			if envelope.KindOf(err) != envelope.KindBundleCorrupt {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if !ValidTS(ts) || !bytes.Equal(Seal(ts, payload), data) {
			t.Fatal("accepted a seal that does not round-trip")
		}
		if _, err := Open(data, ts); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPointerTS(t *testing.T) {
	for s, want := range map[string]bool{
		"20260429-103045": true, "99981231-235959": true,
		"99991231-235959": false, // no next second in the format
		"99999999-999999": false, "20261301-000000": false, "20260229-000000": false,
		"00000000-000000": false, "not-a-timestamp": false,
	} {
		if PointerTS(s) != want {
			t.Errorf("PointerTS(%q) = %v", s, !want)
		}
	}
}

// FuzzPointerTS: what PointerTS accepts is a timestamp of the format that a
// clock can write and after which the next second can be written too (a push
// moves past it); it never panics.
func FuzzPointerTS(f *testing.F) {
	for _, s := range []string{"20260429-103045", "99991231-235959", "99981231-235959", "99999999-999999", "20260229-000000", "", "2026042x-103045"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !PointerTS(s) {
			return
		}
		tm, err := time.Parse(TSLayout, s)
		if err != nil || !ValidTS(s) || FormatTS(tm) != s {
			t.Fatalf("PointerTS(%q) but it does not round-trip: %v", s, err)
		}
		if next := FormatTS(tm.Add(time.Second)); !ValidTS(next) || next <= s {
			t.Fatalf("PointerTS(%q) but the next second %q is not a later timestamp", s, next)
		}
	})
}
