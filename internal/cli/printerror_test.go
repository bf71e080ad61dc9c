package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// An error without a hint of its own (a library's plain error) still gets the
// second line of SPEC §9 with a next step.
func TestPrintErrorAlwaysHints(t *testing.T) {
	for _, err := range []error{
		errors.New("unexpected EOF"),
		fail.New(fail.Refused, "git vsync pull dev", "the vault is stale"),
	} {
		var b bytes.Buffer
		printError(&b, err)
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "git-vsync: error: ") || !strings.HasPrefix(lines[1], "git-vsync: hint: ") {
			t.Errorf("printError(%v) wrote %q, want an error and a hint line", err, b.String())
		}
		if want := fail.HintFor(err); !strings.HasSuffix(lines[len(lines)-1], want) {
			t.Errorf("hint line %q, want %q", lines[len(lines)-1], want)
		}
	}
}
