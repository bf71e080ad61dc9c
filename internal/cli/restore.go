package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/git-vsync/git-vsync/internal/app"
)

// RestoreCmd is `git vsync restore`.
type RestoreCmd struct {
	Env  string `arg:"" help:"Environment."`
	ID   string `arg:"" optional:"" name:"ts" help:"The backup to bring back (as listed); without it, list the backups."`
	JSON bool   `name:"json" help:"List as a JSON array on stdout."`
}

// Help is shown by `git vsync restore --help`.
func (RestoreCmd) Help() string {
	return `Before pull, pull --force or restore replace the vault, the replaced files are kept
as an encrypted backup on this machine (the newest 10 per env, in
~/.config/vsync/backups, or in $VSYNC_BACKUP_DIR when set). Without TS, restore lists them with their time and file
count; with TS it brings that backup back into the vault in one step, after
backing up the current vault.

The store and the sync state are not touched: the restored files show as local
changes in ` + "`git vsync status`" + `; push them to publish them.

Examples:
  git vsync restore dev
  git vsync restore dev 20260131-235959`
}

// Run lists or restores.
func (c *RestoreCmd) Run(ctx *Ctx) error {
	if c.ID == "" {
		return c.list(ctx)
	}
	res, err := ctx.App.Restore(ctx, ctx.Target(), c.Env, c.ID, app.AuditOptions{})
	if err != nil {
		return err
	}
	if res.Backup != "" {
		ctx.Infof("%s: the vault it replaced is backed up as %s", c.Env, res.Backup)
	}
	ctx.Infof("%s: restored backup %s (%d files)", c.Env, res.ID, res.Files)
	ctx.Infof("the store is unchanged: `git vsync status` shows the difference; `git vsync push %s` publishes it", c.Env)
	return nil
}

func (c *RestoreCmd) list(ctx *Ctx) error {
	bs, warnings, err := ctx.App.Backups(ctx, ctx.Target(), c.Env)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		ctx.Warnf("%s", w)
	}
	if c.JSON {
		return ctx.JSON(bs)
	}
	if len(bs) == 0 {
		fmt.Fprintf(ctx.Stdout, "no backups of %s on this machine\n", c.Env)
		return nil
	}
	tw := tabwriter.NewWriter(ctx.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKUP\tTIME (UTC)\tFILES\tAGE\t")
	now := ctx.App.Now()
	for _, b := range bs {
		files := fmt.Sprint(b.Files)
		if !b.Readable {
			files = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", b.ID, b.Time.UTC().Format("2006-01-02 15:04:05"), files, age(now.Sub(b.Time)))
	}
	return tw.Flush()
}
