package fanout

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// GCP Secret Manager through its REST API with Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default login, the
// metadata server). One secret per key, a new version per change, every payload
// sent and read with its CRC32C. Ours carry labels. The endpoint can be moved with
// gcloud's own variable CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER.
func init() {
	register(Spec{
		Name:   "gcp",
		Title:  "GCP Secret Manager",
		Fields: []Field{{Key: "project", Flag: "gcp-project", Required: true}},
		New:    newGCP,
	})
}

const (
	gcpMaxValue     = 64 << 10
	gcpLabelManaged = "managed-by"
	gcpLabelOwner   = "git-vsync-owner"
	gcpScope        = "https://www.googleapis.com/auth/cloud-platform"
	gcpPageSize     = 250
)

var (
	gcpIDRE      = lazyRE(`^[A-Za-z0-9_-]{1,255}$`)
	gcpProjectRE = lazyRE(`^[a-z][a-z0-9.:-]{3,62}[a-z0-9]$|^[0-9]{1,20}$`)
	// Made on first use: building the table at package init cost every
	// command's start (issue 15).
	crc32c = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })
)

type gcpTarget struct {
	env     *Origin
	api     *rest
	project string
	pl      *planner

	once sync.Once
	ts   oauth2.TokenSource
	err  error
}

type gcpState struct {
	labels map[string]map[string]string // id → labels
}

