package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// KeystoreCmd is `git vsync keystore`.
type KeystoreCmd struct {
	List   KeystoreListCmd   `cmd:"" help:"List every (repo, env) on this machine: config, key, store, last sync."`
	Export KeystoreExportCmd `cmd:"" help:"Write the halves of many envs into one passphrase-sealed .keytree file."`
	Import KeystoreImportCmd `cmd:"" help:"Restore the halves (and profiles) of a .keytree file on this machine."`
}

// Help is shown by `git vsync keystore --help`.
func (KeystoreCmd) Help() string {
	return `Moves a machine's secrets setup to a new laptop in one file: every (repo, env)
with both halves (config and key), and optionally the saved profiles, sealed with a
passphrase into a .keytree file (the TypeScript vsync tool's keystore format).

Examples:
  git vsync keystore list
  git vsync keystore export --all --profiles --out ~/old-laptop.keytree
  git vsync keystore export --repo acme_web --env dev --env prod
  git vsync keystore import ~/old-laptop.keytree`
}

// KeystoreListCmd is `git vsync keystore list`.
type KeystoreListCmd struct {
	JSON bool `name:"json" help:"Print JSON on stdout."`
}

// Help is shown by `git vsync keystore list --help`.
func (KeystoreListCmd) Help() string {
	return `Lists every (repo, env) with a config file on this machine, whether its key is in the
keychain, where its store is and its last sync (of this clone when it is that
repository, else as the TypeScript tool recorded it). Never prints a secret.

Examples:
  git vsync keystore list
  git vsync keystore list --json | jq -r '.[] | select(.key | not) | .repo + "/" + .env'`
}

