package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// ImportCmd is `git vsync import` (being built).
type ImportCmd struct{}

// Run reports that the command is not built yet.
func (c *ImportCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "import is not implemented yet")
}