func newGCP(r Route, e *Origin) (Target, error) {
	project := strings.TrimSpace(r["project"])
	if !gcpProjectRE().MatchString(project) {
		return nil, fmt.Errorf("gcp: %q is not a project id", project)
	}
	base := strings.TrimRight(e.getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"), "/")
	if base == "" {
		base = "https://secretmanager.googleapis.com"
	}
	if _, err := endpoint("gcp: CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", base); err != nil {
		return nil, err
	}
	hc := e.HTTP
	if hc == nil {
		hc = defaultHTTP()
	}
	t := &gcpTarget{env: e, project: project}
	t.api = &rest{http: hc, base: strings.TrimSuffix(base, "/v1") + "/v1", what: "Secret Manager", auth: t.auth}
	t.pl = &planner{keys: e.Keys, maxValue: gcpMaxValue, mapName: func(k string) (string, string) {
		if !gcpIDRE().MatchString(k) {
			return "", "Secret Manager ids hold letters, digits, '_' and '-' (at most 255)"
		}
		return k, ""
	}}
	return t, nil
}

// auth finds Application Default Credentials once and adds a fresh token.
func (t *gcpTarget) auth(ctx context.Context, r *http.Request) error {
	t.once.Do(func() {
		if ts, ok := t.env.Credentials.(oauth2.TokenSource); ok {
			t.ts = ts
			return
		}
		cctx := ctx
		if t.env.HTTP != nil {
			cctx = context.WithValue(ctx, oauth2.HTTPClient, t.env.HTTP)
		}
		creds, err := google.FindDefaultCredentials(cctx, gcpScope)
		if err != nil {
			t.err = fmt.Errorf("no Application Default Credentials (run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS): %w", err)
			return
		}
		t.ts = creds.TokenSource
	})
	if t.err != nil {
		return t.err
	}
	tok, err := t.ts.Token()
	if err != nil {
		return fmt.Errorf("get an access token: %w", err)
	}
	tok.SetAuthHeader(r)
	return nil
}

func (t *gcpTarget) secretsPath() string {
	return "/projects/" + url.PathEscape(t.project) + "/secrets"
}

// ownerLabel is the owner as a label value: lower-case letters, digits, '_' and
// '-', at most 63 characters (long owners keep a hash suffix so they stay unique).
func ownerLabel(owner string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(owner) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 63 {
		sum := sha256.Sum256([]byte(owner))
		s = s[:54] + "-" + hex.EncodeToString(sum[:4])
	}
	return s
}

func gcpCRC(b []byte) string { return strconv.FormatUint(uint64(crc32.Checksum(b, crc32c())), 10) }

func (t *gcpTarget) Plan(ctx context.Context, secrets []Secret, prune bool) (*Plan, error) {
	st := &gcpState{labels: map[string]map[string]string{}}
	have := map[string]remote{}
	owner := ownerLabel(t.env.Owner())
	token := ""
	for page := 0; page < 1000; page++ {
		var list struct {
			Secrets []struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"secrets"`
			Next string `json:"nextPageToken"`
		}
		q := "?pageSize=" + strconv.Itoa(gcpPageSize)
		if token != "" {
			q += "&pageToken=" + url.QueryEscape(token)
		}
		if _, err := t.api.do(ctx, http.MethodGet, t.secretsPath()+q, nil, &list); err != nil {
			return nil, err
		}
		for _, s := range list.Secrets {
			id := s.Name[strings.LastIndex(s.Name, "/")+1:]
			st.labels[id] = s.Labels
			have[id] = remote{owned: s.Labels[gcpLabelOwner] == owner}
		}
		if token = list.Next; token == "" {
			break
		}
	}
	want, invalid := t.pl.desired(secrets)
	if err := compareValues(ctx, want, have, t.access); err != nil {
		return nil, err
	}
	p := &Plan{Target: "gcp", Where: "secretmanager project " + t.project, state: st}
	t.pl.compare(p, want, invalid, have, prune)
	return p, nil
}

// access reads the latest version, checking its CRC32C; why says why it could not.
func (t *gcpTarget) access(ctx context.Context, id string) ([]byte, string) {
	var out struct {
		Payload struct {
			Data   string `json:"data"`
			CRC32C string `json:"dataCrc32c"`
		} `json:"payload"`
	}
	if _, err := t.api.do(ctx, http.MethodGet, t.secretsPath()+"/"+url.PathEscape(id)+"/versions/latest:access", nil, &out); err != nil {
		if s := statusOf(err); s == http.StatusNotFound || s == http.StatusBadRequest || s == http.StatusPreconditionFailed {
			return nil, "has no enabled version"
		}
		return nil, "its value could not be read, so it is written"
	}
	data, err := base64.StdEncoding.DecodeString(out.Payload.Data)
	if err != nil || (out.Payload.CRC32C != "" && out.Payload.CRC32C != gcpCRC(data)) {
		return nil, "its latest version failed the CRC32C check, so it is written again"
	}
	return data, ""
}

func (t *gcpTarget) Apply(ctx context.Context, p *Plan) (*Result, error) {
	if err := refuseInvalid(p); err != nil {
		return nil, err
	}
	st, ok := p.state.(*gcpState)
	if !ok {
		return nil, errors.New("gcp: plan from another target")
	}
	owner := ownerLabel(t.env.Owner())
	return each(ctx, p.Items, func(ctx context.Context, it Item) error {
		path := t.secretsPath() + "/" + url.PathEscape(it.Name)
		switch it.Action {
		case Delete:
			_, err := t.api.do(ctx, http.MethodDelete, path, nil, nil, http.StatusNotFound)
			return err
		case Create:
			body := map[string]any{
				"replication": map[string]any{"automatic": map[string]any{}},
				"labels":      map[string]string{gcpLabelManaged: "git-vsync", gcpLabelOwner: owner},
			}
			// 409: created meanwhile (or by a retried request); add the version.
			if _, err := t.api.do(ctx, http.MethodPost, t.secretsPath()+"?secretId="+url.QueryEscape(it.Name), body, nil, http.StatusConflict); err != nil {
				return err
			}
		case Update:
			if l := st.labels[it.Name]; l[gcpLabelOwner] != owner {
				labels := map[string]string{}
				for k, v := range l {
					labels[k] = v
				}
				labels[gcpLabelManaged], labels[gcpLabelOwner] = "git-vsync", owner
				if _, err := t.api.do(ctx, http.MethodPatch, path+"?updateMask=labels", map[string]any{"labels": labels}, nil); err != nil {
					return err
				}
			}
		}
		body := map[string]any{"payload": map[string]string{
			"data": base64.StdEncoding.EncodeToString(it.value), "dataCrc32c": gcpCRC(it.value),
		}}
		_, err := t.api.do(ctx, http.MethodPost, path+":addVersion", body, nil)
		return err
	}), nil
}
