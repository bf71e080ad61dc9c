package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/audit"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/store"
)

// AuditOptions are the audit flags of a command.
type AuditOptions struct {
	Disabled bool     // --no-audit
	Note     string   // --note
	Meta     []string // --meta k=v
}

// Environment variables that add to the meta of every audit row (SPEC §7).
const (
	AuditNoteEnv = "VSYNC_AUDIT_NOTE" // like --note
	AuditMetaEnv = "VSYNC_AUDIT_META" // a JSON object, like --meta for each key
)

// Check validates the flags before a command does anything: every --meta must be
// k=v with a non-empty key.
func (o AuditOptions) Check() error {
	for _, kv := range o.Meta {
		if k, _, ok := strings.Cut(kv, "="); !ok || strings.TrimSpace(k) == "" {
			return fail.New(fail.Usage, "write --meta key=value, e.g. --meta ticket=OPS-12 (repeat it for more keys)", "invalid --meta %q", auditClip(kv, 40))
		}
	}
	return nil
}

// The append retries until every one of a handful of concurrent writers has
// landed its row: each failed If-Match means someone else's row landed.
const (
	auditAttempts   = 20
	auditBackoffMin = 20 * time.Millisecond
	auditBackoffMax = 500 * time.Millisecond
	auditGitTimeout = 2 * time.Second
)

// AuditKey is the key of the env's audit log.
func (e *EnvHandle) AuditKey() string { return e.Layout().Audit() }

// appendAudit records an action in the env's audit log (SPEC §7): one row, chained
// to the log before it, written with a compare-and-swap and retried on conflict.
// It never fails the command: a problem is a warning. ts is the bundle version the
// action concerns ("" when none); extra adds meta keys (they win over the user's).
func (a *App) appendAudit(ctx context.Context, e *EnvHandle, action, ts string, o AuditOptions, extra map[string]any) {
	if o.Disabled || e == nil || (e.Config != nil && !e.Config.Audit()) {
		return
	}
	meta := a.auditMeta(o, extra)
	r := audit.Row{
		TS:           a.Now().UTC().Format(audit.TimeLayout),
		Action:       action,
		VersionTS:    ts,
		Hostname:     auditHostname(),
		LocalIP:      auditLocalIPv4(),
		OSUser:       a.auditOSUser(),
		GitEmail:     auditGitEmail(ctx, e),
		VsyncVersion: audit.VsyncPrefix + a.Version,
		BunVersion:   runtime.Version(),
		Meta:         meta,
	}
	row, err := a.appendAuditRow(ctx, e.Store, e.AuditKey(), r)
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

// appendAuditRow reads the log with its ETag, appends r and writes it back on the
// condition that nobody wrote in between; on a conflict it starts over after a
// jittered, growing pause.
func (a *App) appendAuditRow(ctx context.Context, st store.Store, key string, r audit.Row) (audit.Row, error) {
	backoff := auditBackoffMin
	for attempt := 1; ; attempt++ {
		body, etag, err := store.GetLimited(ctx, st, key, audit.MaxLogSize)
		cond := store.Cond{IfMatch: etag}
		switch {
		case errors.Is(err, store.ErrNotFound):
			body, cond = nil, store.Cond{IfNoneMatch: true}
		case err != nil:
			return audit.Row{}, err
		}
		out, row, err := audit.Append(body, r)
		if err != nil {
			return audit.Row{}, err
		}
		_, err = st.Put(ctx, key, out, cond)
		if err == nil {
			return row, nil
		}
		if !errors.Is(err, store.ErrPreconditionFailed) {
			return audit.Row{}, err
		}
		if attempt >= auditAttempts {
			return audit.Row{}, errors.New("the log kept changing under concurrent writers; gave up after " + strconv.Itoa(auditAttempts) + " attempts")
		}
		// Sleep between half and all of the current backoff.
		d := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return audit.Row{}, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, auditBackoffMax)
	}
}

// auditMeta builds the user part of a row's meta. Lowest to highest precedence:
// VSYNC_AUDIT_META, VSYNC_AUDIT_NOTE, each --meta k=v in order, --note, then
// extra (facts the command records). "prev" and "_truncated" belong to the log
// and are dropped with a warning.
func (a *App) auditMeta(o AuditOptions, extra map[string]any) map[string]any {
	m := map[string]any{}
	if s := strings.TrimSpace(a.auditGetenv(AuditMetaEnv)); s != "" {
		env, err := audit.DecodeMeta(s)
		if err != nil {
			// Never echo the value: say what is wrong with it only.
			a.warnf("%s is %v; ignored (set it to a JSON object such as {\"ticket\":\"OPS-12\"})", AuditMetaEnv, err)
		}
		for k, v := range env {
			m[k] = v
		}
	}
	if n := a.auditGetenv(AuditNoteEnv); n != "" {
		m[audit.MetaNote] = n
	}
	for _, kv := range o.Meta {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			a.warnf("ignoring --meta %q: write key=value", auditClip(kv, 40))
			continue
		}
		m[k] = v
	}
	if o.Note != "" {
		m[audit.MetaNote] = o.Note
	}
	for k, v := range extra {
		m[k] = v
	}
	for _, k := range []string{audit.MetaPrev, audit.MetaTruncated} {
		if _, ok := m[k]; ok {
			a.warnf("the audit meta key %q is reserved for the log itself; ignored", k)
			delete(m, k)
		}
	}
	return m
}

func (a *App) auditGetenv(k string) string {
	if a.Getenv == nil {
		return os.Getenv(k)
	}
	return a.Getenv(k)
}

func auditHostname() string {
	h, _ := os.Hostname()
	return h
}

// auditOSUser is the login name: the OS account, else $USER / $USERNAME.
func (a *App) auditOSUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, k := range []string{"USER", "USERNAME", "LOGNAME"} {
		if v := a.auditGetenv(k); v != "" {
			return v
		}
	}
	return ""
}

// auditLocalIPv4 is the first non-loopback IPv4 address of an interface that is up,
// or "" (never an error: the log records what it can).
func auditLocalIPv4() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, addr := range addrs {
			var ip net.IP
			switch v := addr.(type) {
			case *net.IPNet:
				ip = v.IP
			case *net.IPAddr:
				ip = v.IP
			}
			if ip4 := ip.To4(); ip4 != nil && !ip4.IsLoopback() && !ip4.IsUnspecified() {
				return ip4.String()
			}
		}
	}
	return ""
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

// auditClip shortens user input quoted in a message.
func auditClip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
