package cli

import (
	"github.com/git-vsync/git-vsync/internal/app"
)

// SourceFlags choose where run, env and get read the keys from.
type SourceFlags struct {
	Remote bool   `help:"Read the store's latest version into memory instead of the local vault (CI, servers: works with VSYNC_CONFIG and VSYNC_KEY outside any checkout)."`
	At     string `help:"Read this published version (see git vsync versions) into memory; implies --remote." placeholder:"TS"`
}

func (f SourceFlags) options() app.SecretsOptions {
	return app.SecretsOptions{Remote: f.Remote, At: f.At}
}

// RunCmd is `git vsync run`.
type RunCmd struct {
	Env         string   `arg:"" help:"Environment whose keys the command gets."`
	Command     []string `arg:"" passthrough:"" help:"The command and its arguments, after --." placeholder:"CMD"`
	SourceFlags `embed:""`
	Pristine    bool     `help:"Pass only the vault's keys plus PATH, HOME, USER, TERM and LANG; nothing else is inherited."`
	Only        []string `help:"Pass only these keys of the vault (repeat, or separate with commas)." placeholder:"KEY"`
	Exclude     []string `help:"Leave these keys of the vault out (repeat, or separate with commas)." placeholder:"KEY"`
	FilesDir    bool     `name:"files-dir" help:"Also expose the vault's other files in a private temp folder (0700, files 0600) named by VSYNC_FILES_DIR, removed when the command ends."`
}

// Help is shown by `git vsync run --help`.
func (RunCmd) Help() string {
	return `Runs a command with the keys of <vault>/.env.<env> added to its environment,
without a .env file or any other plaintext copy. Vault values win over variables
of the same name; git-vsync's own secrets (VSYNC_KEY*, VSYNC_CONFIG*,
VSYNC_PASSPHRASE*) are not passed on. Keys that are not valid variable names
([A-Za-z_][A-Za-z0-9_]*) are refused unless --exclude leaves them out.

By default the keys come from the local vault. --remote (or --at TS) reads a
published version from the store straight into memory: with VSYNC_CONFIG (from
` + "`git vsync export <env> --ci-token`" + `) and VSYNC_KEY in the environment this works
on a server or in CI without a checkout, a config file or a keychain.

Signals (Ctrl-C, SIGTERM, …) are passed on to the command, and git-vsync exits
with the command's exit code (128+N when signal N ended it; 127 when the command
is not found). Errors of git-vsync itself keep their usual codes (1 to 6).

Examples:
  git vsync run dev -- npm start
  git vsync run prod --remote -- ./server --port 8080
  git vsync run dev --pristine --only DATABASE_URL -- psql
  git vsync run prod --files-dir -- sh -c 'nginx -c "$VSYNC_FILES_DIR/nginx.conf"'
  VSYNC_CONFIG=… VSYNC_KEY=… git-vsync run prod --remote -- ./migrate`
}

// childExit carries the exit code of run's command out of the CLI unprinted.
type childExit struct{ code int }

func (e childExit) Error() string { return "the command exited with a non-zero status" }

// Run runs the command.
func (c *RunCmd) Run(ctx *Ctx) error {
	argv := c.Command
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:] // kong's passthrough keeps the separator
	}
	code, err := ctx.App.Run(ctx, ctx.Target(), c.Env, argv, app.RunOptions{
		SecretsOptions: app.SecretsOptions{Remote: c.Remote, At: c.At, Files: c.FilesDir},
		Pristine:       c.Pristine, Only: c.Only, Exclude: c.Exclude, FilesDir: c.FilesDir,
		Stdin: ctx.Stdin, Stdout: ctx.Stdout, Stderr: ctx.Stderr,
	})
	if err != nil {
		return err
	}
	return childExit{code}
}
