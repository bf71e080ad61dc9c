package cli

import "github.com/git-vsync/git-vsync/internal/fail"

// AuditCmd is `git vsync audit` (being built).
type AuditCmd struct{}

// Run reports that the command is not built yet.
func (c *AuditCmd) Run(ctx *Ctx) error {
	return fail.New(fail.Failure, "", "audit is not implemented yet")
}
