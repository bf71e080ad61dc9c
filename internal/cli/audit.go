package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/audit"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// AuditFlags are the flags of the commands that append an audit row.
type AuditFlags struct {
	Note    string   `help:"A note for the audit row of this action (why, ticket, …)." placeholder:"TEXT"`
	Meta    []string `help:"Add key=value to the audit row of this action; repeat for more keys." placeholder:"K=V" sep:"none"`
	NoAudit bool     `name:"no-audit" help:"Do not record this action in the audit log."`
}

// Options checks the flags and returns them for internal/app.
func (f *AuditFlags) Options() (app.AuditOptions, error) {
	o := app.AuditOptions{Disabled: f.NoAudit, Note: f.Note, Meta: f.Meta}
	return o, o.Check()
}

// AuditCmd is `git vsync audit`.
type AuditCmd struct {
	Env    string   `arg:"" help:"Environment."`
	Limit  int      `help:"Only the newest N rows (0: all)." placeholder:"N"`
	Action []string `help:"Only rows of these actions (push, pull, import, export, rotate, restore, …); comma-separated or repeated." placeholder:"A"`
	Since  string   `help:"Only rows at or after DATE: 2026-01-31, 2026-01-31T12:00:00Z, or a duration ago such as 36h or 7d." placeholder:"DATE"`
	JSON   bool     `name:"json" xor:"format" help:"Print a JSON array on stdout (newest first), meta parsed."`
	CSV    bool     `name:"csv" xor:"format" help:"Print the selected rows as CSV on stdout (header included, log order)."`
	Verify bool     `help:"Check the log's hash chain; exit 6 naming the first row that does not match."`
}

// Help is shown by `git vsync audit --help`.
func (AuditCmd) Help() string {
	return `Shows the env's audit log (audit.csv in the bucket): who pushed, pulled, exported,
imported, rotated or restored, when, from which machine, with which note. The
table is newest first; --json gives one object per row keyed by the CSV header
(meta parsed, null when empty); --csv prints the selected rows as CSV.

--verify walks the log's hash chain: every row git-vsync writes carries "prev",
the SHA-256 of the log before it, so an edited, deleted, inserted or reordered
row breaks the next chained row. Rows without prev (written by the TypeScript
vsync) are counted as unchained. Exit 6 names the first row that does not match.

No network access beyond reading the log; the key is not needed.

Examples:
  git vsync audit dev
  git vsync audit prod --limit 20 --action push,rotate
  git vsync audit dev --since 7d --json | jq -r '.[] | .git_email'
  git vsync audit dev --csv > dev-audit.csv
  git vsync audit prod --verify`
}

