package fanout

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fanout/fanouttest"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// gcpTestTarget reaches the fake through the real credential path: Application
// Default Credentials from GOOGLE_APPLICATION_CREDENTIALS (an authorized_user file
// whose token_uri is the fake's token endpoint), and the endpoint from gcloud's
// CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER.
func gcpTestTarget(t *testing.T, s *fanouttest.GCP) Target {
	t.Helper()
	adc := filepath.Join(t.TempDir(), "adc.json")
	b, _ := json.Marshal(map[string]string{
		"type": "authorized_user", "client_id": "test-client", "client_secret": "test-secret",
		"refresh_token": "test-refresh", "token_uri": s.URL + "/token",
	})
	if err := os.WriteFile(adc, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", adc)
	e := testEnv(map[string]string{"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": s.URL + "/"})
	tg, err := Open("gcp", Route{"project": s.Project}, e)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestGCPScenario(t *testing.T) {
	s := fanouttest.NewGCP(t, "acme-prod")
	tg := gcpTestTarget(t, s)
	scenario(t, tg, s, func(k string) string { return k }, "bad.name", gcpMaxValue)
	if l := s.Labels("API_TOKEN"); l[gcpLabelOwner] != "acme_web_prod" || l[gcpLabelManaged] != "git-vsync" {
		t.Fatalf("labels %v", l)
	}
	if l := s.Labels("FOREIGN"); len(l) != 0 {
		t.Fatalf("foreign secret relabelled: %v", l)
	}
	// Two writes of API_TOKEN, one of DB_URL: unchanged keys got no new version.
	if s.Versions("API_TOKEN") != 2 || s.Versions("DB_URL") != 1 || s.BadCRC != 0 {
		t.Fatalf("versions %d %d, bad CRC %d", s.Versions("API_TOKEN"), s.Versions("DB_URL"), s.BadCRC)
	}
}

// A secret someone else made with the same id is taken over: new version, labels
// added to theirs.
func TestGCPAdopt(t *testing.T) {
	s := fanouttest.NewGCP(t, "acme-prod")
	tg := gcpTestTarget(t, s)
	s.AddForeign("SHARED", "theirs")
	mustApply(t, tg, mustPlan(t, tg, secretsOf("SHARED", "ours-now"), true, "update=1"))
	if s.Labels("SHARED")[gcpLabelOwner] != "acme_web_prod" || s.Values()["SHARED"] != "ours-now" {
		t.Fatalf("not adopted: %v", s.Labels("SHARED"))
	}
}

// The real gcloud CLI against the same fake: it reads what git-vsync wrote (and
// checks the CRC32C of the answer), and what gcloud writes, git-vsync plans as
// unchanged — so the fake speaks the wire shapes of the real API.
func TestGCPWithGcloud(t *testing.T) {
	// A real component: skips on a laptop without it, fails under CI=true.
	gcloud := testenv.NeedCommand(t, "gcloud")
	s := fanouttest.NewGCP(t, "acme-prod")
	tg := gcpTestTarget(t, s)
	mustApply(t, tg, mustPlan(t, tg, secretsOf("API_TOKEN", "tok-from-vsync\nline2"), false, "create=1"))

	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte(s.AccessToken), 0o600)
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(gcloud, append(args, "--project", s.Project, "--access-token-file", tokFile, "--quiet")...)
		cmd.Env = append(os.Environ(), "CLOUDSDK_CONFIG="+filepath.Join(dir, "cfg"),
			"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER="+s.URL+"/", "CLOUDSDK_CORE_DISABLE_PROMPTS=1",
			"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true", "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			if testenv.InCI() {
				t.Fatalf("gcloud %v: %v\n%s", args, err, out)
			}
			t.Skipf("gcloud %v does not run here: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if got := run("", "secrets", "versions", "access", "latest", "--secret", "API_TOKEN"); got != "tok-from-vsync\nline2" {
		t.Fatalf("gcloud read %q", got)
	}
	if got := run("", "secrets", "describe", "API_TOKEN", "--format", "value(labels)"); !strings.Contains(got, "git-vsync-owner=acme_web_prod") {
		t.Fatalf("gcloud labels %q", got)
	}
	run("from-gcloud", "secrets", "create", "GC_MADE", "--data-file", "-", "--replication-policy", "automatic")
	mustPlan(t, tg, secretsOf("API_TOKEN", "tok-from-vsync\nline2", "GC_MADE", "from-gcloud"), false, "unchanged=2")
	if s.BadCRC != 0 {
		t.Fatalf("%d payloads failed the CRC32C check", s.BadCRC)
	}
}
