package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/audit"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/keychain/keychaintest"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// specAuditHeader is SPEC §7's header line, typed out.
const specAuditHeader = "ts,action,version_ts,hostname,local_ip,os_user,git_email,vsync_version,bun_version,meta\n"

// auditWorld is one machine with several clones of one repository: a shared
// config folder and (in-memory) keychain, and a bucket on versitygw.
type auditWorld struct {
	t      *testing.T
	m      *testenv.Machine
	chain  *keychaintest.Memory
	repo   string // the identity every clone derives from origin
	origin string
	st     store.Store
	logKey string
	srv    testenv.S3Server
	bucket string
}

func newAuditWorld(t *testing.T) *auditWorld {
	srv := testenv.Versitygw(t)
	testenv.NeedCommand(t, "git")
	bucket := srv.NewBucket(t)
	m := testenv.NewMachine(t)
	m.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	m.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	m.Setenv("AWS_REGION", srv.Region)
	suffix := randLower(t)
	w := &auditWorld{
		t: t, m: m, chain: &keychaintest.Memory{}, srv: srv, bucket: bucket,
		origin: "https://example.com/acme/audit-" + suffix + ".git",
		repo:   "acme_audit_" + suffix,
	}
	st, err := store.Open(store.Config{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: bucket, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	w.st, w.logKey = st, w.repo+"/dev/audit.csv"
	return w
}

func randLower(t *testing.T) string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// clone makes a repository whose origin names the shared identity.
func (w *auditWorld) clone(name, email string) string {
	d := filepath.Join(w.m.Home, name)
	w.m.Git("", "init", "-q", d)
	w.m.Git(d, "remote", "add", "origin", w.origin)
	w.m.Git(d, "config", "user.email", email)
	if err := os.WriteFile(filepath.Join(d, ".gitignore"), []byte("/infra/vault/\n"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return d
}

type runResult struct {
	code           int
	stdout, stderr string
}

// run runs git-vsync in dir with extra environment variables.
func (w *auditWorld) run(dir string, extra map[string]string, args ...string) runResult {
	getenv := func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		return w.m.Getenv(k)
	}
	var out, errb bytes.Buffer
	a := &app.App{Dir: dir, Getenv: getenv, Keychain: w.chain, Log: &errb, Now: time.Now}
	code := run(args, strings.NewReader(""), &out, &errb, a)
	return runResult{code, out.String(), errb.String()}
}

func (w *auditWorld) mustRun(dir string, extra map[string]string, args ...string) runResult {
	w.t.Helper()
	r := w.run(dir, extra, args...)
	if r.code != 0 {
		w.t.Fatalf("git vsync %v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

func (w *auditWorld) log() []byte {
	w.t.Helper()
	b, _, err := w.st.Get(context.Background(), w.logKey)
	if err != nil {
		w.t.Fatalf("read the audit log: %v", err)
	}
	return b
}

func (w *auditWorld) rows() []audit.Row {
	w.t.Helper()
	rows, err := audit.Parse(w.log())
	if err != nil {
		w.t.Fatal(err)
	}
	return rows
}

func TestAuditS3(t *testing.T) {
	w := newAuditWorld(t)
	ctx := context.Background()
	fixture, err := os.ReadFile("../audit/testdata/typescript-0.13.csv")
	if err != nil {
		t.Fatal(err)
	}
	c0 := w.clone("c0", "dev0@example.com")
	w.mustRun(c0, nil, "init", "dev", "--store", w.srv.Endpoint+"/"+w.bucket, "--no-hooks")

	// The TypeScript tool kept a log in the bucket before git-vsync came.
	if _, err := w.st.Put(ctx, w.logKey, fixture, store.Cond{}); err != nil {
		t.Fatal(err)
	}

	// A push with a recognisable secret in the vault, a note and meta.
	secret := "sk_live_AUDITCANARY_" + randLower(t)
	vault := filepath.Join(c0, "infra", "vault", "dev")
	if err := os.WriteFile(filepath.Join(vault, ".env.dev"), []byte("STRIPE_KEY="+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := w.run(c0, nil, "push", "dev", "--meta", "novalue"); r.code != 2 || !strings.Contains(r.stderr, `invalid --meta "novalue"`) {
		t.Fatalf("--meta without '=': exit %d, %s", r.code, r.stderr)
	}
	r := w.mustRun(c0, map[string]string{"VSYNC_AUDIT_META": `{"ci":"yes","ticket":"from-env"}`, "VSYNC_AUDIT_NOTE": "env note"},
		"push", "dev", "--note", "first push, with \"quotes\"", "--meta", "ticket=OPS-1", "--meta", "list=a,b")
	pushed := regexp.MustCompile(`pushed version (\d{8}-\d{6})`).FindStringSubmatch(r.stderr)
	if pushed == nil {
		t.Fatalf("push said %s", r.stderr)
	}
	log := w.log()
	if !bytes.HasPrefix(log, []byte(specAuditHeader)) || !bytes.HasPrefix(log, fixture) {
		t.Fatalf("the log does not start with the TypeScript rows:\n%s", log)
	}
	rows := w.rows()
	if len(rows) != 5 {
		t.Fatalf("%d rows after the first push", len(rows))
	}
	p := rows[4]
	key, _ := w.chain.Get(ctx, keychain.Account(w.repo, "dev"))
	if p.Action != "push" || p.VersionTS != pushed[1] || p.GitEmail != "dev0@example.com" || p.BunVersion != runtime.Version() ||
		!strings.HasPrefix(p.VsyncVersion, "git-vsync/") || p.Hostname == "" {
		t.Fatalf("push row %+v", p)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(p.TS) {
		t.Fatalf("ts %q", p.TS)
	}
	if p.Note() != `first push, with "quotes"` || p.Meta["ticket"] != "OPS-1" || p.Meta["ci"] != "yes" || p.Meta["list"] != "a,b" {
		t.Fatalf("push meta %s", p.MetaRaw)
	}
	if prev, ok := p.Prev(); !ok || len(prev) != 64 {
		t.Fatalf("push prev %q", prev)
	}

	// Eight clones that never synced pull at the same time: eight rows.
	clones := make([]string, 8)
	for i := range clones {
		clones[i] = w.clone(fmt.Sprintf("c%d", i+1), fmt.Sprintf("dev%d@example.com", i+1))
	}
	var wg sync.WaitGroup
	results := make([]runResult, len(clones))
	for i, d := range clones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = w.run(d, nil, "pull", "dev")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 || strings.Contains(r.stderr, "audit") {
			t.Fatalf("pull in clone %d: exit %d: %s", i+1, r.code, r.stderr)
		}
	}
	rows = w.rows()
	if len(rows) != 13 {
		t.Fatalf("%d rows after 8 concurrent pulls, want 13", len(rows))
	}
	seen := map[string]bool{}
	for _, r := range rows[5:] {
		if r.Action != "pull" || r.VersionTS != pushed[1] || r.Note() != "" {
			t.Fatalf("pull row %+v", r)
		}
		seen[r.GitEmail] = true
	}
	if len(seen) != 8 {
		t.Fatalf("pull rows from %d clones: %v", len(seen), seen)
	}

	// Up to date: no row. --no-audit: no row. audit.enabled=false: no log.
	w.mustRun(clones[0], nil, "pull", "dev")
	if err := os.WriteFile(filepath.Join(vault, ".env.dev"), []byte("STRIPE_KEY="+secret+"\nMORE=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.mustRun(c0, nil, "push", "dev", "--no-audit")
	if n := len(w.rows()); n != 13 {
		t.Fatalf("%d rows after an up-to-date pull and a --no-audit push", n)
	}
	w.mustRun(c0, nil, "init", "stage", "--store", w.srv.Endpoint+"/"+w.bucket, "--no-hooks", "--audit", "off")
	if err := os.WriteFile(filepath.Join(c0, "infra", "vault", "stage", "a"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.mustRun(c0, nil, "push", "stage")
	if _, _, err := w.st.Get(ctx, w.repo+"/stage/audit.csv"); err == nil {
		t.Fatal("audit off, yet stage has an audit log")
	}

	// Bad VSYNC_AUDIT_META is a warning; oversized meta becomes _truncated.
	w.mustRun(clones[0], nil, "pull", "dev") // a new version: row 14
	if err := os.WriteFile(filepath.Join(clones[0], "infra", "vault", "dev", "x"), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = w.mustRun(clones[0], map[string]string{"VSYNC_AUDIT_META": "{not json"}, "push", "dev", "--note", strings.Repeat("n", 3000))
	if !strings.Contains(r.stderr, "VSYNC_AUDIT_META is not a JSON object") || !strings.Contains(r.stderr, `{"_truncated":true}`) {
		t.Fatalf("warnings: %s", r.stderr)
	}
	rows = w.rows()
	last := rows[len(rows)-1]
	if len(rows) != 15 || last.Meta["_truncated"] != true || last.Meta["ci"] != nil {
		t.Fatalf("%d rows, last meta %s", len(rows), last.MetaRaw)
	}

	// Secrets never enter the log.
	log = w.log()
	for what, s := range map[string]string{"vault value": secret, "key": key, "S3 secret": w.srv.SecretKey} {
		if s == "" || bytes.Contains(log, []byte(s)) {
			t.Fatalf("the log holds the %s (or it is empty)", what)
		}
	}

	// The views.
	r = w.mustRun(c0, nil, "audit", "dev")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 16 || !strings.HasPrefix(lines[0], "TIME (UTC)") || !strings.Contains(lines[1], " push ") ||
		!strings.Contains(lines[1], "(meta truncated)") || !strings.Contains(lines[len(lines)-1], "alice@example.com") ||
		!strings.Contains(r.stdout, `first push, with "quotes" ci=yes list=a,b ticket=OPS-1`) ||
		!strings.Contains(r.stdout, `onboard carol\nsee OPS-12 ticket=OPS-12`) {
		t.Fatalf("table:\n%s", r.stdout)
	}
	r = w.mustRun(c0, nil, "audit", "dev", "--json")
	var js []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || len(js) != 15 {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if len(js[0]) != len(audit.Columns) || js[0]["action"] != "push" || js[14]["meta"] != nil || js[14]["hostname"] != "alice-mbp" {
		t.Fatalf("--json rows: %v / %v", js[0], js[14])
	}
	if m, ok := js[13]["meta"].(map[string]any); !ok || m["note"] != "nightly, after deploy" {
		t.Fatalf("--json meta: %v", js[13]["meta"])
	}
	r = w.mustRun(c0, nil, "audit", "dev", "--csv", "--action", "push")
	wantCSV := specAuditHeader + string(log[rows[0].Offset:rows[0].End]) + string(log[rows[4].Offset:rows[4].End]) + string(log[rows[14].Offset:rows[14].End])
	if r.stdout != wantCSV {
		t.Fatalf("--csv --action push:\n%s\nwant\n%s", r.stdout, wantCSV)
	}
	r = w.mustRun(c0, nil, "audit", "dev", "--json", "--limit", "2", "--since", "1h")
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || len(js) != 2 || js[1]["action"] != "pull" {
		t.Fatalf("--limit 2 --since 1h: %v %s", err, r.stdout)
	}
	r = w.mustRun(c0, nil, "audit", "dev", "--since", "2026-01-16", "--action", "export,import", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || len(js) != 2 || js[0]["action"] != "import" {
		t.Fatalf("--since --action: %v %s", err, r.stdout)
	}
	if r := w.run(c0, nil, "audit", "dev", "--since", "soon"); r.code != 2 {
		t.Fatalf("--since soon: exit %d", r.code)
	}
	if r := w.run(c0, nil, "audit", "dev", "--json", "--csv"); r.code != 2 {
		t.Fatalf("--json --csv: exit %d", r.code)
	}
	r = w.mustRun(c0, nil, "audit", "dev", "--help")
	if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--verify") {
		t.Fatalf("--help:\n%s", r.stdout)
	}

	// Verify: intact, then tampered in the bucket.
	r = w.mustRun(c0, nil, "audit", "dev", "--verify")
	if !strings.Contains(r.stdout, "dev: audit log intact: 15 rows, 11 chained, 4 unchained") {
		t.Fatalf("--verify: %s", r.stdout)
	}
	tampered := bytes.Replace(log, []byte("build-01"), []byte("build-02"), 1)
	if _, err := w.st.Put(ctx, w.logKey, tampered, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	r = w.run(c0, nil, "audit", "dev", "--verify")
	if r.code != 6 || !strings.Contains(r.stderr, "git-vsync: error: the audit log of dev was tampered with: row 5 ("+rows[4].TS+" push, line 6)") ||
		!strings.Contains(r.stderr, "git-vsync: hint: ") {
		t.Fatalf("--verify after an edit: exit %d\n%s", r.code, r.stderr)
	}
	r = w.run(c0, nil, "audit", "dev", "--verify", "--json")
	var v app.AuditVerification
	if err := json.Unmarshal([]byte(r.stdout), &v); r.code != 6 || err != nil || v.Intact || v.Failure == nil || v.Failure.Row != 5 {
		t.Fatalf("--verify --json after an edit: exit %d %v %s", r.code, err, r.stdout)
	}
	// Deleting a pull row is caught at the row that moved into its place.
	deleted := append(append([]byte{}, log[:rows[7].Offset]...), log[rows[7].End:]...)
	if _, err := w.st.Put(ctx, w.logKey, deleted, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	if r := w.run(c0, nil, "audit", "dev", "--verify"); r.code != 6 || !strings.Contains(r.stderr, "row 8 (") {
		t.Fatalf("--verify after a deletion: exit %d\n%s", r.code, r.stderr)
	}
	// Garbage is an integrity failure too, and a push still succeeds (with a warning).
	if _, err := w.st.Put(ctx, w.logKey, []byte("<html>oops</html>"), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	if r := w.run(c0, nil, "audit", "dev"); r.code != 6 || !strings.Contains(r.stderr, "the audit log of dev is unreadable: audit log line 1 (header)") {
		t.Fatalf("audit of garbage: exit %d\n%s", r.code, r.stderr)
	}
	w.mustRun(c0, nil, "pull", "dev")
	if err := os.WriteFile(filepath.Join(vault, "z"), []byte("z"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := w.mustRun(c0, nil, "push", "dev"); !strings.Contains(r.stderr, "warning: dev: the push succeeded but its audit row was not recorded") {
		t.Fatalf("push over a garbage log: %s", r.stderr)
	}
	if got := w.log(); string(got) != "<html>oops</html>" {
		t.Fatalf("the garbage log was changed: %q", got)
	}

	// No log: empty output, a note, exit 0.
	r = w.mustRun(c0, nil, "audit", "stage")
	if r.stdout != "" || !strings.Contains(r.stderr, "no audit log yet") {
		t.Fatalf("audit stage: %q %q", r.stdout, r.stderr)
	}
	if r := w.mustRun(c0, nil, "audit", "stage", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("audit stage --json: %q", r.stdout)
	}
	if r := w.mustRun(c0, nil, "audit", "stage", "--verify"); r.stdout != "" || !strings.Contains(r.stderr, "nothing to verify") {
		t.Fatalf("audit stage --verify: %q %q", r.stdout, r.stderr)
	}
}

// TestAuditConcurrentAppends races 8 appenders on one log directly (no pulls):
// every row lands, the chain holds.
func TestAuditConcurrentAppends(t *testing.T) {
	w := newAuditWorld(t)
	c0 := w.clone("c0", "dev0@example.com")
	w.mustRun(c0, nil, "init", "dev", "--store", w.srv.Endpoint+"/"+w.bucket, "--no-hooks")
	if err := os.WriteFile(filepath.Join(c0, "infra", "vault", "dev", "f"), []byte("v"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.mustRun(c0, nil, "push", "dev", "--no-audit")
	dirs := make([]string, 8)
	for i := range dirs {
		dirs[i] = w.clone(fmt.Sprintf("p%d", i), fmt.Sprintf("p%d@example.com", i))
	}
	var wg sync.WaitGroup
	for i, d := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := w.run(d, nil, "pull", "dev", "--note", fmt.Sprintf("pull %d", i)); r.code != 0 || strings.Contains(r.stderr, "audit") {
				t.Errorf("pull %d: exit %d %s", i, r.code, r.stderr)
			}
		}()
	}
	wg.Wait()
	rows := w.rows()
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8", len(rows))
	}
	rep, err := audit.Verify(w.log())
	if err != nil || rep.Chained != 8 || rep.Unchained != 0 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}
