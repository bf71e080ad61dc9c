package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
)

// StatusCmd is `git vsync status`.
type StatusCmd struct {
	JSON bool `name:"json" help:"Print one JSON object on stdout."`
}

// Help is shown by `git vsync status --help`.
func (StatusCmd) Help() string {
	return `Shows which repository this is (and whether the name came from --repo, the
.vsync pin or the origin URL) and, for every env with a config on this machine,
whether the config and the key are present, where the key comes from (keychain
or environment) and where the vault folder is. Makes no network request.

Examples:
  git vsync status
  git vsync status --json | jq '.envs[] | select(.key == false) | .env'`
}

// Run prints the status.
func (s *StatusCmd) Run(c *Ctx) error {
	rep, err := c.App.Status(c, c.Repo)
	if err != nil {
		return err
	}
	if s.JSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(c.Stdout, "repo   %s (from %s)\n", rep.Repo, rep.RepoSource)
	fmt.Fprintf(c.Stdout, "vaults %s\n", rep.VaultRoot)
	if len(rep.Envs) == 0 {
		fmt.Fprintf(c.Stdout, "\nno env is set up on this machine: run `git vsync init dev` or `git vsync import dev FILE.share`\n")
		return nil
	}
	fmt.Fprintln(c.Stdout)
	tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENV\tCONFIG\tKEY\tVAULT")
	for _, e := range rep.Envs {
		cfg := yesNo(e.Config)
		if e.ConfigError != "" {
			cfg = "unreadable"
		}
		key := "missing"
		if e.Key {
			key = *e.KeySource
		} else if e.KeyError != "" {
			key = "error"
		}
		vault := e.Vault
		if !e.VaultExists {
			vault += " (missing)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Env, cfg, key, vault)
	}
	tw.Flush()
	for _, e := range rep.Envs {
		if e.ConfigError != "" {
			fmt.Fprintf(c.Stdout, "%s: config: %s\n", e.Env, e.ConfigError)
		}
		if e.KeyError != "" {
			fmt.Fprintf(c.Stdout, "%s: key: %s\n", e.Env, e.KeyError)
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "missing"
}
