package cli

import (
	"fmt"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// ExportCmd is `git vsync export`.
type ExportCmd struct {
	Env            string `arg:"" help:"Environment to share."`
	Out            string `help:"Write the share file here (default ./<repo>-<env>.share)." placeholder:"FILE"`
	PassphraseFile string `help:"Use the passphrase in this file (a trailing newline is ignored; at least 8 characters) instead of a generated one." placeholder:"FILE"`
	Force          bool   `help:"Replace an existing file."`
	CIToken        bool   `name:"ci-token" help:"Instead of a share file, print the env's runtime config token (vsync-cfg-v1:…) for a CI secret store: the disk half only, never the key."`
	AuditFlags     `embed:""`
}

// Help is shown by `git vsync export --help`.
func (ExportCmd) Help() string {
	return `Writes both halves of an environment (config and key) into a .share file sealed
with a passphrase (AES-256-GCM, PBKDF2), mode 0600. A teammate runs
` + "`git vsync import <env> FILE`" + ` with it. The file is the format the TypeScript vsync
tool reads and writes.

Without --passphrase-file a passphrase is generated (12 random characters) and
printed once on stdout; everything else goes to stderr. Send the file and the
passphrase on two different channels (e.g. the file by mail, the passphrase in a
chat or by phone), and delete the file once it was imported.

With --ci-token it prints the runtime config token instead: the config (store,
credentials, salt) in one line, to store as the VSYNC_CONFIG secret of a CI job,
next to the key as VSYNC_KEY (from ` + "`secret-tool lookup service tools.vsync account <repo>/<env>`" + `
or the macOS/Windows keychain). It holds the bucket credentials: treat it as a secret.

Examples:
  git vsync export dev
  git vsync export prod --out /tmp/prod.share
  git vsync export dev --passphrase-file ~/pass.txt
  git vsync export prod --note "onboarding Sam" --meta ticket=OPS-7
  git vsync export prod --ci-token | gh secret set VSYNC_CONFIG`
}

// Run exports.
func (c *ExportCmd) Run(ctx *Ctx) error {
	if c.CIToken {
		if c.Out != "" || c.PassphraseFile != "" {
			return fail.New(fail.Usage, "drop --out and --passphrase-file", "--ci-token prints a token; it writes no share file")
		}
		tok, err := ctx.App.CIToken(ctx.Repo, c.Env)
		if err != nil {
			return err
		}
		fmt.Fprintln(ctx.Stdout, tok)
		ctx.Infof("this token holds the bucket credentials: store it only in a secret store (as VSYNC_CONFIG), with the key as VSYNC_KEY")
		return nil
	}
	auditOpts, err := c.AuditFlags.Options()
	if err != nil {
		return err
	}
	o := app.ExportOptions{Out: c.Out, Force: c.Force, Audit: auditOpts}
	if c.PassphraseFile != "" {
		p, err := ctx.App.ReadPassphraseFile(c.PassphraseFile)
		if err != nil {
			return err
		}
		o.Passphrase = p
	}
	res, err := ctx.App.Export(ctx, ctx.Repo, c.Env, o)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		ctx.Warnf("%s", w)
	}
	ctx.Infof("wrote %s (%s/%s, key fingerprint %s)", res.Path, res.Repo, res.Env, res.Fingerprint)
	if res.Passphrase != "" {
		fmt.Fprintf(ctx.Stdout, "passphrase: %s\n", res.Passphrase)
		ctx.Infof("the passphrase above is shown only this once.")
	}
	ctx.Infof("send the file and the passphrase on two different channels; the teammate runs:")
	ctx.Infof("  git vsync import %s %s", res.Env, "<file>")
	ctx.Infof("and compares the fingerprint %s. Delete the file once it was imported.", res.Fingerprint)
	return nil
}
