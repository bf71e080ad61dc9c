package fanout

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Azure Key Vault through its REST API (7.4) with azidentity's default credential
// chain (environment, workload identity, managed identity, Azure CLI, azd). One
// secret per key; Key Vault names allow only letters, digits and '-', and compare
// case-insensitively, so a key maps to its name with '_' → '-' and two keys that
// meet under one name are both refused. Ours carry tags. A deleted secret stays
// recoverable (soft delete); syncing its key again recovers it first.
func init() {
	register(Spec{
		Name:   "azure",
		Title:  "Azure Key Vault",
		Fields: []Field{{Key: "vaultName", Flag: "azure-vault", Required: true}},
		New:    newAzure,
	})
}

const (
	azureMaxValue   = 25 << 10
	azureAPI        = "api-version=7.4"
	azureTagManaged = "managed-by"
	azureTagOwner   = "git-vsync-owner"
	azureTagKey     = "git-vsync-key"
	azureRecoverMax = 60 * time.Second
)

var (
	azureNameRE  = lazyRE(`^[0-9A-Za-z-]{1,127}$`)
	azureVaultRE = lazyRE(`^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$`)
)

type azureTarget struct {
	env   *Origin
	api   *rest
	vault string // https://name.vault.azure.net
	scope string
	pl    *planner

	once sync.Once
	cred azcore.TokenCredential
	err  error
}

type azureState struct {
	names map[string]string            // canonical (lower-case) → the name as stored
	tags  map[string]map[string]string // canonical → tags
}

// azureCanon is the comparison form of a Key Vault name (case-insensitive).
func azureCanon(name string) string { return strings.ToLower(name) }

func newAzure(r Route, e *Origin) (Target, error) {
	v := strings.TrimSpace(r["vaultName"])
	var base string
	switch {
	case strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://"):
		u, err := endpoint("azure: the Key Vault URL (--azure-vault)", v)
		if err != nil {
			return nil, err
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("azure: %s is not a Key Vault URL (https://NAME.vault.azure.net)", u.String())
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("azure: %s: Key Vault is reached over https only", u.String())
		}
		base = u.Scheme + "://" + u.Host
	case azureVaultRE().MatchString(v):
		base = "https://" + strings.ToLower(v) + ".vault.azure.net"
	default:
		return nil, errors.New("azure: the vault (--azure-vault) is neither a Key Vault name (3 to 24 letters, digits and dashes) nor its URL (https://NAME.vault.azure.net)")
	}
	u, _ := url.Parse(base)
	scope := "https://vault.azure.net/.default"
	if host := u.Hostname(); strings.Count(host, ".") >= 2 && net.ParseIP(host) == nil {
		// The resource of a sovereign cloud: https://vault.azure.cn/.default, …
		scope = "https://" + host[strings.Index(host, ".")+1:] + "/.default"
	}
	hc := e.HTTP
	if hc == nil {
		hc = defaultHTTP()
	}
	t := &azureTarget{env: e, vault: base, scope: scope}
	t.api = &rest{http: hc, base: base, what: "Key Vault", auth: t.auth}
	t.pl = &planner{keys: e.Keys, maxValue: azureMaxValue, checkVal: utf8Only, mapName: func(k string) (string, string) {
		n := strings.ReplaceAll(k, "_", "-")
		if !azureNameRE().MatchString(n) {
			return "", "Key Vault names hold letters, digits and '-' ('_' becomes '-'), at most 127"
		}
		return azureCanon(n), ""
	}}
	return t, nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func (t *azureTarget) auth(ctx context.Context, r *http.Request) error {
	t.once.Do(func() {
		if c, ok := t.env.Credentials.(azcore.TokenCredential); ok {
			t.cred = c
			return
		}
		t.cred, t.err = azidentity.NewDefaultAzureCredential(nil)
	})
	if t.err != nil {
		return t.err
	}
	tok, err := t.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{t.scope}})
	if err != nil {
		return fmt.Errorf("no Azure credential (run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and a secret or certificate): %w", err)
	}
	r.Header.Set("Authorization", "Bearer "+tok.Token)
	return nil
}

