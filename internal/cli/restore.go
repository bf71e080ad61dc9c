package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// RestoreCmd is `git vsync restore` (being built).
type RestoreCmd struct{}

// Run reports that the command is not built yet.
func (c *RestoreCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "restore is not implemented yet")
}
