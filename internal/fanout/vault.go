package fanout

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HashiCorp Vault KV v2: all keys of an env are one secret (a map) at
// <mount>/data/<path>, written whole with cas = the version read, so a concurrent
// writer makes the write fail instead of being overwritten. Ownership lives in the
// secret's custom_metadata: the owner and the keys git-vsync wrote.
func init() {
	register(Spec{
		Name:  "vault",
		Title: "HashiCorp Vault KV v2",
		Fields: []Field{
			{Key: "addr", Flag: "vault-addr"},
			{Key: "mount", Flag: "vault-mount", Default: func(string) string { return "secret" }},
			{Key: "secretPath", Flag: "vault-path", Required: true},
		},
		New: newVault,
	})
}

// Vault limits: custom_metadata holds at most 64 entries of at most 512-byte values.
const (
	vaultMaxValue     = 512 << 10
	vaultMetaValueMax = 512
	vaultMetaOwner    = "git-vsync-owner"
	vaultMetaKeys     = "git-vsync-keys" // -1, -2, …: comma-separated owned keys
	vaultMetaKeysMax  = 48               // chunks, leaving room for the owner's own entries
)

type vaultTarget struct {
	env   *Origin
	api   *rest
	mount string
	path  string
	pl    *planner
}

type vaultState struct {
	version int            // current version; 0 = none
	data    map[string]any // the current map
	meta    map[string]string
	owned   map[string]bool
}

func newVault(r Route, e *Origin) (Target, error) {
	addr := strings.TrimSpace(r["addr"])
	if addr == "" {
		addr = strings.TrimSpace(e.getenv("VAULT_ADDR"))
	}
	if addr == "" {
		return nil, &ErrRoute{Target: "vault", Field: Field{Key: "addr", Flag: "vault-addr (or VAULT_ADDR)"}}
	}
	if _, err := endpoint("vault: the address (--vault-addr or VAULT_ADDR)", addr); err != nil {
		return nil, err
	}
	mount := strings.Trim(r["mount"], "/")
	path := strings.Trim(r["secretPath"], "/")
	for _, p := range []string{mount, path} {
		if p == "" || strings.Contains(p, "..") || strings.ContainsAny(p, "?#%\\") {
			return nil, fmt.Errorf("vault: mount and path must be plain path segments (got %q)", p)
		}
	}
	hc := e.HTTP
	if hc == nil {
		var err error
		if hc, err = vaultHTTP(e.getenv); err != nil {
			return nil, err
		}
	}
	t := &vaultTarget{env: e, mount: mount, path: path}
	t.api = &rest{http: hc, base: strings.TrimRight(addr, "/") + "/v1", what: "Vault", auth: t.auth}
	t.pl = &planner{keys: e.Keys, maxValue: vaultMaxValue, mapName: func(k string) (string, string) {
		if k == "" || strings.Contains(k, ",") {
			return "", "not a usable Vault key"
		}
		return k, ""
	}, checkVal: utf8Only}
	return t, nil
}

func utf8Only(v []byte) string {
	if !utf8.Valid(v) {
		return "the value is not UTF-8 text (this target stores text)"
	}
	return ""
}

