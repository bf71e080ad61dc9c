package fail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCodeOf(t *testing.T) {
	refused := New(Refused, "git vsync pull dev", "vault has local edits")
	for _, tc := range []struct {
		err  error
		want Code
	}{
		{nil, OK},
		{errors.New("plain"), Failure},
		{refused, Refused},
		{fmt.Errorf("context: %w", refused), Refused},
		{Wrap(Unreachable, fs.ErrNotExist, "check the endpoint", "store down"), Unreachable},
		// The outermost *Error decides.
		{Wrap(Integrity, refused, "", "outer"), Integrity},
	} {
		if got := CodeOf(tc.err); got != tc.want {
			t.Errorf("CodeOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestHintOfFallsBackToTheCause(t *testing.T) {
	inner := New(NotSetUp, "git vsync init dev", "no config")
	if h := HintOf(Wrap(Failure, inner, "", "outer")); h != "git vsync init dev" {
		t.Errorf("hint %q", h)
	}
	if h := HintOf(Wrap(Failure, inner, "own hint", "outer")); h != "own hint" {
		t.Errorf("hint %q", h)
	}
	if h := HintOf(errors.New("plain")); h != "" {
		t.Errorf("hint %q", h)
	}
	if h := HintOf(nil); h != "" {
		t.Errorf("hint %q", h)
	}
}

func TestWrapKeepsTheCause(t *testing.T) {
	err := Wrap(Unreachable, fs.ErrPermission, "h", "reading %s", "latest")
	if !errors.Is(err, fs.ErrPermission) {
		t.Error("cause lost")
	}
	if err.Error() != "reading latest: "+fs.ErrPermission.Error() {
		t.Errorf("message %q", err.Error())
	}
	if Wrap(Failure, nil, "", "only what").Error() != "only what" {
		t.Error("nil cause changed the message")
	}
	if (&Error{Err: fs.ErrClosed}).Error() != fs.ErrClosed.Error() {
		t.Error("an Error with only a cause should print the cause")
	}
}

// TestGenericHintGivesWay: a wrapper's generic hint is used only when no cause
// has a hint of its own, so wrapping with HintLocal never hides a better one.
func TestGenericHintGivesWay(t *testing.T) {
	inner := New(NotSetUp, "git vsync init dev", "no config")
	if h := HintOf(Wrap(Failure, inner, HintLocal, "lock")); h != "git vsync init dev" {
		t.Errorf("hint %q", h)
	}
	if h := HintOf(Wrap(Failure, fmt.Errorf("x: %w", Wrap(Failure, errors.New("eio"), HintSystem, "rand")), HintLocal, "outer")); h != HintLocal {
		t.Errorf("hint %q, want the outermost generic one", h)
	}
	if h := HintOf(Wrap(Failure, errors.New("eio"), HintLocal, "write")); h != HintLocal {
		t.Errorf("hint %q", h)
	}
}

// Every error the CLI prints has a hint, also one that carries none of its own.
func TestHintForEveryError(t *testing.T) {
	_, statErr := os.Stat(filepath.Join(t.TempDir(), "missing"))
	for _, tc := range []struct {
		err  error
		want string
	}{
		{New(Refused, "git vsync pull dev", "stale"), "git vsync pull dev"},
		{fmt.Errorf("reading: %w", New(Refused, "git vsync pull dev", "stale")), "git vsync pull dev"},
		{Wrap(Failure, errors.New("x"), HintBug, "odd"), HintBug},
		{errors.New("plain library error"), HintUnknown},
		{fmt.Errorf("config: %w", statErr), HintLocal},
	} {
		if got := HintFor(tc.err); got != tc.want {
			t.Errorf("HintFor(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
