package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// ProfileCmd is `git vsync profile` (being built).
type ProfileCmd struct{}

// Run reports that the command is not built yet.
func (c *ProfileCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "profile is not implemented yet")
}
