package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// HookCmd is `git vsync hook <name> [args…]`, what the installed hooks call.
type HookCmd struct {
	Name string   `arg:"" enum:"post-checkout,post-merge,post-rewrite,pre-push" help:"The git hook: post-checkout, post-merge, post-rewrite or pre-push."`
	Args []string `arg:"" optional:"" passthrough:"all" help:"The arguments git gave the hook."`
}

// Help is shown by `git vsync hook --help`.
func (HookCmd) Help() string {
	return `Runs the work of a git hook; the hooks git vsync install writes call it.

post-checkout <prev> <new> <flag>: after a branch checkout (flag 1), pulls each
env whose store has a newer version and whose vault is clean; a dirty vault or
an unreachable store is a one-line warning. Always exits 0.

post-merge <squash> (git merge, git pull) and post-rewrite rebase (git rebase,
git pull --rebase): the same as post-checkout after a branch checkout.
post-rewrite amend does nothing.

pre-push <remote> <url> (ref lines on stdin): exits 1 when an env's vault has
changes not pushed to the store, or the store has a version this clone has not
pulled. A push that only deletes refs is not checked.

Settings (git config): vsync.envs (the envs to act on; default every env set up
on this machine), vsync.hookTimeout (default 3s), vsync.prePush warn|off|strict.
VSYNC_SKIP_HOOKS=1 turns every hook off; git push --no-verify skips pre-push.

Examples:
  git vsync hook post-checkout 0000000000000000000000000000000000000000 HEAD 1
  git config vsync.prePush warn`
}

// Run runs the hook.
func (c *HookCmd) Run(ctx *Ctx) error {
	switch c.Name {
	case "post-checkout":
		ctx.App.HookPostCheckout(ctx, ctx.Target(), c.Args)
		return nil
	case "post-merge":
		ctx.App.HookPostMerge(ctx, ctx.Target(), c.Args)
		return nil
	case "post-rewrite":
		ctx.App.HookPostRewrite(ctx, ctx.Target(), c.Args)
		return nil
	case "pre-push":
		return ctx.App.HookPrePush(ctx, ctx.Target(), c.Args, ctx.Stdin)
	}
	return fail.New(fail.Usage, "the hooks are post-checkout, post-merge, post-rewrite and pre-push", "unknown hook %q", c.Name)
}
