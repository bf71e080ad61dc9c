package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kong"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// HelpCmd is `git vsync help [command…]`.
type HelpCmd struct {
	Command []string `arg:"" optional:"" help:"The command to describe, e.g. push or profile add."`
}

// Help is shown by `git vsync help --help`.
func (HelpCmd) Help() string {
	return `Prints the help of git vsync or of one command: its flags and examples. It
works without the manual installed; ` + "`git help vsync`" + ` (or ` + "`git vsync --help`" + `)
shows the manual page that ` + "`make install`" + ` installs.

Examples:
  git vsync help
  git vsync help push
  git vsync help profile add`
}

// Run prints the help of the named command by parsing "<command…> --help" with a
// fresh parser (kong prints the help and calls Exit, which unwinds to here).
func (c *HelpCmd) Run(ctx *Ctx, kctx *kong.Context) (err error) {
	node := kctx.Model.Node
	for _, name := range c.Command {
		next := childNamed(node, name)
		if next == nil {
			return fail.New(fail.Usage, "run `git vsync help` for the list of commands", "no command %q", strings.Join(c.Command, " "))
		}
		node = next
	}
	p, err := newParser(&CLI{}, ctx.Stdout, ctx.Stderr)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exit); !ok {
				panic(r)
			}
		}
	}()
	_, err = p.Parse(append(nodePath(node), "--help"))
	return err
}

// childNamed returns the visible subcommand of n called name (or an alias), or nil.
func childNamed(n *kong.Node, name string) *kong.Node {
	for _, ch := range n.Children {
		if ch.Type != kong.CommandNode || ch.Hidden {
			continue
		}
		if ch.Name == name {
			return ch
		}
		for _, a := range ch.Aliases {
			if a == name {
				return ch
			}
		}
	}
	return nil
}

// nodePath is the words that select n from the root ("profile", "add").
func nodePath(n *kong.Node) []string {
	var p []string
	for ; n != nil && n.Type == kong.CommandNode; n = n.Parent {
		p = append([]string{n.Name}, p...)
	}
	return p
}

// VersionCmd is `git vsync version`.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(ctx *Ctx) error {
	fmt.Fprintf(ctx.Stdout, "git-vsync %s\n", version())
	return nil
}

// visibleCommands are the commands a user sees, in declaration order.
func visibleCommands(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, ch := range n.Children {
		if ch.Type == kong.CommandNode && !ch.Hidden {
			out = append(out, ch)
		}
	}
	return out
}

// printShortUsage is what bare `git vsync` prints: one line per command.
func printShortUsage(w io.Writer, root *kong.Node) {
	fmt.Fprintln(w, "usage: git vsync [--repo NAME] [-q | -v] <command> [<args>]")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, ch := range visibleCommands(root) {
		fmt.Fprintf(tw, "   %s\t%s\n", ch.Name, ch.Help)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`git vsync help <command>` shows a command's flags and examples; `git help vsync` the manual.")
}
