package cli

import (
	"io"
	"strings"
	"testing"
)

// FuzzCompleteWords: any words a shell hands over give candidates, never a panic,
// and every candidate starts with the word being completed.
func FuzzCompleteWords(f *testing.F) {
	for _, s := range []string{"pu", "push\x00", "init\x00dev\x00--audit\x00", "help\x00profile\x00r", "--repo\x00x\x00use\x00", "-q\x00--\x00-", "profile\x00add\x00--bucket"} {
		f.Add(s)
	}
	p, err := newParser(&CLI{}, io.Discard, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	names := func() ([]string, []string) { return []string{"dev", "prod"}, []string{"team"} }
	f.Fuzz(func(t *testing.T, s string) {
		words := strings.Split(s, "\x00")
		cur := words[len(words)-1]
		for _, c := range completeWords(p.Model.Node, words, names) {
			if !strings.HasPrefix(c, cur) || c == "" {
				t.Fatalf("candidate %q for %q", c, cur)
			}
		}
	})
}
