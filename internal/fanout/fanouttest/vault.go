package fanouttest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Vault is an in-process HashiCorp Vault with one KV v2 mount: data and
// metadata endpoints, versions, check-and-set and custom_metadata, over TLS.
type Vault struct {
	*httptest.Server
	Token, Namespace string
	fake
	data    map[string]map[string]any // path → current map
	version map[string]int
	Meta    map[string]map[string]string
	Path    string // the path the fake helpers act on
	// EchoWrites makes every data write fail with an error that quotes the
	// request's values, as a careless server or proxy might.
	EchoWrites bool
}

func NewVault(t *testing.T, mount string) *Vault {
	s := &Vault{Token: "hvs.test", Namespace: "team-a", data: map[string]map[string]any{}, version: map[string]int{}, Meta: map[string]map[string]string{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Mu.Lock()
		defer s.Mu.Unlock()
		if r.Header.Get("X-Vault-Token") != s.Token || r.Header.Get("X-Vault-Namespace") != s.Namespace {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"errors":["permission denied"]}`))
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/v1/"+mount+"/")
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		kind, path, _ := strings.Cut(rest, "/")
		switch {
		case kind == "data" && r.Method == http.MethodGet:
			if _, ok := s.data[path]; !ok {
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`{"errors":[]}`))
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"data": s.data[path], "metadata": map[string]any{"version": s.version[path]}}})
		case kind == "data" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
			var body struct {
				Options struct {
					CAS *int `json:"cas"`
				} `json:"options"`
				Data map[string]any `json:"data"`
			}
			raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil || json.Unmarshal(raw, &body) != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			if s.EchoWrites {
				w.WriteHeader(http.StatusBadRequest)
				vals := []string{}
				for _, v := range body.Data {
					if s, ok := v.(string); ok {
						vals = append(vals, s)
					}
				}
				json.NewEncoder(w).Encode(map[string]any{"errors": []string{"invalid data: " + strings.Join(vals, " ")}})
				return
			}
			if body.Options.CAS == nil || *body.Options.CAS != s.version[path] {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"errors":["check-and-set parameter did not match the current version"]}`))
				return
			}
			s.data[path] = body.Data
			s.version[path]++
			s.nWrites++
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"version": s.version[path]}})
		case kind == "metadata" && r.Method == http.MethodGet:
			if s.version[path] == 0 && s.Meta[path] == nil {
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`{"errors":[]}`))
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"current_version": s.version[path], "custom_metadata": s.Meta[path]}})
		case kind == "metadata" && r.Method == http.MethodPost:
			var body struct {
				CustomMetadata map[string]string `json:"custom_metadata"`
			}
			if json.NewDecoder(r.Body).Decode(&body) != nil || len(body.CustomMetadata) > 64 {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			for k, v := range body.CustomMetadata {
				if len(k) > 128 || len(v) > 512 {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
			}
			s.Meta[path] = body.CustomMetadata
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *Vault) Values() map[string]string {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	out := map[string]string{}
	for k, v := range s.data[s.Path] {
		out[k], _ = v.(string)
	}
	return out
}

// addForeign writes a key as another client would: a new version, no marks.
func (s *Vault) AddForeign(name, value string) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	m := map[string]any{}
	for k, v := range s.data[s.Path] {
		m[k] = v
	}
	m[name] = value
	s.data[s.Path] = m
	s.version[s.Path]++
}
