package fanouttest

import (
	"encoding/base64"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// GCP is an in-process Secret Manager (REST v1) with an OAuth token endpoint, so
// Application Default Credentials of type authorized_user can be pointed at it.
// Every addVersion must carry a matching dataCrc32c; access answers with one.
type GCP struct {
	*httptest.Server
	Project     string
	AccessToken string
	fake
	secrets map[string]*gcpSecret
	BadCRC  int // addVersion requests refused for a wrong or missing CRC32C
}

type gcpSecret struct {
	labels   map[string]string
	versions [][]byte
}

var gcpPath = regexp.MustCompile(`^/v1/projects/([^/]+)/secrets(?:/([^/:]+))?(?:(:addVersion)|/versions/latest(:access))?$`)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewGCP starts the server (plain HTTP on 127.0.0.1) for one project.
func NewGCP(t testing.TB, project string) *GCP {
	s := &GCP{Project: project, AccessToken: "ya29.test-token", secrets: map[string]*gcpSecret{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func gcpError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func (s *GCP) serve(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if r.URL.Path == "/token" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": s.AccessToken, "token_type": "Bearer", "expires_in": 3600})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.AccessToken {
		gcpError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return
	}
	m := gcpPath.FindStringSubmatch(r.URL.Path)
	if m == nil || m[1] != s.Project {
		gcpError(w, 404, "NOT_FOUND", "not found")
		return
	}
	id, add, access := m[2], m[3] != "", m[4] != ""
	w.Header().Set("Content-Type", "application/json")
	name := "projects/" + s.Project + "/secrets/" + id
	switch {
	case id == "" && r.Method == http.MethodGet:
		var ids []string
		for k := range s.secrets {
			ids = append(ids, k)
		}
		sort.Strings(ids)
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
		if size <= 0 {
			size = 25
		}
		var out []map[string]any
		for i := start; i < len(ids) && i < start+size; i++ {
			out = append(out, map[string]any{"name": "projects/" + s.Project + "/secrets/" + ids[i], "labels": s.secrets[ids[i]].labels, "replication": map[string]any{"automatic": map[string]any{}}})
		}
		resp := map[string]any{"secrets": out, "totalSize": len(ids)}
		if start+size < len(ids) {
			resp["nextPageToken"] = strconv.Itoa(start + size)
		}
		json.NewEncoder(w).Encode(resp)
	case id == "" && r.Method == http.MethodPost:
		sid := r.URL.Query().Get("secretId")
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`).MatchString(sid) {
			gcpError(w, 400, "INVALID_ARGUMENT", "bad secret id")
			return
		}
		if _, ok := s.secrets[sid]; ok {
			gcpError(w, 409, "ALREADY_EXISTS", "Secret ["+sid+"] already exists.")
			return
		}
		var body struct {
			Replication map[string]any    `json:"replication"`
			Labels      map[string]string `json:"labels"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Replication == nil {
			gcpError(w, 400, "INVALID_ARGUMENT", "replication is required")
			return
		}
		s.secrets[sid] = &gcpSecret{labels: body.Labels}
		s.nWrites++
		json.NewEncoder(w).Encode(map[string]any{"name": "projects/" + s.Project + "/secrets/" + sid, "labels": body.Labels})
	case id != "" && s.secrets[id] == nil:
		gcpError(w, 404, "NOT_FOUND", "Secret ["+name+"] not found.")
	case add && r.Method == http.MethodPost:
		var body struct {
			Payload struct {
				Data   string `json:"data"`
				CRC32C string `json:"dataCrc32c"`
			} `json:"payload"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			gcpError(w, 400, "INVALID_ARGUMENT", "bad body")
			return
		}
		data, err := base64.StdEncoding.DecodeString(body.Payload.Data)
		if err != nil || body.Payload.CRC32C != strconv.FormatUint(uint64(crc32.Checksum(data, castagnoli)), 10) {
			s.BadCRC++
			gcpError(w, 400, "INVALID_ARGUMENT", "Checksum mismatch.")
			return
		}
		sec := s.secrets[id]
		sec.versions = append(sec.versions, data)
		s.nWrites++
		json.NewEncoder(w).Encode(map[string]any{"name": name + "/versions/" + strconv.Itoa(len(sec.versions)), "state": "ENABLED"})
	case access && r.Method == http.MethodGet:
		sec := s.secrets[id]
		if len(sec.versions) == 0 {
			gcpError(w, 404, "NOT_FOUND", "Secret Version ["+name+"/versions/latest] not found.")
			return
		}
		data := sec.versions[len(sec.versions)-1]
		json.NewEncoder(w).Encode(map[string]any{"name": name + "/versions/" + strconv.Itoa(len(sec.versions)), "payload": map[string]any{
			"data": base64.StdEncoding.EncodeToString(data), "dataCrc32c": strconv.FormatUint(uint64(crc32.Checksum(data, castagnoli)), 10)}})
	case r.Method == http.MethodGet && !add && !access:
		json.NewEncoder(w).Encode(map[string]any{"name": name, "labels": s.secrets[id].labels, "replication": map[string]any{"automatic": map[string]any{}}})
	case r.Method == http.MethodPatch && r.URL.Query().Get("updateMask") == "labels":
		var body struct {
			Labels map[string]string `json:"labels"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			gcpError(w, 400, "INVALID_ARGUMENT", "bad body")
			return
		}
		s.secrets[id].labels = body.Labels
		json.NewEncoder(w).Encode(map[string]any{"name": name, "labels": body.Labels})
	case r.Method == http.MethodDelete:
		delete(s.secrets, id)
		s.nWrites++
		w.Write([]byte("{}"))
	default:
		gcpError(w, 400, "INVALID_ARGUMENT", "unsupported "+r.Method+" "+strings.TrimPrefix(r.URL.Path, "/v1"))
	}
}

// Values returns the latest version of every secret.
func (s *GCP) Values() map[string]string {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	out := map[string]string{}
	for id, sec := range s.secrets {
		if len(sec.versions) > 0 {
			out[id] = string(sec.versions[len(sec.versions)-1])
		}
	}
	return out
}

// Labels returns a secret's labels.
func (s *GCP) Labels(id string) map[string]string {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if sec := s.secrets[id]; sec != nil {
		return sec.labels
	}
	return nil
}

// Versions returns how many versions a secret has.
func (s *GCP) Versions(id string) int {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if sec := s.secrets[id]; sec != nil {
		return len(sec.versions)
	}
	return 0
}

// AddForeign creates a secret with one version and no labels.
func (s *GCP) AddForeign(name, value string) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.secrets[name] = &gcpSecret{versions: [][]byte{[]byte(value)}}
}
