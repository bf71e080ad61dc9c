package app

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/fanout"
	"github.com/git-vsync/git-vsync/internal/fanout/fanouttest"
)

func planCounts(p *fanout.Plan) map[fanout.Action]int {
	out := map[fanout.Action]int{}
	for _, it := range p.Items {
		out[it.Action]++
	}
	return out
}

// The sync use case end to end on a file store: the source is the synced
// version (never-synced and dirty vaults are refused), routing flags land in the
// config and are read back, _FILE keys are inlined, the GitHub ledger lives in the
// bucket, an audit row per target records the counts, and no value reaches the log.
func TestSyncUseCase(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("a")
	if _, err := c.app.Init(bg, c.app.Resolve(""), "prod", InitOptions{Store: "file://" + filepath.ToSlash(t.TempDir()) + "#team", NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	c.write("prod", ".env.prod", "API_TOKEN=tok-1111-secret\nDB_URL=\"postgres://u:pw-secret@db/x\"\nexport CERT_FILE=tls/cert.pem\n")
	c.write("prod", "tls/cert.pem", "-----BEGIN CERT-----\nsecret-cert-body\n")

	vs := fanouttest.NewVault(t, "secret")
	vs.Path = "web/prod"
	gh := fanouttest.NewGitHub(t, "acme/web", "prod")
	m.env["VAULT_TOKEN"], m.env["VAULT_NAMESPACE"] = vs.Token, vs.Namespace
	m.env["GITHUB_API_URL"], m.env["GH_TOKEN"] = gh.URL, gh.Token
	o := SyncOptions{
		Targets: []string{"vault", "gh"}, InlineSuffix: []string{"_FILE"},
		Routing: map[string]string{"vault.addr": vs.URL, "vault.secretPath": "web/prod", "gh.repo": "acme/web"},
		HTTP:    fanouttest.Client(vs.Server, gh.Server),
	}
	_, err := c.app.SyncPlan(bg, c.app.Resolve(""), "prod", o)
	wantCode(t, err, fail.Refused, "never synced")

	if _, err := c.app.Push(bg, c.app.Resolve(""), "prod", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	run, err := c.app.SyncPlan(bg, c.app.Resolve(""), "prod", o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range run.Plans {
		if n := planCounts(p); n[fanout.Create] != 3 || len(p.Items) != 3 {
			t.Fatalf("%s plan %+v", p.Target, p.Items)
		}
	}
	cfg, err := config.Load(filepath.Join(m.env["XDG_CONFIG_HOME"], "vsync", "acme_web", "env_prod"))
	if err != nil {
		t.Fatal(err)
	}
	var sync map[string]map[string]string
	if err := json.Unmarshal(cfg.Sync, &sync); err != nil || sync["vault"]["secretPath"] != "web/prod" || sync["gh"]["repo"] != "acme/web" || sync["vault"]["addr"] != vs.URL {
		t.Fatalf("routing not saved: %s (%v)", cfg.Sync, err)
	}
	res, err := c.app.SyncApply(bg, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("results %+v", res)
	}
	if got := vs.Values()["CERT"]; got != "-----BEGIN CERT-----\nsecret-cert-body\n" {
		t.Fatalf("inlined CERT = %q", got)
	}
	if got := gh.Values()["DB_URL"]; got != "postgres://u:pw-secret@db/x" {
		t.Fatalf("GitHub DB_URL = %q", got)
	}
	e, err := c.app.OpenEnv(c.app.Resolve(""), "prod")
	if err != nil {
		t.Fatal(err)
	}
	ledger, _, err := e.Store.Get(bg, "acme_web/prod/sync/gh.json")
	if err != nil || !strings.Contains(string(ledger), `"acme/web#prod"`) {
		t.Fatalf("ledger in the bucket: %s %v", ledger, err)
	}
	log, _, err := e.Store.Get(bg, e.AuditKey())
	if err != nil || strings.Count(string(log), ",sync,") != 2 || !strings.Contains(string(log), `""created"":3`) {
		t.Fatalf("audit log:\n%s", log)
	}

	// Routing from the config alone; nothing changed: nothing is written.
	o.Routing = nil
	run, err = c.app.SyncPlan(bg, c.app.Resolve(""), "prod", o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range run.Plans {
		if n := planCounts(p); n[fanout.Unchanged] != 3 {
			t.Fatalf("second %s plan %+v", p.Target, p.Items)
		}
	}

	// An edit not pushed is not what the team sees: refused unless --from-local.
	c.write("prod", ".env.prod", "API_TOKEN=tok-2222-secret\nDB_URL=\"postgres://u:pw-secret@db/x\"\nexport CERT_FILE=tls/cert.pem\n")
	_, err = c.app.SyncPlan(bg, c.app.Resolve(""), "prod", o)
	wantCode(t, err, fail.Refused, "changes since version")
	o.FromLocal, o.Targets, o.Only = true, []string{"gh"}, []string{"API_*"}
	run, err = c.app.SyncPlan(bg, c.app.Resolve(""), "prod", o)
	if err != nil {
		t.Fatal(err)
	}
	if n := planCounts(run.Plans[0]); n[fanout.Update] != 1 || len(run.Plans[0].Items) != 3 || n[fanout.Stale] != 2 {
		t.Fatalf("--only plan %+v", run.Plans[0].Items)
	}
	if _, err := c.app.SyncApply(bg, run); err != nil {
		t.Fatal(err)
	}
	if gh.Values()["API_TOKEN"] != "tok-2222-secret" {
		t.Fatal("from-local value not published")
	}
	for _, secret := range []string{"tok-1111", "tok-2222", "pw-secret", "secret-cert-body"} {
		if strings.Contains(c.log.String(), secret) {
			t.Fatalf("log holds a value: %s", c.log.String())
		}
	}
}

// Keys a target cannot take stop the whole run before its first write.
func TestSyncRefusesInvalidBeforeWriting(t *testing.T) {
	m := newMachine(t)
	c := m.newClone("a")
	if _, err := c.app.Init(bg, c.app.Resolve(""), "prod", InitOptions{Store: "file://" + filepath.ToSlash(t.TempDir()) + "#team", NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	c.write("prod", ".env.prod", "GOOD=fine-value\nbad.name=x\n")
	if _, err := c.app.Push(bg, c.app.Resolve(""), "prod", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	gh := fanouttest.NewGitHub(t, "acme/web", "prod")
	vs := fanouttest.NewVault(t, "secret")
	m.env["VAULT_TOKEN"], m.env["VAULT_NAMESPACE"] = vs.Token, vs.Namespace
	m.env["GITHUB_API_URL"], m.env["GH_TOKEN"] = gh.URL, gh.Token
	o := SyncOptions{Targets: []string{"vault", "gh"}, HTTP: fanouttest.Client(vs.Server, gh.Server),
		Routing: map[string]string{"vault.addr": vs.URL, "vault.secretPath": "p", "gh.repo": "acme/web"}}
	run, err := c.app.SyncPlan(bg, c.app.Resolve(""), "prod", o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.app.SyncApply(bg, run)
	wantCode(t, err, fail.Failure, "gh:bad.name")
	if vs.Writes() != 0 || gh.Writes() != 0 {
		t.Fatalf("writes before the refusal: vault %d, gh %d", vs.Writes(), gh.Writes())
	}
	o.Exclude = []string{"bad.*"}
	if run, err = c.app.SyncPlan(bg, c.app.Resolve(""), "prod", o); err == nil {
		_, err = c.app.SyncApply(bg, run)
	}
	if err != nil || gh.Values()["GOOD"] != "fine-value" {
		t.Fatalf("with --exclude: %v", err)
	}
}
