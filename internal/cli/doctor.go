package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// DoctorCmd is `git vsync doctor`.
type DoctorCmd struct {
	Env  string `arg:"" optional:"" help:"Check only this env (default: every env set up on this machine)."`
	JSON bool   `name:"json" help:"Print the checks as one JSON object on stdout."`
}

// Help is shown by `git vsync doctor --help`.
func (DoctorCmd) Help() string {
	return `Checks what push, pull and the hooks need: the repository identity, both halves
of each env, the store (reachable; honours conditional writes, so racing pushes
cannot overwrite each other), whether the latest version opens with this machine's
key, the vault folder (present, ignored by git) and the git hooks. It warns about
a remembered AES key (keychain service git-vsync.derived) whose key was removed
from the keychain by hand, and names the command that removes it too.

It writes one probe object into the env's prefix and deletes it again; it never
changes the vault. The exit code is that of the worst failed check (4 not set up,
5 store unreachable, 6 wrong key or corrupt bundle); warnings keep it 0.

Examples:
  git vsync doctor
  git vsync doctor prod --json`
}

// Run checks.
func (c *DoctorCmd) Run(ctx *Ctx) error {
	rep, err := ctx.App.Doctor(ctx, ctx.Target(), c.Env)
	if err != nil {
		return err
	}
	if c.JSON {
		if err := ctx.JSON(rep); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(ctx.Stdout, 0, 0, 2, ' ', 0)
		for _, ch := range rep.Checks {
			env := ch.Env
			if env == "" {
				env = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", levelMark(ch.Level), env, ch.Name, ch.Detail)
			if ch.Hint != "" && ch.Level != app.CheckOK {
				fmt.Fprintf(tw, "\t\t\t→ %s\n", ch.Hint)
			}
		}
		tw.Flush()
	}
	if rep.Code != 0 {
		// The checks above already said what and how; the exit code carries the kind.
		return &fail.Error{Code: fail.Code(rep.Code), What: "some checks failed (see above)", Hint: "fix the failed checks, then run `git vsync doctor` again"}
	}
	return nil
}

func levelMark(l string) string {
	switch l {
	case app.CheckOK:
		return "ok"
	case app.CheckWarn:
		return "WARN"
	}
	return "FAIL"
}
