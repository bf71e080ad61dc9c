package cli

import (
	"io"
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}

// useColor: colour only on a terminal, and never with NO_COLOR set to a
// non-empty value (https://no-color.org) or TERM=dumb.
func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	return os.Getenv("TERM") != "dumb" && isTerminal(w)
}

// label is the "error:"/"warning:"/"hint:" word of a message line, in colour
// (an SGR code such as "1;31") when w takes colour.
func label(w io.Writer, word, sgr string) string {
	if !useColor(w) {
		return word
	}
	return "\x1b[" + sgr + "m" + word + "\x1b[0m"
}
