package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/audit"
)

// AuditOptions are the audit flags of a command (audit.Options).
type AuditOptions = audit.Options

const auditGitTimeout = 2 * time.Second

// AuditKey is the key of the env's audit log.
func (e *EnvHandle) AuditKey() string { return e.Layout().Audit() }

// appendAudit records an action in the env's audit log (SPEC §7): one row
// (audit.Collect), chained to the log before it, written with a compare-and-swap
// and retried on conflict (audit.AppendTo). It never fails the command: a problem
// is a warning. ts is the bundle version the action concerns ("" when none);
// extra adds meta keys (they win over the user's).
func (a *App) appendAudit(ctx context.Context, e *EnvHandle, action, ts string, o AuditOptions, extra map[string]any) {
	if o.Disabled || e == nil || (e.Config != nil && !e.Config.Audit()) {
		return
	}
	r := audit.Collect(audit.Action{
		Name: action, VersionTS: ts, Time: a.Now(), GitEmail: auditGitEmail(ctx, e),
		Version: a.Version, Options: o, Extra: extra,
	}, a.Getenv, a.warnf)
	row, err := audit.AppendTo(ctx, e.Store, e.AuditKey(), r)
	if err != nil {
		hint := ""
		var pe *audit.ParseError
		if errors.As(err, &pe) || errors.Is(err, audit.ErrTooLarge) {
			hint = "; the log was left as it is: inspect it with `git vsync audit " + e.Name + " --verify`"
		}
		a.warnf("%s: the %s succeeded but its audit row was not recorded: %v%s", e.Name, action, err, hint)
		return
	}
	if row.Meta[audit.MetaTruncated] == true {
		a.warnf("%s: the audit meta was over %d bytes; the row records {\"_truncated\":true} instead", e.Name, audit.MaxMetaSize)
	}
}

// auditGitEmail is git's user.email in the repository, "" when unset or when
// git does not answer in time.
func auditGitEmail(ctx context.Context, e *EnvHandle) string {
	if e.Workspace == nil || e.Repo == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, auditGitTimeout)
	defer cancel()
	v, err := e.Repo.ConfigValue(ctx, "user.email")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v)
}
