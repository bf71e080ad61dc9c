package cli

import (
	"fmt"
	"strings"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/topics"
)

// DocsCmd is `git vsync docs`.
type DocsCmd struct {
	Topic string `arg:"" optional:"" help:"The guide to print; without it, the list of guides."`
}

// Help is shown by `git vsync docs --help`.
func (DocsCmd) Help() string {
	names := make([]string, 0)
	for _, t := range topics.All() {
		names = append(names, t.Name)
	}
	return `Prints a setup guide from the binary, offline: how to create a bucket and
credentials that can reach nothing else, for the common S3-compatible stores.
Topics: ` + strings.Join(names, ", ") + `.

Examples:
  git vsync docs
  git vsync docs aws
  git vsync docs r2 | less`
}

// Run prints the list or one guide.
func (c *DocsCmd) Run(ctx *Ctx) error {
	all := topics.All()
	if c.Topic == "" {
		fmt.Fprintln(ctx.Stdout, "Setup guides (git vsync docs TOPIC):")
		for _, t := range all {
			fmt.Fprintf(ctx.Stdout, "  %-6s %s\n", t.Name, t.Title)
		}
		return nil
	}
	t, ok := topics.Find(c.Topic)
	if !ok {
		return fail.New(fail.Usage, "`git vsync docs` lists the topics", "no guide %q", c.Topic)
	}
	fmt.Fprint(ctx.Stdout, t.Text)
	return nil
}
