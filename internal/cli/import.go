package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// ImportCmd is `git vsync import`.
type ImportCmd struct {
	Env            string `arg:"" help:"Environment to set up on this machine (may differ from the env the share was exported from)."`
	File           string `arg:"" help:"The .share file a teammate sent." placeholder:"FILE"`
	PassphraseFile string `help:"Read the passphrase from this file (a trailing newline is ignored). Default: VSYNC_SHARE_PASSPHRASE, else a hidden prompt." placeholder:"FILE"`
	Force          bool   `help:"Replace a different key or config of this env (the old key stays in the keychain as <repo>/<env>#<fingerprint>, the old config beside the new one)."`
	NoHooks        bool   `help:"Do not install the git hooks."`
	Verify         bool   `help:"Before writing anything, check that the share's store answers and its latest version opens with the share's key (otherwise import makes no network request before the halves are written)."`
	AuditFlags     `embed:""`
}

// Help is shown by `git vsync import --help`.
func (ImportCmd) Help() string {
	return `Sets up an environment from a .share file made by ` + "`git vsync export`" + ` (or by
the TypeScript vsync tool): the config goes to ~/.config/vsync, the key into the OS
keychain, and .vsync is written when the repository has none. The file is decrypted
and checked completely before anything is written; a wrong passphrase changes
nothing (exit 6).

The passphrase comes from --passphrase-file, from VSYNC_SHARE_PASSPHRASE, or from a
hidden prompt on a terminal. It is never a command-line value.

Before any network request, import prints where the share points (the store's
endpoint and bucket). A share whose store is plain http:// outside this machine is
refused unless its config says useSsl=false explicitly. Without --verify the first
request to the store comes after the halves are written.

Importing the same share again does nothing. When this env already has a different
key or config (e.g. after a teammate ran rotate), import refuses (exit 3) unless
--force; the replaced key and config are then kept, never lost.

Examples:
  git vsync import dev ~/Downloads/acme_web-dev.share
  git vsync import dev acme_web-dev.share --passphrase-file ~/pass.txt
  git vsync import dev new-dev.share --force     # after a key rotation
  git vsync import dev acme_web-dev.share --note "new laptop"`
}

// Run imports.
func (c *ImportCmd) Run(ctx *Ctx) error {
	auditOpts, err := c.AuditFlags.Options()
	if err != nil {
		return err
	}
	pass, err := c.passphrase(ctx)
	if err != nil {
		return err
	}
	res, err := ctx.App.Import(ctx, ctx.Target(), c.Env, c.File, pass, app.ImportOptions{Force: c.Force, NoHooks: c.NoHooks, Audit: auditOpts, Verify: c.Verify,
		Announce: func(store, repo, env string) {
			ctx.Infof("share of %s/%s; its store: %s", repo, env, store)
		}})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		ctx.Warnf("%s", w)
	}
	if res.ShareEnv != c.Env {
		ctx.Infof("note: the share was exported from env %q; it is set up here as %s", res.ShareEnv, c.Env)
	}
	if res.Unchanged {
		ctx.Infof("%s/%s: already imported (same key, fingerprint %s, and same config); nothing changed", res.Repo, res.Env, res.Fingerprint)
		return nil
	}
	ctx.Infof("imported %s/%s", res.Repo, res.Env)
	ctx.Infof("  key          in the keychain, fingerprint %s (compare it with the sender's)", res.Fingerprint)
	if res.KeptKey != "" {
		ctx.Infof("  old key      kept in the keychain as %s", res.KeptKey)
	}
	if res.KeptConfig != "" {
		ctx.Infof("  old config   kept as %s", res.KeptConfig)
	}
	if res.PinWritten {
		ctx.Infof("  .vsync       written (repo=%s): commit it so every clone agrees on the name", res.Repo)
	}
	if res.Gitignored != "" {
		ctx.Infof("  .gitignore   added %s: commit .gitignore so every clone ignores the vault", res.Gitignored)
	}
	if res.Hooks != "" {
		ctx.Infof("  hooks        %s", res.Hooks)
	}
	ctx.Infof("")
	ctx.Infof("next: git vsync pull %s", c.Env)
	ctx.Infof("      and delete the .share file: it holds the key.")
	return nil
}

func (c *ImportCmd) passphrase(ctx *Ctx) (string, error) {
	return askPassphrase(ctx, c.PassphraseFile, c.File)
}

// askPassphrase gets the passphrase of a sealed file: from passFile, from
// VSYNC_SHARE_PASSPHRASE, or from a hidden prompt; never from the command line.
func askPassphrase(ctx *Ctx, passFile, file string) (string, error) {
	if passFile != "" {
		return ctx.App.ReadPassphraseFile(passFile)
	}
	if p := ctx.App.Getenv(app.ShareEnvPassphrase); p != "" {
		return p, nil
	}
	p, ok, err := readHidden(ctx, "passphrase for "+file+": ")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fail.New(fail.Usage, "pass --passphrase-file FILE or set "+app.ShareEnvPassphrase+" (never the passphrase itself as an argument)",
			"no passphrase: no terminal to ask on")
	}
	if p == "" {
		return "", fail.New(fail.Usage, "type the passphrase your teammate sent", "the passphrase is empty")
	}
	return p, nil
}

// terminalFD returns stdin's descriptor when stdin is a terminal.
func terminalFD(ctx *Ctx) (int, bool) {
	f, ok := ctx.Stdin.(*os.File)
	if !ok || f == nil {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// readHidden asks for a secret on the terminal without echo; ok is false when stdin
// is not a terminal.
func readHidden(ctx *Ctx, prompt string) (string, bool, error) {
	fd, ok := terminalFD(ctx)
	if !ok {
		return "", false, nil
	}
	fmt.Fprint(ctx.Stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(ctx.Stderr)
	if err != nil {
		return "", true, fail.Wrap(fail.Usage, err, "pass the passphrase on standard input or in a file instead (see --help)", "read from the terminal")
	}
	return string(b), true, nil
}

// confirm asks a yes/no question on the terminal; ok is false without a terminal.
func confirm(ctx *Ctx, question string) (yes, ok bool, err error) {
	if _, ok := terminalFD(ctx); !ok {
		return false, false, nil
	}
	fmt.Fprintf(ctx.Stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(ctx.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, true, fail.Wrap(fail.Usage, err, "answer on a terminal, or pass the flag that replaces the question (see --help)", "read from the terminal")
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", true, nil
}
