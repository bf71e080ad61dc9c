package cli

import (
	"fmt"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// ExportCmd is `git vsync export`.
type ExportCmd struct {
	Env             string `arg:"" help:"Environment to share."`
	Out             string `help:"Write the share file here (default ~/<repo>-<env>.share, outside the work tree; a path git would track is refused)." placeholder:"FILE"`
	PassphraseFile  string `help:"Use the passphrase in this file (a trailing newline is ignored; at least 8 characters) instead of a generated one." placeholder:"FILE"`
	Force           bool   `help:"Replace an existing file."`
	AllowLocalStore bool   `name:"allow-local-store" help:"Export even though the env's store is a folder in your home, which teammates cannot reach (a share for yourself)."`
	CIToken         bool   `name:"ci-token" help:"Instead of a share file, print the env's runtime config token (vsync-cfg-v1:…) for a CI secret store: the disk half only, never the key."`
	AuditFlags      `embed:""`

	Profile             string `help:"With --ci-token: put the credentials of this saved profile (of the same bucket; typically a read-only key) into the token instead of the env's own." placeholder:"P"`
	AccessKeyIDFile     string `name:"access-key-id-file" help:"With --ci-token: the access key id of other credentials for the token, read from this file." placeholder:"FILE"`
	SecretAccessKeyFile string `name:"secret-access-key-file" help:"With --ci-token: the secret access key of those credentials, read from this file." placeholder:"FILE"`
}

// Help is shown by `git vsync export --help`.
func (ExportCmd) Help() string {
	return `Writes both halves of an environment (config and key) into a .share file sealed
with a passphrase (AES-256-GCM, PBKDF2), mode 0600. A teammate runs
` + "`git vsync import <env> FILE`" + ` with it. The file is the format the TypeScript vsync
tool reads and writes. The file goes to your home folder unless --out names
another place; export refuses a path in the work tree that git would track.

The share points the teammate at the env's store, so that store must be one they
reach. An env on the default store (a folder in your home, set up by a plain
` + "`git vsync init`" + `) is refused (exit 3) until it moves to a shared store with
` + "`git vsync config <env> set`" + `, unless --allow-local-store.

Without --passphrase-file a passphrase is generated (12 random characters) and
printed once on stdout; everything else goes to stderr. Send the file and the
passphrase on two different channels (e.g. the file by mail, the passphrase in a
chat or by phone), and delete the file once it was imported.

With --ci-token it prints the runtime config token instead: the config (store,
credentials, salt) in one line, to store as the VSYNC_CONFIG secret of a CI job,
next to the key as VSYNC_KEY (from ` + "`secret-tool lookup service tools.vsync account <repo>/<env>`" + `
or the macOS/Windows keychain). It holds the bucket credentials: treat it as a secret.

Least privilege: CI jobs and servers only read. With --profile P (a saved
profile of the same bucket) or --access-key-id-file F --secret-access-key-file F
the token carries those credentials instead of the env's own, typically a key
that may only read this env; export tries them once and warns when they cannot
read the env. The hint prints the IAM policy such a key needs: s3:GetObject on
<repo>/<env>/* and s3:ListBucket limited to that prefix. ` + "`git vsync doctor`" + ` with the
token in VSYNC_CONFIG reports what it can and cannot do.

Examples:
  git vsync export dev
  git vsync export prod --out /tmp/prod.share
  git vsync export dev --passphrase-file ~/pass.txt
  git vsync export prod --note "onboarding Sam" --meta ticket=OPS-7
  git vsync export prod --ci-token | gh secret set VSYNC_CONFIG
  git vsync export prod --ci-token --profile prod-reader | gh secret set VSYNC_CONFIG
  git vsync export prod --ci-token --access-key-id-file ak.txt --secret-access-key-file sk.txt`
}

// Run exports.
func (c *ExportCmd) Run(ctx *Ctx) error {
	other := c.Profile != "" || c.AccessKeyIDFile != "" || c.SecretAccessKeyFile != ""
	if other && !c.CIToken {
		return fail.New(fail.Usage, "add --ci-token", "--profile, --access-key-id-file and --secret-access-key-file go only with --ci-token")
	}
	if c.CIToken {
		return c.ciToken(ctx)
	}
	auditOpts, err := c.AuditFlags.Options()
	if err != nil {
		return err
	}
	o := app.ExportOptions{Out: c.Out, Force: c.Force, Audit: auditOpts, AllowLocalStore: c.AllowLocalStore}
	if c.PassphraseFile != "" {
		p, err := ctx.App.ReadPassphraseFile(c.PassphraseFile)
		if err != nil {
			return err
		}
		o.Passphrase = p
	}
	res, err := ctx.App.Export(ctx, ctx.Target(), c.Env, o)
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

// ciToken prints the runtime token, with the env's own or other credentials.
func (c *ExportCmd) ciToken(ctx *Ctx) error {
	if c.Out != "" || c.PassphraseFile != "" {
		return fail.New(fail.Usage, "drop --out and --passphrase-file", "--ci-token prints a token; it writes no share file")
	}
	if c.Profile != "" && (c.AccessKeyIDFile != "" || c.SecretAccessKeyFile != "") {
		return fail.New(fail.Usage, "pass either --profile or the two key files", "--profile and the key files both name credentials")
	}
	cr := app.CICredentials{Profile: c.Profile}
	var err error
	if c.AccessKeyIDFile != "" {
		if cr.AccessKeyID, err = ctx.App.ReadSecretFile(c.AccessKeyIDFile, "access key id"); err != nil {
			return err
		}
	}
	if c.SecretAccessKeyFile != "" {
		if cr.SecretAccessKey, err = ctx.App.ReadSecretFile(c.SecretAccessKeyFile, "secret access key"); err != nil {
			return err
		}
	}
	res, err := ctx.App.MintCIToken(ctx, ctx.Target(), c.Env, cr)
	if err != nil {
		return err
	}
	fmt.Fprintln(ctx.Stdout, res.Token)
	if res.Own {
		ctx.Infof("this token holds the env's own bucket credentials, which can write: store it only in a secret store (as VSYNC_CONFIG), with the key as VSYNC_KEY")
		ctx.Infof("git-vsync: hint: for a token that can only read %s, give a key this IAM policy and pass it with --profile P (or --access-key-id-file F --secret-access-key-file F):", c.Env)
	} else {
		switch {
		case res.CheckErr != nil:
			ctx.Warnf("these credentials could not read %s: %v", res.Prefix, res.CheckErr)
		default:
			ctx.Infof("checked: they can read %s", res.Prefix)
		}
		ctx.Infof("this token holds those credentials, never the key: store it only in a secret store (as VSYNC_CONFIG), with the key as VSYNC_KEY")
		ctx.Infof("git-vsync: hint: the key needs this IAM policy and nothing more:")
	}
	ctx.Infof("%s", res.Policy)
	return nil
}
