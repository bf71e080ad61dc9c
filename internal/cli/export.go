package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// ExportCmd is `git vsync export` (being built).
type ExportCmd struct{}

// Run reports that the command is not built yet.
func (c *ExportCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "export is not implemented yet")
}
