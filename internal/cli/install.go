package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// InstallCmd is `git vsync install` (being built).
type InstallCmd struct{}

// Run reports that the command is not built yet.
func (c *InstallCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "install is not implemented yet")
}
