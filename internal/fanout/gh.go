package fanout

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/nacl/box"
)

// GitHub Actions environment secrets. Values are write-only there, so a plan cannot
// read them back: what git-vsync wrote is recorded as a keyed MAC per name in a
// ledger in the bucket (shared by the team), and "unchanged" means "the MAC of the
// value equals the one we recorded when we wrote it". A name in the ledger is ours.
func init() {
	register(Spec{
		Name:  "gh",
		Title: "GitHub Actions environment secrets",
		Fields: []Field{
			{Key: "repo", Flag: "gh-repo", Required: true},
			// The GitHub environment; defaults to the env name (config only).
			{Key: "environment", Flag: "gh-environment", Default: func(env string) string { return env }},
		},
		New: newGH,
	})
}

const (
	ghMaxValue  = 48 << 10
	ghLedger    = "gh"
	ghPageSize  = 100
	ghMaxPages  = 100
	ghTokenWait = 5 * time.Second
)

var (
	ghRepoRE = lazyRE(`^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$`)
	ghNameRE = lazyRE(`^[A-Z_][A-Z0-9_]*$`)
)

type ghTarget struct {
	env     *Origin
	api     *rest
	repo    string // owner/name
	envName string
	pl      *planner
	token   string
}

type ghState struct {
	ledger map[string]string // name → MAC of what we wrote
	remote map[string]bool
	keyID  string
	key    [32]byte
}

func newGH(r Route, e *Origin) (Target, error) {
	repo := strings.TrimSpace(r["repo"])
	if !ghRepoRE().MatchString(repo) || strings.Contains(repo, "..") {
		return nil, fmt.Errorf("gh: %q is not a GitHub repository (owner/name)", repo)
	}
	envName := strings.TrimSpace(r["environment"])
	if envName == "" || len(envName) > 255 || strings.ContainsAny(envName, "/\\?#%") {
		return nil, fmt.Errorf("gh: %q is not a usable GitHub environment name", envName)
	}
	base := strings.TrimRight(e.getenv("GITHUB_API_URL"), "/")
	if base == "" {
		base = "https://api.github.com"
	}
	if _, err := endpoint("gh: GITHUB_API_URL", base); err != nil {
		return nil, err
	}
	hc := e.HTTP
	if hc == nil {
		hc = defaultHTTP()
	}
	t := &ghTarget{env: e, repo: repo, envName: envName}
	t.api = &rest{http: hc, base: base, what: "GitHub", auth: t.auth}
	t.pl = &planner{keys: e.Keys, maxValue: ghMaxValue, mapName: ghName}
	return t, nil
}

// ghName maps a key to a GitHub secret name: GitHub upper-cases names, allows only
// letters, digits and '_', and reserves the GITHUB_ prefix.
func ghName(key string) (string, string) {
	n := strings.ToUpper(key)
	switch {
	case !ghNameRE().MatchString(n):
		return "", "GitHub secret names hold only letters, digits and '_' and do not start with a digit"
	case strings.HasPrefix(n, "GITHUB_"):
		return "", "GitHub reserves names starting with GITHUB_"
	}
	return n, ""
}

// auth uses GH_TOKEN, then GITHUB_TOKEN, then what `gh auth token` prints (the
// token travels through a pipe, never through argv).
func (t *ghTarget) auth(ctx context.Context, r *http.Request) error {
	if t.token == "" {
		t.token = strings.TrimSpace(t.env.getenv("GH_TOKEN"))
	}
	if t.token == "" {
		t.token = strings.TrimSpace(t.env.getenv("GITHUB_TOKEN"))
	}
	if t.token == "" {
		cctx, cancel := context.WithTimeout(ctx, ghTokenWait)
		defer cancel()
		out, err := exec.CommandContext(cctx, "gh", "auth", "token").Output()
		if err == nil {
			t.token = strings.TrimSpace(string(out))
		}
	}
	if t.token == "" {
		return errors.New("no token: set GH_TOKEN (or GITHUB_TOKEN), or run `gh auth login`")
	}
	r.Header.Set("Authorization", "Bearer "+t.token)
	r.Header.Set("Accept", "application/vnd.github+json")
	r.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	return nil
}

func (t *ghTarget) secretsPath() string {
	return "/repos/" + t.repo + "/environments/" + url.PathEscape(t.envName) + "/secrets"
}

func (t *ghTarget) ledgerID() string { return strings.ToLower(t.repo) + "#" + t.envName }

func (t *ghTarget) where() string {
	return fmt.Sprintf("github %s environment %s", t.repo, t.envName)
}

// ghLedgerDoc is the bucket document: per GitHub target, name → MAC.
type ghLedgerDoc struct {
	V       int                          `json:"v"`
	Targets map[string]map[string]string `json:"targets"`
}

func parseGHLedger(body []byte) (*ghLedgerDoc, error) {
	doc := &ghLedgerDoc{V: 1, Targets: map[string]map[string]string{}}
	if len(body) == 0 {
		return doc, nil
	}
	if len(body) > 8<<20 {
		return nil, errors.New("the GitHub ledger in the bucket is larger than 8 MiB")
	}
	if err := json.Unmarshal(body, doc); err != nil || doc.V != 1 {
		return nil, errors.New("the GitHub ledger in the bucket is not a version 1 ledger")
	}
	if doc.Targets == nil {
		doc.Targets = map[string]map[string]string{}
	}
	return doc, nil
}