func (t *azureTarget) Plan(ctx context.Context, secrets []Secret, prune bool) (*Plan, error) {
	st := &azureState{names: map[string]string{}, tags: map[string]map[string]string{}}
	have := map[string]remote{}
	owner := t.env.Owner()
	next := "/secrets?maxresults=25&" + azureAPI
	for page := 0; next != "" && page < 1000; page++ {
		var list struct {
			Value []struct {
				ID   string            `json:"id"`
				Tags map[string]string `json:"tags"`
			} `json:"value"`
			NextLink *string `json:"nextLink"`
		}
		if _, err := t.api.do(ctx, http.MethodGet, next, nil, &list); err != nil {
			return nil, err
		}
		for _, s := range list.Value {
			name := s.ID[strings.LastIndex(s.ID, "/")+1:]
			c := azureCanon(name)
			st.names[c], st.tags[c] = name, s.Tags
			have[c] = remote{owned: s.Tags[azureTagOwner] == owner}
		}
		next = ""
		if list.NextLink != nil && *list.NextLink != "" {
			// Follow only links into this vault: the token must not travel elsewhere.
			rest, ok := strings.CutPrefix(*list.NextLink, t.vault+"/")
			if !ok {
				return nil, errors.New("azure: the list's nextLink points outside the vault")
			}
			next = "/" + rest
		}
	}
	want, invalid := t.pl.desired(secrets)
	err := compareValues(ctx, want, have, func(ctx context.Context, c string) ([]byte, string) {
		var out struct {
			Value *string `json:"value"`
		}
		_, err := t.api.do(ctx, http.MethodGet, "/secrets/"+url.PathEscape(st.names[c])+"?"+azureAPI, nil, &out)
		if err != nil || out.Value == nil {
			return nil, "its value could not be read (disabled, or no permission), so it is written"
		}
		return []byte(*out.Value), ""
	})
	if err != nil {
		return nil, err
	}
	p := &Plan{Target: "azure", Where: "key vault " + t.vault, state: st}
	t.pl.compare(p, want, invalid, have, prune)
	return p, nil
}

func (t *azureTarget) Apply(ctx context.Context, p *Plan) (*Result, error) {
	if err := refuseInvalid(p); err != nil {
		return nil, err
	}
	st, ok := p.state.(*azureState)
	if !ok {
		return nil, errors.New("azure: plan from another target")
	}
	return each(ctx, p.Items, func(ctx context.Context, it Item) error {
		name := st.names[it.Name]
		if name == "" {
			name = strings.ReplaceAll(it.Key, "_", "-") // new: the key's own case
		}
		path := "/secrets/" + url.PathEscape(name) + "?" + azureAPI
		if it.Action == Delete {
			_, err := t.api.do(ctx, http.MethodDelete, path, nil, nil, http.StatusNotFound)
			return err
		}
		tags := map[string]string{}
		for k, v := range st.tags[it.Name] {
			tags[k] = v // a secret taken over keeps its tags
		}
		tags[azureTagManaged], tags[azureTagOwner], tags[azureTagKey] = "git-vsync", t.env.Owner(), it.Key
		body := map[string]any{"value": string(it.value), "tags": tags}
		_, err := t.api.do(ctx, http.MethodPut, path, body, nil)
		if statusOf(err) != http.StatusConflict || it.Action != Create {
			return err
		}
		// Soft-deleted by an earlier prune: recover it, wait until it is back, write.
		if _, rerr := t.api.do(ctx, http.MethodPost, "/deletedsecrets/"+url.PathEscape(name)+"/recover?"+azureAPI, nil, nil); rerr != nil {
			return err
		}
		deadline := time.Now().Add(azureRecoverMax)
		for {
			s, gerr := t.api.do(ctx, http.MethodGet, path, nil, nil, http.StatusNotFound)
			if gerr == nil && s != http.StatusNotFound {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return errors.New("the secret was recovered from soft delete but did not come back in time; run the sync again")
			}
			time.Sleep(time.Second)
		}
		_, err = t.api.do(ctx, http.MethodPut, path, body, nil)
		return err
	}), nil
}
