package cli

// UninstallCmd is `git vsync uninstall`.
type UninstallCmd struct{}

// Help is shown by `git vsync uninstall --help`.
func (UninstallCmd) Help() string {
	return `Removes exactly what git vsync install added: the marked git-vsync block of
post-checkout, post-merge, post-rewrite and pre-push. A hook file that held nothing else is deleted; a
foreign hook is left as it was before install, byte for byte.

Examples:
  git vsync uninstall`
}

// Run removes the hooks.
func (c *UninstallCmd) Run(ctx *Ctx) error {
	rep, err := ctx.App.UninstallHooks()
	if err != nil {
		return err
	}
	ctx.Infof("hooks folder %s", rep.Dir)
	for _, h := range rep.Hooks {
		ctx.Infof("  %-14s %s", h.Name, actionText(h.Action))
	}
	return nil
}