func (t *ghTarget) loadLedger(ctx context.Context) (*ghLedgerDoc, string, error) {
	if t.env.Ledger == nil {
		return nil, "", errors.New("gh: no ledger store")
	}
	body, etag, err := t.env.Ledger.Load(ctx, ghLedger)
	if err != nil {
		return nil, "", fmt.Errorf("read the GitHub ledger: %w", err)
	}
	doc, err := parseGHLedger(body)
	return doc, etag, err
}

func (t *ghTarget) Plan(ctx context.Context, secrets []Secret, prune bool) (*Plan, error) {
	doc, _, err := t.loadLedger(ctx)
	if err != nil {
		return nil, err
	}
	st := &ghState{ledger: doc.Targets[t.ledgerID()], remote: map[string]bool{}}
	if st.ledger == nil {
		st.ledger = map[string]string{}
	}
	var pk struct {
		KeyID string `json:"key_id"`
		Key   string `json:"key"`
	}
	if _, err := t.api.do(ctx, http.MethodGet, t.secretsPath()+"/public-key", nil, &pk); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, fmt.Errorf("%w (does the environment %q exist in %s, and may the token see it?)", err, t.envName, t.repo)
		}
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(pk.Key)
	if err != nil || len(raw) != 32 || pk.KeyID == "" {
		return nil, errors.New("GitHub returned an unusable public key for the environment")
	}
	st.keyID = pk.KeyID
	copy(st.key[:], raw)
	for page := 1; page <= ghMaxPages; page++ {
		var list struct {
			Total   int `json:"total_count"`
			Secrets []struct {
				Name string `json:"name"`
			} `json:"secrets"`
		}
		if _, err := t.api.do(ctx, http.MethodGet, t.secretsPath()+"?per_page="+strconv.Itoa(ghPageSize)+"&page="+strconv.Itoa(page), nil, &list); err != nil {
			return nil, err
		}
		for _, s := range list.Secrets {
			st.remote[strings.ToUpper(s.Name)] = true
		}
		if len(list.Secrets) < ghPageSize || len(st.remote) >= list.Total {
			break
		}
	}
	want, invalid := t.pl.desired(secrets)
	have := map[string]remote{}
	for name := range st.remote {
		mac, owned := st.ledger[name]
		r := remote{owned: owned, known: owned}
		if it, ok := want[name]; ok && owned {
			r.same = mac == t.env.Keys.LedgerMAC(name, it.value)
		}
		have[name] = r
	}
	p := &Plan{Target: "gh", Where: t.where(), state: st}
	t.pl.compare(p, want, invalid, have, prune)
	return p, nil
}

func (t *ghTarget) Apply(ctx context.Context, p *Plan) (*Result, error) {
	if err := refuseInvalid(p); err != nil {
		return nil, err
	}
	st, ok := p.state.(*ghState)
	if !ok {
		return nil, errors.New("gh: plan from another target")
	}
	res := each(ctx, p.Items, func(ctx context.Context, it Item) error {
		path := t.secretsPath() + "/" + url.PathEscape(it.Name)
		if it.Action == Delete {
			_, err := t.api.do(ctx, http.MethodDelete, path, nil, nil, http.StatusNotFound)
			return err
		}
		sealed, err := box.SealAnonymous(nil, it.value, &st.key, rand.Reader)
		if err != nil {
			return err
		}
		body := map[string]string{"encrypted_value": base64.StdEncoding.EncodeToString(sealed), "key_id": st.keyID}
		_, err = t.api.do(ctx, http.MethodPut, path, body, nil)
		return err
	})
	// Record what landed, also after a partial failure: the ledger is how the next
	// plan knows these values.
	set := map[string]string{}
	for _, it := range p.Items {
		if (it.Action == Create || it.Action == Update) && !failed(res, it.Name) {
			set[it.Name] = t.env.Keys.LedgerMAC(it.Name, it.value)
		}
	}
	var drop []string
	drop = append(drop, res.Deleted...)
	for name := range st.ledger {
		if !st.remote[name] {
			drop = append(drop, name) // deleted at GitHub by someone: no longer ours
		}
	}
	if len(set) == 0 && len(drop) == 0 {
		return res, nil
	}
	if err := t.saveLedger(ctx, set, drop); err != nil {
		return res, fmt.Errorf("the secrets were written but the ledger was not (the next plan will show them as updates): %w", err)
	}
	return res, nil
}

func failed(res *Result, name string) bool {
	for _, f := range res.Failed {
		if f.Name == name {
			return true
		}
	}
	return false
}

// saveLedger merges this run's changes into the ledger with a compare-and-swap,
// re-reading on conflict so a teammate's concurrent sync is never lost.
func (t *ghTarget) saveLedger(ctx context.Context, set map[string]string, drop []string) error {
	for attempt := 0; attempt < 8; attempt++ {
		doc, etag, err := t.loadLedger(ctx)
		if err != nil {
			return err
		}
		m := doc.Targets[t.ledgerID()]
		if m == nil {
			m = map[string]string{}
			doc.Targets[t.ledgerID()] = m
		}
		for _, n := range drop {
			delete(m, n)
		}
		for n, v := range set {
			m[n] = v
		}
		if len(m) == 0 {
			delete(doc.Targets, t.ledgerID())
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", " ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
		err = t.env.Ledger.Save(ctx, ghLedger, buf.Bytes(), etag)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		time.Sleep(time.Duration(20*(attempt+1)) * time.Millisecond)
	}
	return errors.New("the ledger kept changing under concurrent syncs")
}
