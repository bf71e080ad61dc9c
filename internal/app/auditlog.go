package app

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/git-vsync/git-vsync/internal/audit"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/store"
)

// AuditLog is an env's audit log as the store holds it.
type AuditLog struct {
	Env    string
	Key    string      // the object's key in the bucket
	Exists bool        // false: nothing was ever recorded
	Rows   []audit.Row // in log order, oldest first
}

// AuditFilter selects rows of an audit log.
type AuditFilter struct {
	Limit   int       // only the newest N rows (0: all)
	Actions []string  // only these actions (empty: all)
	Since   time.Time // only rows at or after this time (zero: all)
}

// AuditVerification is the outcome of `audit --verify`.
type AuditVerification struct {
	Env         string             `json:"env"`
	Key         string             `json:"key"`
	Exists      bool               `json:"exists"`
	Intact      bool               `json:"intact"`
	Rows        int                `json:"rows"`
	Chained     int                `json:"chained"`
	Unchained   int                `json:"unchained"`
	LastChained int                `json:"last_chained"`
	Failure     *AuditVerifyFailed `json:"failure,omitempty"`
}

// AuditVerifyFailed names the row where the chain broke.
type AuditVerifyFailed struct {
	Row    int    `json:"row"`
	Line   int    `json:"line"`
	TS     string `json:"ts,omitempty"`
	Action string `json:"action,omitempty"`
	Reason string `json:"reason"`
}

// fetchAuditLog reads the env's log; exists is false when there is none.
func (a *App) fetchAuditLog(ctx context.Context, target *Target, env string) (e *EnvHandle, data []byte, exists bool, err error) {
	e, err = a.OpenEnv(target, env)
	if err != nil {
		return nil, nil, false, err
	}
	data, _, err = store.GetLimited(ctx, e.Store, e.AuditKey(), audit.MaxLogSize)
	if errors.Is(err, store.ErrNotFound) {
		return e, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, store.AsFail(err, "read the audit log of "+env)
	}
	return e, data, true, nil
}

func auditDamaged(env, key string, err error) error {
	return fail.Wrap(fail.Integrity, err,
		"the object "+key+" was damaged or replaced outside git-vsync; compare it with an older copy (bucket versioning or a backup)",
		"the audit log of %s is unreadable", env)
}

// ReadAuditLog reads and parses the env's audit log. A log that does not parse is
// an integrity failure (exit 6) naming the line and row.
func (a *App) ReadAuditLog(ctx context.Context, target *Target, env string) (*AuditLog, error) {
	e, data, exists, err := a.fetchAuditLog(ctx, target, env)
	if err != nil {
		return nil, err
	}
	l := &AuditLog{Env: env, Key: e.AuditKey(), Exists: exists}
	if !exists {
		return l, nil
	}
	if l.Rows, err = audit.Parse(data); err != nil {
		return nil, auditDamaged(env, l.Key, err)
	}
	return l, nil
}

// Select returns the rows the filter keeps, in log order; with a limit, the
// newest ones.
func (l *AuditLog) Select(f AuditFilter) []audit.Row {
	var out []audit.Row
	for _, r := range l.Rows {
		if len(f.Actions) > 0 && !slices.Contains(f.Actions, r.Action) {
			continue
		}
		if !f.Since.IsZero() && r.Time.Before(f.Since) {
			continue
		}
		out = append(out, r)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

// VerifyAuditLog walks the chain of the env's audit log (audit.Verify). A broken
// chain or an unreadable log returns the verification (Intact false, Failure
// set) together with an integrity error (exit 6) naming the first bad row.
func (a *App) VerifyAuditLog(ctx context.Context, target *Target, env string) (*AuditVerification, error) {
	e, data, exists, err := a.fetchAuditLog(ctx, target, env)
	if err != nil {
		return nil, err
	}
	v := &AuditVerification{Env: env, Key: e.AuditKey(), Exists: exists, Intact: true}
	if !exists {
		return v, nil
	}
	rep, err := audit.Verify(data)
	v.Rows, v.Chained, v.Unchained, v.LastChained = rep.Rows, rep.Chained, rep.Unchained, rep.LastChained
	if err == nil {
		return v, nil
	}
	v.Intact = false
	var te *audit.TamperError
	var pe *audit.ParseError
	switch {
	case errors.As(err, &te):
		v.Failure = &AuditVerifyFailed{Row: te.Row, Line: te.Line, TS: te.TS, Action: te.Action, Reason: te.Reason}
		return v, fail.Wrap(fail.Integrity, err,
			"someone changed the object "+v.Key+" outside git-vsync somewhere before row "+strconv.Itoa(te.Row)+": compare it with an older copy (bucket versioning or a backup) to see what",
			"the audit log of %s was tampered with", env)
	case errors.As(err, &pe):
		v.Failure = &AuditVerifyFailed{Row: pe.Row, Line: pe.Line, Reason: pe.Msg}
	default:
		v.Failure = &AuditVerifyFailed{Reason: err.Error()}
	}
	return v, auditDamaged(env, v.Key, err)
}
