package cli

import "github.com/git-vsync/git-vsync/internal/app"

// PushCmd is `git vsync push`.
type PushCmd struct {
	Env        string `arg:"" help:"Environment to push."`
	Force      bool   `help:"Publish even when the store has a version this clone has not pulled (that version stays in the store)."`
	AuditFlags `embed:""`
}

// Help is shown by `git vsync push --help`.
func (PushCmd) Help() string {
	return `Seals the vault folder (infra/vault/<env>/) into a new encrypted version and
makes it the latest. The push is a compare-and-swap: when someone else pushed since
this clone last synced, it stops with exit 3 and changes nothing; run pull first.
When the vault equals the latest version, nothing is written, also with --force.

Examples:
  git vsync push dev
  git vsync push prod --force     # publish over a version you have not pulled
  git vsync push prod --note "rotate the Stripe key" --meta ticket=OPS-12`
}

// Run pushes.
func (c *PushCmd) Run(ctx *Ctx) error {
	auditOpts, err := c.AuditFlags.Options()
	if err != nil {
		return err
	}
	res, err := ctx.App.Push(ctx, ctx.Target(), c.Env, app.PushOptions{Force: c.Force, Audit: auditOpts})
	if err != nil {
		return err
	}
	switch {
	case res.Unchanged:
		ctx.Infof("%s: nothing changed since version %s; nothing pushed", c.Env, res.TS)
	case res.Forced:
		ctx.Infof("%s: pushed version %s (%d files, %d bytes) over %s, which you had not pulled", c.Env, res.TS, res.Files, res.Bytes, res.Previous)
	default:
		ctx.Infof("%s: pushed version %s (%d files, %d bytes)", c.Env, res.TS, res.Files, res.Bytes)
	}
	return nil
}
