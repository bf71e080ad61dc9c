package fanouttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Azure is an in-process Key Vault (REST 7.4, TLS): secrets with versions and tags,
// case-insensitive names, paged lists with absolute nextLinks, soft delete (a
// deleted name answers 409 until recovered).
type Azure struct {
	*httptest.Server
	Token string
	fake
	secrets map[string]*azSecret // lower-case name →
}

type azSecret struct {
	name     string
	versions []string
	tags     map[string]string
	deleted  bool
}

var azName = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)

// NewAzure starts the vault.
func NewAzure(t testing.TB) *Azure {
	s := &Azure{Token: "azure-test-token", secrets: map[string]*azSecret{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func azError(w http.ResponseWriter, code int, ecode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": ecode, "message": msg}})
}

func (s *Azure) serve(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/x", resource="https://vault.azure.net"`)
		azError(w, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	if r.URL.Query().Get("api-version") != "7.4" {
		azError(w, 400, "BadParameter", "api-version is missing or unsupported")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "secrets" && r.Method == http.MethodGet:
		var names []string
		for k, v := range s.secrets {
			if !v.deleted {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		size, _ := strconv.Atoi(r.URL.Query().Get("maxresults"))
		if size <= 0 || size > 25 {
			size = 25
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
		out := []map[string]any{}
		for i := start; i < len(names) && i < start+size; i++ {
			sec := s.secrets[names[i]]
			out = append(out, map[string]any{"id": s.URL + "/secrets/" + sec.name, "attributes": map[string]any{"enabled": true}, "tags": sec.tags})
		}
		var next any
		if start+size < len(names) {
			next = s.URL + "/secrets?api-version=7.4&maxresults=" + strconv.Itoa(size) + "&$skiptoken=" + strconv.Itoa(start+size)
		}
		json.NewEncoder(w).Encode(map[string]any{"value": out, "nextLink": next})
	case len(parts) == 2 && parts[0] == "secrets":
		key := strings.ToLower(parts[1])
		sec := s.secrets[key]
		switch r.Method {
		case http.MethodGet:
			if sec == nil || sec.deleted {
				azError(w, 404, "SecretNotFound", "A secret with (name/id) "+parts[1]+" was not found in this key vault.")
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"value": sec.versions[len(sec.versions)-1], "id": s.URL + "/secrets/" + sec.name + "/v" + strconv.Itoa(len(sec.versions)), "tags": sec.tags, "attributes": map[string]any{"enabled": true}})
		case http.MethodPut:
			if !azName.MatchString(parts[1]) {
				azError(w, 400, "BadParameter", "The request URI contains an invalid name")
				return
			}
			if sec != nil && sec.deleted {
				w.WriteHeader(409)
				json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "Conflict", "message": "Secret " + parts[1] + " is currently in a deleted but recoverable state.", "innererror": map[string]any{"code": "ObjectIsDeletedButRecoverable"}}})
				return
			}
			var body struct {
				Value *string           `json:"value"`
				Tags  map[string]string `json:"tags"`
			}
			if json.NewDecoder(r.Body).Decode(&body) != nil || body.Value == nil || len(*body.Value) > 25<<10 || len(body.Tags) > 15 {
				azError(w, 400, "BadParameter", "invalid secret")
				return
			}
			if sec == nil {
				sec = &azSecret{name: parts[1]}
				s.secrets[key] = sec
			}
			sec.versions = append(sec.versions, *body.Value)
			sec.tags = body.Tags
			s.nWrites++
			json.NewEncoder(w).Encode(map[string]any{"id": s.URL + "/secrets/" + sec.name + "/v" + strconv.Itoa(len(sec.versions)), "tags": sec.tags, "attributes": map[string]any{"enabled": true}})
		case http.MethodDelete:
			if sec == nil || sec.deleted {
				azError(w, 404, "SecretNotFound", "not found")
				return
			}
			sec.deleted = true
			s.nWrites++
			json.NewEncoder(w).Encode(map[string]any{"id": s.URL + "/secrets/" + sec.name, "recoveryId": s.URL + "/deletedsecrets/" + sec.name})
		default:
			azError(w, 405, "MethodNotAllowed", r.Method)
		}
	case len(parts) == 3 && parts[0] == "deletedsecrets" && parts[2] == "recover" && r.Method == http.MethodPost:
		sec := s.secrets[strings.ToLower(parts[1])]
		if sec == nil || !sec.deleted {
			azError(w, 404, "DeletedSecretNotFound", "not found")
			return
		}
		sec.deleted = false
		s.nWrites++
		json.NewEncoder(w).Encode(map[string]any{"id": s.URL + "/secrets/" + sec.name})
	default:
		azError(w, 404, "NotFound", r.Method+" "+r.URL.Path)
	}
}

// Values returns the current value of every live secret, by its stored name.
func (s *Azure) Values() map[string]string {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	out := map[string]string{}
	for _, sec := range s.secrets {
		if !sec.deleted {
			out[sec.name] = sec.versions[len(sec.versions)-1]
		}
	}
	return out
}

// Tags returns the tags of a secret.
func (s *Azure) Tags(name string) map[string]string {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if sec := s.secrets[strings.ToLower(name)]; sec != nil {
		return sec.tags
	}
	return nil
}

// AddForeign creates a secret without tags.
func (s *Azure) AddForeign(name, value string) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.secrets[strings.ToLower(name)] = &azSecret{name: name, versions: []string{value}}
}
