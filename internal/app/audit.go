package app

import "context"

// AuditOptions are the audit flags of a command.
type AuditOptions struct {
	Disabled bool     // --no-audit
	Note     string   // --note
	Meta     []string // --meta k=v
}

// appendAudit records an action in the env's audit log. The audit log itself is
// not built yet; this is where it plugs in.
func (a *App) appendAudit(ctx context.Context, e *Env, action, ts string, o AuditOptions, extra map[string]any) {
}
