// Package topics holds the setup guides `git vsync docs` prints: how to make a
// bucket and least-privilege credentials for git-vsync on each common store.
package topics

import (
	"embed"
	"sort"
	"strings"
)

//go:embed *.md
var files embed.FS

// Topic is one guide.
type Topic struct {
	Name  string // what `git vsync docs NAME` takes
	Title string // the first line of the guide, without "# "
	Text  string
}

// All returns every topic, sorted by name.
func All() []Topic {
	ents, _ := files.ReadDir(".")
	out := make([]Topic, 0, len(ents))
	for _, e := range ents {
		b, _ := files.ReadFile(e.Name())
		text := string(b)
		title, _, _ := strings.Cut(text, "\n")
		out = append(out, Topic{Name: strings.TrimSuffix(e.Name(), ".md"), Title: strings.TrimPrefix(title, "# "), Text: text})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Find returns the topic of that name (case-insensitive).
func Find(name string) (Topic, bool) {
	for _, t := range All() {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return Topic{}, false
}
