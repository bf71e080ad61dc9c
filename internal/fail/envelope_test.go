package fail

import (
	"errors"
	"fmt"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

// TestKindCode: every kind the envelope defines has its code (the conformance
// README's table), and nothing else is mistaken for one.
func TestKindCode(t *testing.T) {
	want := map[envelope.Kind]Code{
		envelope.KindBundleCorrupt:            Integrity,
		envelope.KindWrongPassphrase:          Integrity,
		envelope.KindUnsupportedSpecVersion:   Integrity,
		envelope.KindConfigMissing:            NotSetUp,
		envelope.KindConfigUnsupportedVersion: NotSetUp,
	}
	for _, k := range envelope.Kinds {
		code, ok := want[k]
		if !ok {
			t.Errorf("kind %q has no expected exit code in this test: add it", k)
			continue
		}
		if got := KindCode(k); got != code {
			t.Errorf("KindCode(%q) = %d, want %d", k, got, code)
		}
	}
	if len(want) != len(envelope.Kinds) || len(kindCodes) != len(envelope.Kinds) {
		t.Errorf("%d kinds, %d expected, %d mapped", len(envelope.Kinds), len(want), len(kindCodes))
	}
	for _, k := range []envelope.Kind{"", "SomethingElse"} {
		if got := KindCode(k); got != Failure {
			t.Errorf("KindCode(%q) = %d, want Failure", k, got)
		}
	}
}

func TestEnvelope(t *testing.T) {
	cause := fmt.Errorf("open bundle: %w", envelope.New(envelope.KindWrongPassphrase, "tag mismatch"))
	e := Envelope(cause, "git vsync versions dev", "version %s of dev", "20260101T000000Z")
	if e.Code != Integrity || e.Hint != "git vsync versions dev" || !errors.Is(e, envelope.ErrWrongPassphrase) {
		t.Errorf("Envelope = %+v", e)
	}
	if want := "version 20260101T000000Z of dev: open bundle: " + envelope.ErrWrongPassphrase.Error() + ": tag mismatch"; e.What != want {
		t.Errorf("What = %q, want %q", e.What, want)
	}
	if c := Envelope(errors.New("disk full"), "h", "x").Code; c != Failure {
		t.Errorf("a plain error: code %d", c)
	}
	if c := Envelope(envelope.New(envelope.KindConfigMissing, ""), "h", "x").Code; c != NotSetUp {
		t.Errorf("config missing: code %d", c)
	}
}
