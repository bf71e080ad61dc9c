package audit

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

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/store"
)

// Options are the audit flags of a command.
type Options struct {
	Disabled bool     // --no-audit
	Note     string   // --note
	Meta     []string // --meta k=v
}

// Environment variables that add to the meta of every row (SPEC §7).
const (
	NoteEnv = "VSYNC_AUDIT_NOTE" // like --note
	MetaEnv = "VSYNC_AUDIT_META" // a JSON object, like --meta for each key
)

// Check validates the flags before a command does anything: every --meta must be
// k=v with a non-empty key.
func (o Options) Check() error {
	for _, kv := range o.Meta {
		if k, _, ok := strings.Cut(kv, "="); !ok || strings.TrimSpace(k) == "" {
			return fail.New(fail.Usage, "write --meta key=value, e.g. --meta ticket=OPS-12 (repeat it for more keys)", "invalid --meta %q", clip(kv, 40))
		}
	}
	return nil
}

// Action is what a command records: its name, the version it concerns ("" when
// none), when, by which git identity and which git-vsync, and the user's meta.
type Action struct {
	Name      string
	VersionTS string
	Time      time.Time
	GitEmail  string // git's user.email, found by the caller ("" when unset)
	Version   string // git-vsync's version
	Options   Options
	Extra     map[string]any // facts the command adds to the meta; they win over the user's
}

// Collect builds the row of an action: the machine's facts (host name, local
// IPv4, OS user) and the meta from the environment variables, the flags and
// extra. getenv reads the process environment; warnf reports what was ignored.
func Collect(a Action, getenv func(string) string, warnf func(format string, args ...any)) Row {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Row{
		TS:           a.Time.UTC().Format(TimeLayout),
		Action:       a.Name,
		VersionTS:    a.VersionTS,
		Hostname:     hostname(),
		LocalIP:      localIPv4(),
		OSUser:       osUser(getenv),
		GitEmail:     a.GitEmail,
		VsyncVersion: VsyncPrefix + a.Version,
		BunVersion:   runtime.Version(),
		Meta:         userMeta(a.Options, a.Extra, getenv, warnf),
	}
}

// userMeta builds the user part of a row's meta. Lowest to highest precedence:
// VSYNC_AUDIT_META, VSYNC_AUDIT_NOTE, each --meta k=v in order, --note, then
// extra (facts the command records). "prev" and "_truncated" belong to the log
// and are dropped with a warning.
func userMeta(o Options, extra map[string]any, getenv func(string) string, warnf func(string, ...any)) map[string]any {
	m := map[string]any{}
	if s := strings.TrimSpace(getenv(MetaEnv)); s != "" {
		env, err := DecodeMeta(s)
		if err != nil {
			// Never echo the value: say what is wrong with it only.
			warnf("%s is %v; ignored (set it to a JSON object such as {\"ticket\":\"OPS-12\"})", MetaEnv, err)
		}
		for k, v := range env {
			m[k] = v
		}
	}
	if n := getenv(NoteEnv); n != "" {
		m[MetaNote] = n
	}
	for _, kv := range o.Meta {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			warnf("ignoring --meta %q: write key=value", clip(kv, 40))
			continue
		}
		m[k] = v
	}
	if o.Note != "" {
		m[MetaNote] = o.Note
	}
	for k, v := range extra {
		m[k] = v
	}
	for _, k := range []string{MetaPrev, MetaTruncated} {
		if _, ok := m[k]; ok {
			warnf("the audit meta key %q is reserved for the log itself; ignored", k)
			delete(m, k)
		}
	}
	return m
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// osUser is the login name: the OS account, else $USER / $USERNAME / $LOGNAME.
func osUser(getenv func(string) string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, k := range []string{"USER", "USERNAME", "LOGNAME"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// localIPv4 is the first non-loopback IPv4 address of an interface that is up,
// or "" (never an error: the log records what it can).
func localIPv4() string {
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

// The append retries until every one of a handful of concurrent writers has
// landed its row: each failed If-Match means someone else's row landed.
const (
	appendAttempts   = 20
	appendBackoffMin = 20 * time.Millisecond
	appendBackoffMax = 500 * time.Millisecond
)

// AppendTo reads the log at key with its ETag, appends r (Append: chained to the
// bytes before it) and writes it back on the condition that nobody wrote in
// between; on a conflict it starts over after a jittered, growing pause.
func AppendTo(ctx context.Context, st store.Store, key string, r Row) (Row, error) {
	backoff := appendBackoffMin
	for attempt := 1; ; attempt++ {
		body, etag, err := store.GetLimited(ctx, st, key, MaxLogSize)
		cond := store.Cond{IfMatch: etag}
		switch {
		case errors.Is(err, store.ErrNotFound):
			body, cond = nil, store.Cond{IfNoneMatch: true}
		case err != nil:
			return Row{}, err
		}
		out, row, err := Append(body, r)
		if err != nil {
			return Row{}, err
		}
		_, err = st.Put(ctx, key, out, cond)
		if err == nil {
			return row, nil
		}
		if !errors.Is(err, store.ErrPreconditionFailed) {
			return Row{}, err
		}
		if attempt >= appendAttempts {
			return Row{}, errors.New("the log kept changing under concurrent writers; gave up after " + strconv.Itoa(appendAttempts) + " attempts")
		}
		// Sleep between half and all of the current backoff.
		d := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return Row{}, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, appendBackoffMax)
	}
}
