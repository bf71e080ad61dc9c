package fanout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// memLedger is a Ledger with ETags, for target tests (the app backs it with the bucket).
type memLedger struct {
	mu   sync.Mutex
	body []byte
	gen  int
}

func (l *memLedger) Load(_ context.Context, _ string) ([]byte, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.body == nil {
		return nil, "", nil
	}
	return append([]byte(nil), l.body...), fmt.Sprint(l.gen), nil
}

func (l *memLedger) Save(_ context.Context, _ string, body []byte, etag string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := ""
	if l.body != nil {
		cur = fmt.Sprint(l.gen)
	}
	if etag != cur {
		return ErrConflict
	}
	l.body = append([]byte(nil), body...)
	l.gen++
	return nil
}

func testEnv(getenv map[string]string) *Origin {
	return &Origin{
		Repo: "acme_web", Name: "prod", Keys: NewKeys(bytes.Repeat([]byte{7}, 32)),
		Ledger: &memLedger{},
		Getenv: func(k string) string { return getenv[k] },
	}
}

// fake is what a scenario needs from a target's test server.
type fake interface {
	// values returns what the server holds, by target name.
	Values() map[string]string
	// writes counts the requests that changed anything.
	Writes() int
	// addForeign creates a secret git-vsync did not write.
	AddForeign(name, value string)
}

