package config

import (
	"regexp"
	"strings"
	"testing"
)

var profileNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func profileNameAgrees(t *testing.T, s string) {
	want := len(s) <= 64 && profileNamePattern.MatchString(s) && strings.Trim(s, ".") != ""
	if got := ValidProfileName(s); got != want {
		t.Fatalf("ValidProfileName(%q) = %v, the pattern says %v", s, got, want)
	}
}

// TestValidProfileNameMatchesPattern: the byte loop gives the answer of
// ^[A-Za-z0-9._-]+$ (at most 64 bytes, not only dots) for every string of up to
// two bytes and for longer ones.
func TestValidProfileNameMatchesPattern(t *testing.T) {
	profileNameAgrees(t, "")
	for a := range 256 {
		profileNameAgrees(t, string([]byte{byte(a)}))
		for b := range 256 {
			profileNameAgrees(t, string([]byte{byte(a), byte(b)}))
		}
	}
	for _, s := range []string{"team", "a.b_c-D9", "...", ".x", "a b", strings.Repeat("a", 64), strings.Repeat("a", 65), "é"} {
		profileNameAgrees(t, s)
	}
}

// FuzzValidProfileName: any string gets the pattern's answer.
func FuzzValidProfileName(f *testing.F) {
	for _, s := range []string{"team", "..", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(profileNameAgrees)
}
