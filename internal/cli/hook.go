package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// HookCmd is `git vsync hook` (being built).
type HookCmd struct{}

// Run reports that the command is not built yet.
func (c *HookCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "hook is not implemented yet")
}