func secretsOf(kv ...string) []Secret {
	var out []Secret
	for i := 0; i < len(kv); i += 2 {
		out = append(out, Secret{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return out
}

func counts(p *Plan) string {
	var parts []string
	for _, a := range []Action{Create, Update, Unchanged, Delete, Stale, Orphan, InvalidName, TooLarge} {
		if n := p.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", a, n))
		}
	}
	return strings.Join(parts, " ")
}

func mustPlan(t *testing.T, tg Target, s []Secret, prune bool, want string) *Plan {
	t.Helper()
	p, err := tg.Plan(context.Background(), s, prune)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if got := counts(p); got != want {
		t.Fatalf("plan = %s, want %s\n%+v", got, want, p.Items)
	}
	// A plan never carries a value, in any form it is shown.
	js, _ := json.Marshal(p)
	for _, x := range s {
		if len(x.Value) >= 4 && bytes.Contains(js, x.Value) {
			t.Fatalf("plan JSON holds the value of %s", x.Key)
		}
	}
	return p
}

func mustApply(t *testing.T, tg Target, p *Plan) *Result {
	t.Helper()
	res, err := tg.Apply(context.Background(), p)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(res.Failed) > 0 {
		t.Fatalf("apply failed for %+v", res.Failed)
	}
	return res
}

func wantValues(t *testing.T, f fake, want map[string]string) {
	t.Helper()
	got := f.Values()
	if len(got) != len(want) {
		t.Fatalf("server holds %d names %v, want %d", len(got), keysOf(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("server %s = %q, want %q", k, got[k], v)
		}
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// scenario is the sequence every target passes (issue 11): plan on an empty target
// is all create; apply; plan again is all unchanged and applying writes nothing;
// change one, remove one, add a foreign one: 1 update, 1 stale (1 delete with
// --prune), the foreign one an orphan and untouched; then invalid names and sizes
// are refused before any write. name maps a key to the target's name; badKey is
// a key the target cannot take; tooLarge its value limit.
func scenario(t *testing.T, tg Target, f fake, name func(string) string, badKey string, tooLarge int) {
	t.Helper()
	s1 := secretsOf("API_TOKEN", "tok-one-1111", "DB_URL", "postgres://u:p@db/x", "OLD_KEY", "old-value-42")
	p := mustPlan(t, tg, s1, false, "create=3")
	res := mustApply(t, tg, p)
	if len(res.Created) != 3 {
		t.Fatalf("created %v", res.Created)
	}
	wantValues(t, f, map[string]string{name("API_TOKEN"): "tok-one-1111", name("DB_URL"): "postgres://u:p@db/x", name("OLD_KEY"): "old-value-42"})

	p = mustPlan(t, tg, s1, false, "unchanged=3")
	w := f.Writes()
	res = mustApply(t, tg, p)
	if res.Unchanged != 3 || f.Writes() != w {
		t.Fatalf("unchanged apply wrote: %d writes, result %+v", f.Writes()-w, res)
	}

	f.AddForeign(name("FOREIGN"), "someone-elses")
	s2 := secretsOf("API_TOKEN", "tok-two-2222", "DB_URL", "postgres://u:p@db/x")
	mustPlan(t, tg, s2, false, "update=1 unchanged=1 stale=1 orphan=1")
	p = mustPlan(t, tg, s2, true, "update=1 unchanged=1 delete=1 orphan=1")
	for _, it := range p.Items {
		if it.Name == name("FOREIGN") && it.Action != Orphan {
			t.Fatalf("foreign secret planned as %s", it.Action)
		}
	}
	res = mustApply(t, tg, p)
	if len(res.Updated) != 1 || len(res.Deleted) != 1 || res.Unchanged != 1 {
		t.Fatalf("result %+v", res)
	}
	wantValues(t, f, map[string]string{name("API_TOKEN"): "tok-two-2222", name("DB_URL"): "postgres://u:p@db/x", name("FOREIGN"): "someone-elses"})
	mustPlan(t, tg, s2, true, "unchanged=2 orphan=1")

	// Bad names and sizes: refused before the first write, the good key included.
	w = f.Writes()
	bad := append(secretsOf("NEW_ONE", "fresh-value"), Secret{Key: badKey, Value: []byte("x")}, Secret{Key: "HUGE", Value: bytes.Repeat([]byte("a"), tooLarge+1)})
	p = mustPlan(t, tg, append(s2, bad...), false, "create=1 unchanged=2 orphan=1 invalid-name=1 too-large=1")
	if _, err := tg.Apply(context.Background(), p); err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("apply with invalid keys: %v", err)
	}
	if f.Writes() != w {
		t.Fatalf("a refused apply wrote %d times", f.Writes()-w)
	}
}

// A base URL with a user or password is refused, and no refusal quotes it: what
// a target is given as its address shows in plans, --json and the audit log.
func TestEndpointsRefuseCredentialsWithoutQuotingThem(t *testing.T) {
	for _, tc := range []struct {
		target string
		route  Route
		env    map[string]string
	}{
		{"vault", Route{"addr": "http://proxy:s3cr3t@127.0.0.1:8200", "mount": "kv", "secretPath": "web"}, nil},
		{"vault", Route{"mount": "kv", "secretPath": "web"}, map[string]string{"VAULT_ADDR": "https://s3cr3t@vault.example", "VAULT_TOKEN": "x"}},
		{"vault", Route{"addr": "s3cr3t", "mount": "kv", "secretPath": "web"}, nil},
		{"vault", Route{"addr": "http://h/%zzs3cr3t", "mount": "kv", "secretPath": "web"}, nil},
		{"gh", Route{"repo": "acme/web"}, map[string]string{"GITHUB_API_URL": "https://u:s3cr3t@ghe.example/api/v3", "GH_TOKEN": "x"}},
		{"gh", Route{"repo": "acme/web"}, map[string]string{"GITHUB_API_URL": "s3cr3t", "GH_TOKEN": "x"}},
		{"gcp", Route{"project": "acme-web"}, map[string]string{"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": "https://u:s3cr3t@sm.example/"}},
		{"azure", Route{"vaultName": "https://u:s3cr3t@kv1.vault.azure.net"}, nil},
		{"azure", Route{"vaultName": "https://u:s3cr3t@kv1.vault.azure.net/path"}, nil},
		{"azure", Route{"vaultName": "u:s3cr3t@kv1.vault.azure.net"}, nil},
	} {
		_, err := Open(tc.target, tc.route, testEnv(tc.env))
		if err == nil {
			t.Errorf("%s %v %v: opened", tc.target, tc.route, tc.env)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error %q quotes the address", tc.target, err)
		}
	}
}