// Run shows or verifies the log.
func (c *AuditCmd) Run(ctx *Ctx) error {
	if c.Limit < 0 {
		return fail.New(fail.Usage, "pass a positive number, or 0 for all rows", "invalid --limit %d", c.Limit)
	}
	if c.Verify {
		if c.CSV || c.Limit != 0 || len(c.Action) > 0 || c.Since != "" {
			return fail.New(fail.Usage, "run `git vsync audit "+c.Env+" --verify` alone (--json is allowed)", "--verify checks the whole log: it does not combine with --csv, --limit, --action or --since")
		}
		return c.verify(ctx)
	}
	f := app.AuditFilter{Limit: c.Limit}
	for _, a := range c.Action {
		if a = strings.TrimSpace(a); a != "" {
			f.Actions = append(f.Actions, a)
		}
	}
	if c.Since != "" {
		t, err := parseSince(c.Since, ctx.App.Now())
		if err != nil {
			return fail.New(fail.Usage, "use a date (2026-01-31), an RFC 3339 time (2026-01-31T12:00:00Z) or a duration ago (36h, 7d, 2w)", "invalid --since %q", c.Since)
		}
		f.Since = t
	}
	l, err := ctx.App.ReadAuditLog(ctx, ctx.Target(), c.Env)
	if err != nil {
		return err
	}
	rows := l.Select(f)
	if !l.Exists {
		ctx.Infof("%s: no audit log yet (nothing was recorded, or audit is off for this env)", c.Env)
	} else if len(rows) < len(l.Rows) {
		ctx.Infof("%s: %d of %d rows", c.Env, len(rows), len(l.Rows))
	}
	switch {
	case c.JSON:
		out := make([]audit.Row, len(rows))
		for i, r := range rows {
			out[len(rows)-1-i] = r
		}
		return ctx.JSON(out)
	case c.CSV:
		if !l.Exists {
			return nil
		}
		if _, err := ctx.Stdout.Write([]byte(audit.Header + "\n")); err != nil {
			return err
		}
		for i := range rows {
			if _, err := ctx.Stdout.Write(rows[i].Format()); err != nil {
				return err
			}
		}
		return nil
	}
	if len(rows) == 0 {
		if l.Exists {
			ctx.Infof("%s: no row matches", c.Env)
		}
		return nil
	}
	tw := tabwriter.NewWriter(ctx.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tACTION\tVERSION\tBY\tHOST\tNOTE")
	for i := len(rows) - 1; i >= 0; i-- {
		r := &rows[i]
		by := r.GitEmail
		if by == "" {
			by = r.OSUser
		}
		host := r.Hostname
		if r.LocalIP != "" {
			host += " (" + r.LocalIP + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.UTC().Format("2006-01-02 15:04:05"),
			cell(r.Action, 20), cell(r.VersionTS, 20), cell(by, 60), cell(host, 80), cell(metaText(r), 200))
	}
	return tw.Flush()
}

func (c *AuditCmd) verify(ctx *Ctx) error {
	v, err := ctx.App.VerifyAuditLog(ctx, ctx.Target(), c.Env)
	if v == nil {
		return err
	}
	if c.JSON {
		if jerr := ctx.JSON(v); jerr != nil && err == nil {
			return jerr
		}
		return err
	}
	if err != nil {
		return err
	}
	if !v.Exists {
		ctx.Infof("%s: no audit log yet; nothing to verify", c.Env)
		return nil
	}
	fmt.Fprintf(ctx.Stdout, "%s: audit log intact: %d rows, %d chained, %d unchained\n", c.Env, v.Rows, v.Chained, v.Unchained)
	switch {
	case v.Rows == 0:
	case v.Chained == 0:
		fmt.Fprintf(ctx.Stdout, "no row carries a chain link yet (the TypeScript vsync writes none); the next row git-vsync appends covers every row before it\n")
	case v.LastChained < v.Rows:
		fmt.Fprintf(ctx.Stdout, "rows after row %d are not covered yet; the next row git-vsync appends covers them\n", v.LastChained)
	}
	if v.Unchained > 0 && v.Chained > 0 {
		fmt.Fprintf(ctx.Stdout, "unchained rows have no prev (written by the TypeScript vsync); the chained rows after them cover their bytes\n")
	}
	return nil
}

// metaText is the NOTE column: the note, then the other meta keys as k=v
// (prev left out).
func metaText(r *audit.Row) string {
	var parts []string
	if n := r.Note(); n != "" {
		parts = append(parts, n)
	}
	keys := make([]string, 0, len(r.Meta))
	for k := range r.Meta {
		if k != audit.MetaNote && k != audit.MetaPrev {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == audit.MetaTruncated {
			parts = append(parts, "(meta truncated)")
			continue
		}
		v, ok := r.Meta[k].(string)
		if !ok {
			b, _ := json.Marshal(r.Meta[k])
			v = string(b)
		}
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// cell makes a log value safe and short for a terminal table: control and
// bidi-override characters (which could move the cursor or disguise text) are
// escaped, long values clipped, empty ones shown as "-".
func cell(s string, max int) string {
	if s == "" {
		return "-"
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n >= max {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' || r == '\ufeff':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseSince understands a date (UTC midnight), an RFC 3339 time, a date and
// time without zone (UTC), or a duration ago: Go durations (90m, 36h) plus days
// (7d) and weeks (2w).
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	var d time.Duration
	if n, unit := strings.TrimRight(s, "dw"), strings.TrimLeft(s, "0123456789"); slices.Contains([]string{"d", "w"}, unit) && n != "" {
		k, err := strconv.Atoi(n)
		if err != nil || k > 100000 {
			return time.Time{}, fmt.Errorf("invalid duration")
		}
		d = time.Duration(k) * 24 * time.Hour
		if unit == "w" {
			d *= 7
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return time.Time{}, err
		}
	}
	if d < 0 {
		return time.Time{}, fmt.Errorf("negative duration")
	}
	return now.Add(-d), nil
}
