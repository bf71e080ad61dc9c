package cli

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/dotenv"
)

// EnvCmd is `git vsync env`.
type EnvCmd struct {
	Env         string `arg:"" help:"Environment whose keys to print."`
	Format      string `enum:"dotenv,json,shell,github" default:"dotenv" help:"dotenv (KEY=value, quoted so any dotenv reader reads it back), json (one object), shell (export lines for eval or source), github (lines for $GITHUB_ENV)." placeholder:"FORMAT"`
	SourceFlags `embed:""`
}

// Help is shown by `git vsync env --help`.
func (EnvCmd) Help() string {
	return `Prints the keys of <vault>/.env.<env> on stdout, sorted, for scripts and
tools such as direnv. Printing values is this command's job: send the output to a
pipe or a file you protect, not to a shared terminal or a CI log. Like run, it
reads the local vault, or with --remote / --at a published version in memory.

Formats:
  dotenv   KEY=value, quoted so that git-vsync and other dotenv readers read
           each value back exactly (docs/dotenv.md)
  json     {"KEY": "value", …}
  shell    export KEY='value' lines for eval "$(…)" or source <(…)
  github   KEY=value lines for $GITHUB_ENV; multi-line values as
           KEY<<DELIMITER … DELIMITER with a random delimiter

shell and github refuse keys that are not valid variable names.

Examples:
  git vsync env dev
  eval "$(git vsync env dev --format shell)"
  git vsync env prod --remote --format github >> "$GITHUB_ENV"
  git vsync env dev --format json | jq -r .DATABASE_URL
  # .envrc for direnv:
  eval "$(git vsync env dev --format shell)"`
}

// Run prints.
func (c *EnvCmd) Run(ctx *Ctx) error {
	s, err := ctx.App.LoadSecrets(ctx, ctx.Target(), c.Env, c.options())
	if err != nil {
		return err
	}
	defer s.Wipe()
	envNames := c.Format == "shell" || c.Format == "github"
	keys, err := app.Select(s, nil, nil, envNames)
	if err != nil {
		return err
	}
	return writeEnv(ctx.Stdout, keys, c.Format)
}

// writeEnv prints keys in one of the formats of `env`.
func writeEnv(w io.Writer, keys []dotenv.Entry, format string) error {
	var b strings.Builder
	switch format {
	case "json":
		m := make(map[string]string, len(keys))
		for _, e := range keys {
			m[e.Key] = e.Value
		}
		js, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		b.Write(js)
		b.WriteByte('\n')
	case "shell":
		for _, e := range keys {
			b.WriteString("export " + e.Key + "=" + shellQuote(e.Value) + "\n")
		}
	case "github":
		for _, e := range keys {
			if !strings.ContainsAny(e.Value, "\r\n") {
				b.WriteString(e.Key + "=" + e.Value + "\n")
				continue
			}
			d := heredocDelimiter(e.Value)
			b.WriteString(e.Key + "<<" + d + "\n" + e.Value + "\n" + d + "\n")
		}
	default:
		for _, e := range keys {
			b.WriteString(dotenv.Line(e.Key, e.Value) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes v for a POSIX shell: single quotes, a single quote as '\”.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// heredocDelimiter returns a random delimiter that no line of v equals, as GitHub's
// multi-line $GITHUB_ENV syntax needs.
func heredocDelimiter(v string) string {
	for {
		var r [12]byte
		_, _ = rand.Read(r[:])
		d := "ghadelimiter_" + hex.EncodeToString(r[:])
		if !strings.Contains(v, d) {
			return d
		}
	}
}

// GetCmd is `git vsync get`.
type GetCmd struct {
	Env         string `arg:"" help:"Environment to read."`
	Key         string `arg:"" help:"The key whose value to print."`
	NoNewline   bool   `short:"n" help:"Do not print a newline after the value."`
	SourceFlags `embed:""`
}

// Help is shown by `git vsync get --help`.
func (GetCmd) Help() string {
	return `Prints the value of one key of <vault>/.env.<env> on stdout (followed by a
newline unless -n). Exit 1 when the file has no such key. Like run, it reads the
local vault, or with --remote / --at a published version in memory.

Examples:
  git vsync get dev DATABASE_URL
  psql "$(git vsync get prod DATABASE_URL --remote)"
  git vsync get dev TLS_KEY -n > /dev/null && echo present`
}

// Run prints the value.
func (c *GetCmd) Run(ctx *Ctx) error {
	s, err := ctx.App.LoadSecrets(ctx, ctx.Target(), c.Env, c.options())
	if err != nil {
		return err
	}
	defer s.Wipe()
	keys, err := app.Select(s, []string{c.Key}, nil, false)
	if err != nil {
		return err
	}
	end := "\n"
	if c.NoNewline {
		end = ""
	}
	_, err = fmt.Fprint(ctx.Stdout, keys[0].Value+end)
	return err
}
