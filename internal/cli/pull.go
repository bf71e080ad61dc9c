package cli

import (
	"strings"

	"github.com/git-vsync/git-vsync/internal/app"
)

// PullCmd is `git vsync pull`.
type PullCmd struct {
	Env        string `arg:"" help:"Environment to pull."`
	At         string `help:"Bring back this version (see git vsync versions) instead of the latest; latest does not move." placeholder:"TS"`
	Force      bool   `help:"Replace local changes in the vault (a backup is kept; see git vsync restore)."`
	Merge      bool   `help:"Merge your local changes with the newer version: three-way, key by key in .env* files, the last synced version as the base; stops on a conflict without changing anything."`
	AuditFlags `embed:""`
}

// Help is shown by `git vsync pull --help`.
func (PullCmd) Help() string {
	return `Brings the latest version (or --at TS) into the vault folder. The bundle is
downloaded, decrypted and checked before anything local changes; the vault is then
swapped in one step, so it is the old or the new one, never a mix. Files deleted
remotely disappear locally. What is replaced is first kept as an encrypted backup.

Refuses (exit 3) when the vault has changes since the last sync (unless --merge
or --force), and when the store's latest pointer went back in time (unless --at
names it). When already up to date it says so without downloading anything.

--merge keeps your edits and brings in the newer version's: a three-way merge
with the version this clone last synced as the base (downloaded from the store).
Dotenv files (.env*) merge key by key — your comments and order stay, their new
keys are appended — other files as a whole; a side that changed something alone
wins. When both sides changed the same key or file differently it stops with
exit 3, names the keys and files (never values) and changes nothing. After a
clean merge your edits are local changes on top of the newer version: publish
them with git vsync push.

Examples:
  git vsync pull dev
  git vsync pull dev --at 20260131-235959
  git vsync pull dev --merge      # keep your edits, bring in a teammate's
  git vsync pull dev --force      # discard local edits (backed up first)`
}

// Run pulls.
func (c *PullCmd) Run(ctx *Ctx) error {
	auditOpts, err := c.AuditFlags.Options()
	if err != nil {
		return err
	}
	res, err := ctx.App.Pull(ctx, ctx.Target(), c.Env, app.PullOptions{At: c.At, Force: c.Force, Merge: c.Merge, Audit: auditOpts})
	if err != nil {
		return err
	}
	if res.KeptEdits {
		ctx.Infof("%s: nothing to merge: the store has no version newer than %s; publish your edits with `git vsync push %s`", c.Env, res.TS, c.Env)
		return nil
	}
	if res.UpToDate {
		ctx.Infof("%s: already up to date (version %s)", c.Env, res.TS)
		return nil
	}
	if m := res.Merge; m != nil {
		if res.Backup != "" {
			ctx.Infof("%s: previous vault backed up (git vsync restore %s)", c.Env, c.Env)
		}
		ctx.Infof("%s: merged version %s into your edits", c.Env, res.TS)
		if len(m.Theirs) > 0 {
			ctx.Infof("  from theirs  %s", strings.Join(m.Theirs, " "))
		}
		if len(m.Keys) > 0 {
			ctx.Infof("  their keys   %s", strings.Join(m.Keys, ", "))
		}
		ctx.Infof("next: `git vsync push %s` publishes both sides' changes", c.Env)
		return nil
	}
	if len(res.Discarded) > 0 {
		ctx.Infof("%s: replaced local changes: %s", c.Env, strings.Join(res.Discarded, " "))
	}
	if res.Backup != "" {
		ctx.Infof("%s: previous vault backed up (git vsync restore %s)", c.Env, c.Env)
	}
	ctx.Infof("%s: pulled version %s (%d files)", c.Env, res.TS, res.Files)
	return nil
}