// vaultHTTP builds the client from Vault's own variables: VAULT_CACERT,
// VAULT_CAPATH, VAULT_CLIENT_CERT/VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME,
// VAULT_SKIP_VERIFY.
func vaultHTTP(getenv func(string) string) (*http.Client, error) {
	hc := defaultHTTP()
	tr := hc.Transport.(*http.Transport)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: getenv("VAULT_TLS_SERVER_NAME")}
	var pems []string
	if f := getenv("VAULT_CACERT"); f != "" {
		pems = append(pems, f)
	}
	if d := getenv("VAULT_CAPATH"); d != "" {
		ents, err := os.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("vault: VAULT_CAPATH: %w", err)
		}
		for _, de := range ents {
			if de.Type().IsRegular() {
				pems = append(pems, filepath.Join(d, de.Name()))
			}
		}
	}
	if len(pems) > 0 {
		pool := x509.NewCertPool()
		for _, f := range pems {
			b, err := readSmallFile(f, 1<<20)
			if err != nil {
				return nil, fmt.Errorf("vault: CA certificate: %w", err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("vault: %s holds no PEM certificate", f)
			}
		}
		cfg.RootCAs = pool
	}
	if c, k := getenv("VAULT_CLIENT_CERT"), getenv("VAULT_CLIENT_KEY"); c != "" || k != "" {
		pair, err := tls.LoadX509KeyPair(c, k)
		if err != nil {
			return nil, fmt.Errorf("vault: client certificate (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY): %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if v, err := strconv.ParseBool(getenv("VAULT_SKIP_VERIFY")); err == nil && v {
		cfg.InsecureSkipVerify = true
	}
	tr.TLSClientConfig = cfg
	return hc, nil
}

// readSmallFile reads a regular file of at most max bytes.
func readSmallFile(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return os.ReadFile(path)
}

// auth adds the token (VAULT_TOKEN, else ~/.vault-token) and VAULT_NAMESPACE.
func (t *vaultTarget) auth(_ context.Context, r *http.Request) error {
	tok := strings.TrimSpace(t.env.getenv("VAULT_TOKEN"))
	if tok == "" {
		home := t.env.getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		b, err := readSmallFile(filepath.Join(home, ".vault-token"), 64<<10)
		if err != nil {
			return errors.New("no token: set VAULT_TOKEN or run `vault login`")
		}
		tok = strings.TrimSpace(string(b))
	}
	r.Header.Set("X-Vault-Token", tok)
	r.Header.Set("X-Vault-Request", "true")
	if ns := strings.TrimSpace(t.env.getenv("VAULT_NAMESPACE")); ns != "" {
		r.Header.Set("X-Vault-Namespace", ns)
	}
	return nil
}

func (t *vaultTarget) where() string {
	return fmt.Sprintf("%s/%s/%s", strings.TrimSuffix(t.api.base, "/v1"), t.mount, t.path)
}

func (t *vaultTarget) escPath() string {
	segs := strings.Split(t.path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (t *vaultTarget) read(ctx context.Context) (*vaultState, error) {
	st := &vaultState{data: map[string]any{}, meta: map[string]string{}, owned: map[string]bool{}}
	var meta struct {
		Data struct {
			CurrentVersion int               `json:"current_version"`
			CustomMetadata map[string]string `json:"custom_metadata"`
		} `json:"data"`
	}
	status, err := t.api.do(ctx, http.MethodGet, "/"+url.PathEscape(t.mount)+"/metadata/"+t.escPath(), nil, &meta, http.StatusNotFound)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return st, nil
	}
	st.version = meta.Data.CurrentVersion
	for k, v := range meta.Data.CustomMetadata {
		st.meta[k] = v
	}
	if st.meta[vaultMetaOwner] == t.env.Owner() {
		for k, v := range st.meta {
			if k == vaultMetaKeys || strings.HasPrefix(k, vaultMetaKeys+"-") {
				for _, name := range strings.Split(v, ",") {
					if name != "" {
						st.owned[name] = true
					}
				}
			}
		}
	}
	var data struct {
		Data struct {
			Data     map[string]any `json:"data"`
			Metadata struct {
				Version int `json:"version"`
			} `json:"metadata"`
		} `json:"data"`
	}
	// The latest version may be deleted (404 with metadata): then the map is empty
	// and the write still needs cas = current version.
	status, err = t.api.do(ctx, http.MethodGet, "/"+url.PathEscape(t.mount)+"/data/"+t.escPath(), nil, &data, http.StatusNotFound)
	if err != nil {
		return nil, err
	}
	if status != http.StatusNotFound && data.Data.Data != nil {
		st.data = data.Data.Data
	}
	return st, nil
}

func (t *vaultTarget) Plan(ctx context.Context, secrets []Secret, prune bool) (*Plan, error) {
	st, err := t.read(ctx)
	if err != nil {
		return nil, err
	}
	want, invalid := t.pl.desired(secrets)
	have := map[string]remote{}
	for k, v := range st.data {
		r := remote{owned: st.owned[k], known: true}
		if it, ok := want[k]; ok {
			s, isString := v.(string)
			r.same = isString && s == string(it.value)
		}
		have[k] = r
	}
	p := &Plan{Target: "vault", Where: t.where(), state: st}
	t.pl.compare(p, want, invalid, have, prune)
	return p, nil
}

func (t *vaultTarget) Apply(ctx context.Context, p *Plan) (*Result, error) {
	if err := refuseInvalid(p); err != nil {
		return nil, err
	}
	st, ok := p.state.(*vaultState)
	if !ok {
		return nil, errors.New("vault: plan from another target")
	}
	res := &Result{}
	data := map[string]any{}
	for k, v := range st.data {
		data[k] = v
	}
	owned := map[string]bool{}
	for k := range st.owned {
		if _, ok := st.data[k]; ok {
			owned[k] = true
		}
	}
	for _, it := range p.Items {
		switch it.Action {
		case Create:
			data[it.Name] = string(it.value)
			owned[it.Name] = true
			res.Created = append(res.Created, it.Name)
		case Update:
			data[it.Name] = string(it.value)
			owned[it.Name] = true
			res.Updated = append(res.Updated, it.Name)
		case Unchanged:
			res.Unchanged++
		case Delete:
			delete(data, it.Name)
			delete(owned, it.Name)
			res.Deleted = append(res.Deleted, it.Name)
		}
	}
	if !p.Writes() {
		return res, nil
	}
	body := map[string]any{"options": map[string]any{"cas": st.version}, "data": data}
	_, err := t.api.do(ctx, http.MethodPost, "/"+url.PathEscape(t.mount)+"/data/"+t.escPath(), body, nil)
	if err != nil {
		// One write for all keys: it failed for all of them.
		names := append(append(append([]string{}, res.Created...), res.Updated...), res.Deleted...)
		out := &Result{Unchanged: res.Unchanged}
		msg := err.Error()
		if statusOf(err) == http.StatusBadRequest && strings.Contains(msg, "check-and-set") {
			msg = "someone else wrote the secret after the plan was read; run the sync again"
		}
		// As each() does for one write per key: a server that echoes the request
		// must not print a value.
		for _, it := range p.Items {
			msg = redact(msg, it.value)
		}
		for _, n := range names {
			out.Failed = append(out.Failed, Failure{Name: n, Err: msg})
		}
		return out, nil
	}
	if err := t.writeOwnership(ctx, st.meta, owned); err != nil {
		return res, fmt.Errorf("the values were written but the ownership marks were not: %w", err)
	}
	return res, nil
}

// writeOwnership replaces git-vsync's entries of custom_metadata, keeping the rest.
func (t *vaultTarget) writeOwnership(ctx context.Context, old map[string]string, owned map[string]bool) error {
	meta := map[string]string{}
	for k, v := range old {
		if k != vaultMetaOwner && k != vaultMetaKeys && !strings.HasPrefix(k, vaultMetaKeys+"-") {
			meta[k] = v
		}
	}
	names := make([]string, 0, len(owned))
	for k := range owned {
		names = append(names, k)
	}
	sort.Strings(names)
	chunks := []string{""}
	for _, n := range names {
		last := &chunks[len(chunks)-1]
		switch {
		case *last == "":
			*last = n
		case len(*last)+1+len(n) <= vaultMetaValueMax:
			*last += "," + n
		default:
			chunks = append(chunks, n)
		}
	}
	if len(chunks) > vaultMetaKeysMax {
		return fmt.Errorf("too many keys to record in custom_metadata (%d chunks of %d bytes)", len(chunks), vaultMetaValueMax)
	}
	meta[vaultMetaOwner] = t.env.Owner()
	meta[vaultMetaKeys] = chunks[0]
	for i, c := range chunks[1:] {
		meta[vaultMetaKeys+"-"+strconv.Itoa(i+2)] = c
	}
	_, err := t.api.do(ctx, http.MethodPost, "/"+url.PathEscape(t.mount)+"/metadata/"+t.escPath(), map[string]any{"custom_metadata": meta}, nil)
	return err
}