// Run lists.
func (c *KeystoreListCmd) Run(ctx *Ctx) error {
	entries, err := ctx.App.KeystoreList(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return ctx.JSON(entries)
	}
	if len(entries) == 0 {
		ctx.Infof("no env is set up on this machine (git vsync init <env>, or git vsync keystore import FILE)")
		return nil
	}
	tw := tabwriter.NewWriter(ctx.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "REPO/ENV\tCONFIG\tKEY\tSTORE\tLAST SYNC")
	for _, e := range entries {
		cfg, key := present(e.Config, e.ConfigErr), present(e.Key, e.KeyErr)
		last := e.LastSync
		if last == "" {
			last = "-"
		} else if e.SyncedBy != "this clone" {
			last += " (" + e.SyncedBy + ")"
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", e.Repo, e.Env, cfg, key, dash(e.Store), last)
	}
	return tw.Flush()
}

// present is yes, missing or unreadable.
func present(ok bool, errText string) string {
	if errText != "" {
		return "unreadable"
	}
	return yesNo(ok)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// KeystoreExportCmd is `git vsync keystore export`.
type KeystoreExportCmd struct {
	All            bool     `help:"Every (repo, env) with both halves on this machine."`
	Env            []string `help:"An env to export: ENV (of --repo, or of this repository) or REPO/ENV; repeatable." placeholder:"[REPO/]ENV"`
	Profiles       bool     `help:"Also the saved profiles (they hold bucket credentials)."`
	Out            string   `help:"Write the file here (default ./<hostname>.keytree)." placeholder:"FILE"`
	PassphraseFile string   `help:"Use the passphrase in this file (at least 8 characters) instead of a generated one." placeholder:"FILE"`
	Force          bool     `help:"Replace an existing file."`
}

// Help is shown by `git vsync keystore export --help`.
func (KeystoreExportCmd) Help() string {
	return `Writes both halves of the chosen envs into a .keytree file sealed with a passphrase
(AES-256-GCM, PBKDF2), mode 0600. Without --passphrase-file a passphrase is
generated and printed once on stdout. The file holds every key it names: move it
and the passphrase on two different channels and delete it once imported.
Keys kept by rotate for older versions are not included.

Examples:
  git vsync keystore export --all --profiles
  git vsync keystore export --repo acme_web --env dev --env prod --out /media/usb/acme.keytree
  git vsync keystore export --env acme_web/dev --env billing/prod`
}

// Run exports.
func (c *KeystoreExportCmd) Run(ctx *Ctx) error {
	o := app.KeystoreExportOptions{All: c.All, Profiles: c.Profiles, Out: c.Out, Force: c.Force}
	if c.All && len(c.Env) > 0 {
		return fail.New(fail.Usage, "pass --all, or --env (repeatable)", "--all and --env exclude each other")
	}
	for _, v := range c.Env {
		repoName, env, ok := strings.Cut(v, "/")
		if !ok {
			env = v
			w, err := ctx.Target().Get()
			if err != nil {
				return fail.Wrap(fail.Usage, err, "name it as REPO/ENV, or pass --repo R", "which repository is env %q of", v)
			}
			repoName = w.ID.Name
		} else if ctx.Repo != "" && ctx.Repo != repoName {
			return fail.New(fail.Usage, "use --env REPO/ENV without --repo, or --env ENV with it", "--env %s contradicts --repo %s", v, ctx.Repo)
		}
		if err := app.CheckEnv(env); err != nil {
			return err
		}
		o.Pairs = append(o.Pairs, [2]string{repoName, env})
	}
	if c.PassphraseFile != "" {
		p, err := ctx.App.ReadPassphraseFile(c.PassphraseFile)
		if err != nil {
			return err
		}
		o.Passphrase = p
	}
	res, err := ctx.App.KeystoreExport(ctx, o)
	if err != nil {
		return err
	}
	for _, s := range res.Skipped {
		ctx.Warnf("skipped %s", s)
	}
	ctx.Infof("wrote %s: %d env(s), %d profile(s)", res.Path, len(res.Entries), len(res.Profiles))
	for _, e := range res.Entries {
		ctx.Infof("  %s", e)
	}
	for _, p := range res.Profiles {
		ctx.Infof("  profile %s", p)
	}
	if res.Passphrase != "" {
		fmt.Fprintf(ctx.Stdout, "passphrase: %s\n", res.Passphrase)
		ctx.Infof("the passphrase above is shown only this once.")
	}
	ctx.Infof("on the new machine: git vsync keystore import %s", "<file>")
	return nil
}

// KeystoreImportCmd is `git vsync keystore import`.
type KeystoreImportCmd struct {
	File           string `arg:"" help:"The .keytree file." placeholder:"FILE"`
	PassphraseFile string `help:"Read the passphrase from this file. Default: VSYNC_SHARE_PASSPHRASE, else a hidden prompt." placeholder:"FILE"`
	Force          bool   `help:"Replace halves and profiles that differ from the file's (the old key stays in the keychain as <repo>/<env>#<fingerprint>, the old config beside the new one)."`
}

// Help is shown by `git vsync keystore import --help`.
func (KeystoreImportCmd) Help() string {
	return `Restores every (repo, env) and profile of a .keytree file: configs into
~/.config/vsync, keys into the OS keychain. The whole file is decrypted and checked
before anything is written. What is here already and equal is kept; what differs
is kept too unless --force, which replaces it and keeps the old halves aside. The
passphrase comes from --passphrase-file, VSYNC_SHARE_PASSPHRASE or a hidden prompt,
never from the command line.

Examples:
  git vsync keystore import ~/old-laptop.keytree
  git vsync keystore import acme.keytree --passphrase-file ~/pass.txt --force`
}

// Run imports.
func (c *KeystoreImportCmd) Run(ctx *Ctx) error {
	pass, err := askPassphrase(ctx, c.PassphraseFile, c.File)
	if err != nil {
		return err
	}
	res, err := ctx.App.KeystoreImport(ctx, c.File, pass, app.KeystoreImportOptions{Force: c.Force})
	if res != nil {
		for _, w := range res.Warnings {
			ctx.Warnf("%s", w)
		}
		for _, row := range []struct {
			what  string
			names []string
		}{{"added", res.Added}, {"kept", res.Kept}, {"replaced", res.Replaced}, {"differs, kept (--force replaces)", res.Differs}} {
			for _, n := range row.names {
				ctx.Infof("  %-9s %s", row.what, n)
			}
		}
	}
	if err != nil {
		return err
	}
	ctx.Infof("imported %s: %s", c.File, res)
	if len(res.Differs) > 0 {
		ctx.Warnf("%d item(s) differ from this machine's and were kept; run again with --force to replace them", len(res.Differs))
	}
	ctx.Infof("delete %s now: it holds the keys.", c.File)
	return nil
}
