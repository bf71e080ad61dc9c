package cli

import (
	"fmt"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// DiffCmd is `git vsync diff`.
type DiffCmd struct {
	Env        string   `arg:"" help:"Environment to compare."`
	Versions   []string `arg:"" optional:"" help:"Two versions to compare (see git vsync versions) instead of the vault." placeholder:"TS"`
	Remote     bool     `help:"Compare the vault with the store's latest version instead of the version it last synced."`
	ShowValues bool     `name:"show-values" help:"Also print the values of the keys that differ (they are secrets)."`
	JSON       bool     `name:"json" help:"Print the result as JSON on stdout."`
}

// Help is shown by `git vsync diff --help`.
func (DiffCmd) Help() string {
	return `Shows what differs, file by file and, for dotenv files (.env*), key by key:

  git vsync diff <env>            the version the vault last synced → the vault (your edits)
  git vsync diff <env> --remote   the store's latest version → the vault
  git vsync diff <env> TS1 TS2    version TS1 → version TS2

Lines start with + (added), - (removed) or ~ (changed); keys are indented under
their file. Values are never printed unless --show-values. Versions are read
from the store and decrypted in memory; nothing local changes.

Examples:
  git vsync diff dev
  git vsync diff dev --remote --json
  git vsync diff dev 20260130-101500 20260131-235959 --show-values`
}

// Run compares.
func (c *DiffCmd) Run(ctx *Ctx) error {
	o := app.DiffOptions{Remote: c.Remote, ShowValues: c.ShowValues}
	switch len(c.Versions) {
	case 0:
	case 2:
		o.From, o.To = c.Versions[0], c.Versions[1]
	default:
		return fail.New(fail.Usage, "name two versions to compare, or none to compare the vault", "diff takes two versions or none, not %d", len(c.Versions))
	}
	res, err := ctx.App.Diff(ctx, ctx.Target(), c.Env, o)
	if err != nil {
		return err
	}
	if c.JSON {
		return ctx.JSON(res)
	}
	fmt.Fprintf(ctx.Stdout, "--- %s\n+++ %s\n", res.From, res.To)
	if len(res.Files) == 0 {
		fmt.Fprintln(ctx.Stdout, "no differences")
		return nil
	}
	for _, f := range res.Files {
		fmt.Fprintf(ctx.Stdout, "%s %s\n", mark(f.Change), f.Path)
		for _, k := range f.Keys {
			fmt.Fprintf(ctx.Stdout, "    %s %s\n", mark(k.Change), k.DiffLine())
		}
		if f.Note != "" {
			fmt.Fprintf(ctx.Stdout, "    (%s)\n", f.Note)
		}
	}
	return nil
}

func mark(change string) string {
	switch change {
	case app.Added:
		return "+"
	case app.Removed:
		return "-"
	}
	return "~"
}
