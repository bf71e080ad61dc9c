package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// UninstallCmd is `git vsync uninstall` (being built).
type UninstallCmd struct{}

// Run reports that the command is not built yet.
func (c *UninstallCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "uninstall is not implemented yet")
}
