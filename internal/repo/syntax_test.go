package repo

import (
	"regexp"
	"strings"
	"testing"
)

// syntaxChecks are the byte-loop checks of identity.go and the patterns they
// stand for.
var syntaxChecks = []struct {
	re     *regexp.Regexp
	check  func(string) bool
	maxLen int // longer strings are refused apart from the pattern
}{
	{regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`), hasScheme, 0},
	{regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`), validPinKey, 0},
	{regexp.MustCompile(`^[a-z][a-z0-9_-]*$`), ValidEnv, 64},
}

// agree fails t when a check and its pattern disagree on s.
func agree(t *testing.T, s string) {
	for _, c := range syntaxChecks {
		want := c.re.MatchString(s) && (c.maxLen == 0 || len(s) <= c.maxLen)
		if got := c.check(s); got != want {
			t.Fatalf("%q against %s: %v, the pattern says %v", s, c.re, got, want)
		}
	}
}

// TestSyntaxChecksMatchTheirPatterns: every string of up to two bytes, and of
// three or four over the bytes that matter, gets the pattern's answer.
func TestSyntaxChecksMatchTheirPatterns(t *testing.T) {
	agree(t, "")
	for a := range 256 {
		agree(t, string([]byte{byte(a)}))
		for b := range 256 {
			agree(t, string([]byte{byte(a), byte(b)}))
		}
	}
	alpha := []byte("aZ09_-+.:/@ \n\xff")
	for _, a := range alpha {
		for _, b := range alpha {
			for _, c := range alpha {
				agree(t, string([]byte{a, b, c}))
				for _, d := range alpha {
					agree(t, string([]byte{a, b, c, d}))
				}
			}
		}
	}
	for _, s := range []string{"https://github.com/a/b", "git+ssh://h/p", "a://", "1a://x", "a:/://x", "dev", "stage-2", "Dev", "a\nb", "API_KEY"} {
		agree(t, s)
	}
	long := strings.Repeat("a", 64)
	if !ValidEnv(long) || ValidEnv(long+"a") {
		t.Fatal("ValidEnv: up to 64 bytes")
	}
}

// FuzzSyntaxChecks: any string gets the pattern's answer.
func FuzzSyntaxChecks(f *testing.F) {
	for _, s := range []string{"https://x/y", "dev", "_K1", "a-b_c", "+a://"} {
		f.Add(s)
	}
	f.Fuzz(agree)
}
