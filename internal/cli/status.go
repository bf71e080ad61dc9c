package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// StatusCmd is `git vsync status`.
type StatusCmd struct {
	JSON   bool `name:"json" help:"Print one JSON object on stdout."`
	Remote bool `help:"Also ask each env's store for its latest version (one small request per env)."`
}

// Help is shown by `git vsync status --help`.
func (StatusCmd) Help() string {
	return `Shows which repository this is (and whether the name came from --repo, the
.vsync pin or the origin URL) and, for every env with a config on this machine,
whether the config and the key are present, where the key comes from (keychain
or environment), where the vault folder is, which version it holds and whether
it changed since the last sync (by content, not modification time). Makes no
network request unless --remote asks each store for its latest version.

With --quiet (-q) it prints nothing when every env is healthy, and otherwise one
line per env that needs fixing (a missing or unreadable config or key; with
--remote, an unreachable store) and exits 1 — for shell prompts and scripts. Local
edits in a vault are not a problem.

Examples:
  git vsync status
  git vsync status --remote
  git vsync status --quiet --remote || echo "secrets need attention"
  git vsync status --json | jq '.envs[] | select(.key == false) | .env'`
}

// Run prints the status.
func (s *StatusCmd) Run(c *Ctx) error {
	rep, err := c.App.Status(c, c.Target(), s.Remote)
	if err != nil {
		return err
	}
	if s.JSON {
		return c.JSON(rep)
	}
	if c.Quiet {
		return quietStatus(c, rep)
	}
	fmt.Fprintf(c.Stdout, "repo   %s (from %s)\n", rep.Repo, rep.RepoSource)
	fmt.Fprintf(c.Stdout, "vaults %s\n", rep.VaultRoot)
	printHooksLine(c.Stdout, rep.Hooks)
	if len(rep.Envs) == 0 {
		fmt.Fprintf(c.Stdout, "\nno env is set up on this machine: run `git vsync init dev` or `git vsync import dev FILE.share`\n")
		return nil
	}
	fmt.Fprintln(c.Stdout)
	tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENV\tCONFIG\tKEY\tLOCAL\tREMOTE\tVAULT")
	for _, e := range rep.Envs {
		cfg := yesNo(e.Config)
		if e.ConfigError != "" && !e.ConfigMissing {
			cfg = "unreadable"
		}
		key := "missing"
		if e.Key {
			key = *e.KeySource
		} else if e.KeyError != "" {
			key = "error"
		}
		vault := e.Vault
		switch {
		case !e.VaultExists:
			vault += " (missing)"
		case e.Clean != nil && !*e.Clean:
			vault += fmt.Sprintf(" (%d changed)", len(e.Changed))
		case e.Clean != nil:
			vault += " (clean)"
		}
		local := "-"
		if e.LocalTS != nil {
			local = *e.LocalTS
		}
		remote := "?"
		switch {
		case e.RemoteError != "":
			remote = "unreachable"
		case e.RemoteTS != nil:
			remote = *e.RemoteTS
		case s.Remote:
			remote = "none"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Env, cfg, key, local, remote, vault)
	}
	tw.Flush()
	for _, e := range rep.Envs {
		if e.ConfigError != "" {
			fmt.Fprintf(c.Stdout, "%s: config: %s\n", e.Env, e.ConfigError)
			if e.ConfigHint != "" {
				fmt.Fprintf(c.Stdout, "%s: hint: %s\n", e.Env, e.ConfigHint)
			}
		}
		if e.KeyError != "" {
			fmt.Fprintf(c.Stdout, "%s: key: %s\n", e.Env, e.KeyError)
		}
		if e.RemoteError != "" {
			fmt.Fprintf(c.Stdout, "%s: store: %s\n", e.Env, e.RemoteError)
		}
		if e.LedgerTS != "" {
			fmt.Fprintf(c.Stdout, "%s: the TypeScript tool last synced version %s here; the next push or pull adopts it if the vault holds exactly that version\n", e.Env, e.LedgerTS)
		}
		if len(e.LocalOnly) > 0 {
			fmt.Fprintf(c.Stdout, "%s: local-only, never pushed (.vsyncignore): %s\n", e.Env, strings.Join(e.LocalOnly, " "))
		}
		if len(e.Changed) > 0 {
			fmt.Fprintf(c.Stdout, "%s: changed since %s: %s\n", e.Env, orDash(e.LocalTS), strings.Join(e.Changed, " "))
		}
	}
	return nil
}

// quietStatus prints one line per env that needs fixing before push and pull work
// (a half missing or unreadable, with --remote an unreachable store) and exits 1
// when there is one; nothing at all when every env is healthy. Local edits are not
// a problem: they are work in progress.
func quietStatus(c *Ctx, rep *app.StatusReport) error {
	broken := 0
	for _, e := range rep.Envs {
		var what, hint string
		switch {
		case e.ConfigError != "":
			what, hint = "config: "+e.ConfigError, e.ConfigHint
		case e.KeyError != "":
			what = "key: " + e.KeyError
		case !e.Key:
			what, hint = "no key on this machine", "git vsync import "+e.Env+" FILE.share"
		case e.RemoteError != "":
			what, hint = "store: "+e.RemoteError, "git vsync doctor "+e.Env
		default:
			continue
		}
		broken++
		line := e.Env + ": " + oneLine(what)
		if hint != "" {
			line += " (next: " + hint + ")"
		}
		fmt.Fprintln(c.Stdout, line)
	}
	if broken > 0 {
		return quietExit(fail.Failure)
	}
	return nil
}

// oneLine keeps the first line of a message.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func orDash(s *string) string {
	if s == nil {
		return "the start (never synced)"
	}
	return *s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "missing"
}
