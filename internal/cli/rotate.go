package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// RotateCmd is `git vsync rotate` (being built).
type RotateCmd struct{}

// Run reports that the command is not built yet.
func (c *RotateCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "rotate is not implemented yet")
}
