package envelope

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestIsAndKindOf(t *testing.T) {
	sentinels := map[Kind]error{
		KindBundleCorrupt:            ErrBundleCorrupt,
		KindWrongPassphrase:          ErrWrongPassphrase,
		KindUnsupportedSpecVersion:   ErrUnsupportedSpecVersion,
		KindConfigMissing:            ErrConfigMissing,
		KindConfigUnsupportedVersion: ErrConfigUnsupportedVersion,
	}
	for k, s := range sentinels {
		if string(k) != strings.TrimSpace(string(k)) || !strings.HasSuffix(string(k), "Error") {
			t.Errorf("odd kind name %q", k)
		}
		err := fmt.Errorf("outer: %w", Errorf(k, "detail %d", 7))
		for k2, s2 := range sentinels {
			if got := errors.Is(err, s2); got != (k == k2) {
				t.Errorf("errors.Is(%s, Err%s) = %v", k, k2, got)
			}
		}
		if KindOf(err) != k {
			t.Errorf("KindOf = %q, want %q", KindOf(err), k)
		}
		if KindOf(s) != k {
			t.Errorf("KindOf(sentinel) = %q, want %q", KindOf(s), k)
		}
		if !strings.Contains(err.Error(), "detail 7") {
			t.Errorf("message lost the detail: %q", err.Error())
		}
	}
	if KindOf(nil) != "" || KindOf(io.EOF) != "" || KindOf(fmt.Errorf("x: %w", io.EOF)) != "" {
		t.Error("KindOf of a foreign error must be empty")
	}
	if foreign := fmt.Errorf("read: %w", io.EOF); errors.Is(foreign, ErrBundleCorrupt) {
		t.Error("foreign error matched a sentinel")
	}
}

func TestMessages(t *testing.T) {
	for _, k := range []Kind{KindBundleCorrupt, KindWrongPassphrase, KindUnsupportedSpecVersion, KindConfigMissing, KindConfigUnsupportedVersion} {
		bare := New(k, "").Error()
		if bare == "" || strings.HasSuffix(bare, ": ") {
			t.Errorf("%s: bad bare message %q", k, bare)
		}
		if got := New(k, "why").Error(); got != bare+": why" {
			t.Errorf("%s: %q", k, got)
		}
	}
}
