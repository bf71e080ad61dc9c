package fanout

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fanout/fanouttest"
)

func ghTestTarget(t *testing.T, s *fanouttest.GitHub, e *Origin) Target {
	t.Helper()
	e.HTTP = s.Client()
	getenv := e.Getenv
	e.Getenv = func(k string) string {
		switch k {
		case "GITHUB_API_URL":
			return s.URL
		case "GH_TOKEN":
			return s.Token
		}
		return getenv(k)
	}
	tg, err := Open("gh", Route{"repo": "acme/web"}, e)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestGHScenario(t *testing.T) {
	s := fanouttest.NewGitHub(t, "acme/web", "prod")
	tg := ghTestTarget(t, s, testEnv(nil))
	scenario(t, tg, s, strings.ToUpper, "bad-name", ghMaxValue)
}

// The ledger is the team's shared memory: a second machine (new target, same
// ledger) sees the values as unchanged, and a value changed at GitHub by someone
// else is not "unchanged" (the ledger MAC no longer matches what we plan).
func TestGHLedgerShared(t *testing.T) {
	s := fanouttest.NewGitHub(t, "acme/web", "prod")
	e := testEnv(nil)
	tg := ghTestTarget(t, s, e)
	sec := secretsOf("A_KEY", "value-a", "b_key", "value-b")
	mustApply(t, tg, mustPlan(t, tg, sec, false, "create=2"))
	if got := s.Values()["B_KEY"]; got != "value-b" {
		t.Fatalf("lower-case key landed as %q", got)
	}
	e2 := testEnv(nil)
	e2.Ledger = e.Ledger
	tg2 := ghTestTarget(t, s, e2)
	mustPlan(t, tg2, sec, false, "unchanged=2")
	// Another env key gives other MACs: its ledger entries do not vouch for values.
	e3 := testEnv(nil)
	e3.Keys = NewKeys(make([]byte, 32))
	e3.Ledger = e.Ledger
	mustPlan(t, ghTestTarget(t, s, e3), sec, false, "update=2")
	// Deleted at GitHub by hand: planned as a create, and the ledger forgets it.
	s.Delete("A_KEY")
	mustApply(t, tg, mustPlan(t, tg, sec, false, "create=1 unchanged=1"))
}

// A failure part-way: the failed name is reported, the others landed and are in
// the ledger, and the next run writes only the failed one.
func TestGHPartialFailure(t *testing.T) {
	s := fanouttest.NewGitHub(t, "acme/web", "prod")
	tg := ghTestTarget(t, s, testEnv(nil))
	s.Fail["B_KEY"] = []int{http.StatusUnprocessableEntity}
	sec := secretsOf("A_KEY", "value-a", "B_KEY", "value-b-secret", "C_KEY", "value-c")
	res, err := tg.Apply(context.Background(), mustPlan(t, tg, sec, false, "create=3"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0].Name != "B_KEY" || len(res.Created) != 2 {
		t.Fatalf("result %+v", res)
	}
	if strings.Contains(res.Failed[0].Err, "value-b-secret") {
		t.Fatal("failure message holds the value")
	}
	mustApply(t, tg, mustPlan(t, tg, sec, false, "create=1 unchanged=2"))
	wantValues(t, s, map[string]string{"A_KEY": "value-a", "B_KEY": "value-b-secret", "C_KEY": "value-c"})
}

// 5xx and 429 are retried; a 401 is not, and says how to fix the credentials.
func TestGHRetriesAndAuth(t *testing.T) {
	s := fanouttest.NewGitHub(t, "acme/web", "prod")
	tg := ghTestTarget(t, s, testEnv(nil))
	tg.(*ghTarget).api.sleep = func(time.Duration) {}
	s.Fail["A_KEY"] = []int{http.StatusBadGateway, http.StatusTooManyRequests}
	mustApply(t, tg, mustPlan(t, tg, secretsOf("A_KEY", "value-a"), false, "create=1"))
	puts := 0
	for _, r := range s.Requests {
		if r == "PUT /repos/acme/web/environments/prod/secrets/A_KEY" {
			puts++
		}
	}
	if puts != 3 {
		t.Fatalf("%d PUTs, want 3 (two retried failures)", puts)
	}

	s.Token = "another"
	before := len(s.Requests)
	_, err := tg.Plan(context.Background(), secretsOf("A_KEY", "value-a"), false)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || len(s.Requests)-before != 1 {
		t.Fatalf("bad token: %v after %d requests", err, len(s.Requests)-before)
	}
	// No token anywhere (and no gh on PATH): the error says where tokens come from.
	e := testEnv(map[string]string{"PATH": t.TempDir()})
	e.HTTP = s.Client()
	tg3, _ := Open("gh", Route{"repo": "acme/web"}, e)
	t.Setenv("PATH", t.TempDir())
	if _, err := tg3.Plan(context.Background(), nil, false); err == nil || !strings.Contains(err.Error(), "GH_TOKEN") {
		t.Fatalf("no token: %v", err)
	}
}

func TestGHNames(t *testing.T) {
	for key, want := range map[string]string{"api_token": "API_TOKEN", "A1": "A1", "_X": "_X", "1A": "", "GITHUB_TOKEN": "", "a.b": "", "a-b": ""} {
		got, why := ghName(key)
		if got != want || (want == "") != (why != "") {
			t.Errorf("ghName(%q) = %q, %q", key, got, why)
		}
	}
	// Two keys that GitHub would store under one name are both refused.
	pl := &planner{keys: NewKeys(nil), maxValue: 10, mapName: ghName}
	ok, bad := pl.desired(secretsOf("db_url", "1", "DB_URL", "2"))
	if len(ok) != 0 || len(bad) != 2 {
		t.Fatalf("collision: ok %v bad %v", ok, bad)
	}
}

// Without GH_TOKEN/GITHUB_TOKEN the token comes from `gh auth token`, the only child
// process of a sync: its argv holds no value and no token, and the token travels
// through its stdout.
func TestGHTokenFromGhCLI(t *testing.T) {
	s := fanouttest.NewGitHub(t, "acme/web", "prod")
	bin := t.TempDir()
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + bin + "/argv\necho " + s.Token + "\n"
	if err := os.WriteFile(filepath.Join(bin, "gh"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	e := testEnv(nil)
	e.HTTP = s.Client()
	e.Getenv = func(k string) string {
		if k == "GITHUB_API_URL" {
			return s.URL
		}
		return ""
	}
	tg, err := Open("gh", Route{"repo": "acme/web"}, e)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, tg, mustPlan(t, tg, secretsOf("API_TOKEN", "argv-check-secret"), false, "create=1"))
	argv, _ := os.ReadFile(filepath.Join(bin, "argv"))
	if string(argv) != "auth\ntoken\n" {
		t.Fatalf("gh argv %q", argv)
	}
}
