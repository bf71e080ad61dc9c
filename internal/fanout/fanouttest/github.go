// Package fanouttest holds in-process servers that speak the documented REST APIs
// of the fan-out targets, for tests of internal/fanout and of the sync command.
// They check what a real service checks (credentials, key ids, cas, CRC32C) and
// keep what they were sent, so a test can assert the values that landed.
package fanouttest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/box"
)

// GitHub is an in-process GitHub REST API for environment secrets. It serves a
// fresh Curve25519 public key and opens every sealed value with box.OpenAnonymous,
// so a test sees exactly what GitHub would decrypt.
type GitHub struct {
	*httptest.Server
	pub, priv *[32]byte
	Token     string
	fake
	secrets  map[string]string
	Fail     map[string][]int // name → statuses to answer on the next PUTs
	Requests []string
}

func NewGitHub(t *testing.T, repo, env string) *GitHub {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &GitHub{pub: pub, priv: priv, Token: "ghp_test" + strconv.Itoa(int(pub[0])), secrets: map[string]string{}, Fail: map[string][]int{}}
	base := "/repos/" + repo + "/environments/" + env + "/secrets"
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Mu.Lock()
		defer s.Mu.Unlock()
		s.Requests = append(s.Requests, r.Method+" "+r.URL.Path)
		if r.Header.Get("Authorization") != "Bearer "+s.Token {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Bad credentials"}`))
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, base)
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"Not Found"}`))
			return
		}
		switch {
		case r.Method == http.MethodGet && rest == "/public-key":
			json.NewEncoder(w).Encode(map[string]string{"key_id": "kid-1", "key": base64.StdEncoding.EncodeToString(s.pub[:])})
		case r.Method == http.MethodGet && rest == "":
			per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			var names []string
			for n := range s.secrets {
				names = append(names, n)
			}
			sort.Strings(names)
			type sec struct {
				Name string `json:"name"`
			}
			out := struct {
				Total   int   `json:"total_count"`
				Secrets []sec `json:"secrets"`
			}{Total: len(names), Secrets: []sec{}}
			for i := (page - 1) * per; i < len(names) && i < page*per; i++ {
				out.Secrets = append(out.Secrets, sec{names[i]})
			}
			json.NewEncoder(w).Encode(out)
		case r.Method == http.MethodPut && strings.HasPrefix(rest, "/"):
			name := strings.ToUpper(rest[1:])
			if q := s.Fail[name]; len(q) > 0 {
				s.Fail[name] = q[1:]
				w.WriteHeader(q[0])
				w.Write([]byte(`{"message":"injected failure"}`))
				return
			}
			var body struct {
				EncryptedValue string `json:"encrypted_value"`
				KeyID          string `json:"key_id"`
			}
			if json.NewDecoder(r.Body).Decode(&body) != nil || body.KeyID != "kid-1" {
				w.WriteHeader(http.StatusUnprocessableEntity)
				return
			}
			sealed, err := base64.StdEncoding.DecodeString(body.EncryptedValue)
			if err != nil {
				w.WriteHeader(http.StatusUnprocessableEntity)
				return
			}
			plain, ok := box.OpenAnonymous(nil, sealed, s.pub, s.priv)
			if !ok {
				w.WriteHeader(http.StatusUnprocessableEntity)
				w.Write([]byte(`{"message":"cannot decrypt"}`))
				return
			}
			_, existed := s.secrets[name]
			s.secrets[name] = string(plain)
			s.nWrites++
			if existed {
				w.WriteHeader(http.StatusNoContent)
			} else {
				w.WriteHeader(http.StatusCreated)
			}
		case r.Method == http.MethodDelete && strings.HasPrefix(rest, "/"):
			delete(s.secrets, strings.ToUpper(rest[1:]))
			s.nWrites++
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *GitHub) Values() map[string]string {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	out := map[string]string{}
	for k, v := range s.secrets {
		out[k] = v
	}
	return out
}

func (s *GitHub) AddForeign(name, value string) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.secrets[name] = value
}

// Delete removes a secret as someone at GitHub would.
func (s *GitHub) Delete(name string) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	delete(s.secrets, name)
}
