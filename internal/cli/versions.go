package cli

import (
	"fmt"
	"text/tabwriter"
	"time"
)

// VersionsCmd is `git vsync versions`.
type VersionsCmd struct {
	Env  string `arg:"" help:"Environment."`
	JSON bool   `name:"json" help:"Print a JSON array on stdout."`
}

// Help is shown by `git vsync versions --help`.
func (VersionsCmd) Help() string {
	return `Lists every version of the env in the store, newest first, with its size and
age. "latest" marks the version the store's latest pointer names, "local" the one
this clone's vault holds. Bring an old one back with pull --at.

Examples:
  git vsync versions dev
  git vsync versions dev --json | jq -r '.[0].ts'`
}

// Run lists.
func (c *VersionsCmd) Run(ctx *Ctx) error {
	vs, err := ctx.App.Versions(ctx, ctx.Target(), c.Env)
	if err != nil {
		return err
	}
	if c.JSON {
		return ctx.JSON(vs)
	}
	if len(vs) == 0 {
		fmt.Fprintf(ctx.Stdout, "no versions of %s in the store yet\n", c.Env)
		return nil
	}
	tw := tabwriter.NewWriter(ctx.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSIZE\tAGE\t")
	now := ctx.App.Now()
	for _, v := range vs {
		mark := ""
		if v.Latest {
			mark += " latest"
		}
		if v.Local {
			mark += " local"
		}
		t, _ := time.Parse("20060102-150405", v.TS)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", v.TS, v.Size, age(now.Sub(t)), mark)
	}
	return tw.Flush()
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
