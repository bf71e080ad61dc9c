package fanout

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/git-vsync/git-vsync/internal/fanout/fanouttest"
)

// staticCred is an azcore.TokenCredential with a fixed token (the fake checks it).
// The default chain is not used in tests: it would probe the managed-identity
// endpoint, an address outside this machine.
type staticCred struct {
	token  string
	scopes []string
}

func (c *staticCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.scopes = o.Scopes
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func azureTestTarget(t *testing.T, s *fanouttest.Azure) (Target, *staticCred) {
	e := testEnv(nil)
	e.HTTP = s.Client()
	cred := &staticCred{token: s.Token}
	e.Credentials = cred
	tg, err := Open("azure", Route{"vaultName": s.URL}, e)
	if err != nil {
		t.Fatal(err)
	}
	return tg, cred
}

func TestAzureScenario(t *testing.T) {
	s := fanouttest.NewAzure(t)
	tg, cred := azureTestTarget(t, s)
	// Stored names keep the key's case with '_' → '-'.
	scenario(t, tg, s, func(k string) string { return strings.ReplaceAll(k, "_", "-") }, "bad.name", azureMaxValue)
	if tags := s.Tags("API-TOKEN"); tags[azureTagOwner] != "acme_web/prod" || tags[azureTagKey] != "API_TOKEN" {
		t.Fatalf("tags %v", tags)
	}
	if len(s.Tags("FOREIGN")) != 0 {
		t.Fatal("foreign secret tagged")
	}
	if len(cred.scopes) != 1 || !strings.HasSuffix(cred.scopes[0], "/.default") {
		t.Fatalf("token scopes %v", cred.scopes)
	}
}

// Key Vault names are case-insensitive and have no '_': keys that meet are refused,
// a pruned (soft-deleted) secret is recovered when its key comes back, and lists
// are followed page by page.
func TestAzureNamesRecoverPaging(t *testing.T) {
	s := fanouttest.NewAzure(t)
	tg, _ := azureTestTarget(t, s)
	mustPlan(t, tg, secretsOf("DB_URL", "a", "db-url", "b", "OK", "c"), false, "create=1 invalid-name=2")

	var many []Secret
	for i := 0; i < 30; i++ {
		many = append(many, Secret{Key: "K" + strings.Repeat("X", i%3) + string(rune('A'+i%26)) + string(rune('a'+i/26)), Value: []byte("v")})
	}
	mustApply(t, tg, mustPlan(t, tg, many, false, "create=30"))
	mustPlan(t, tg, many, false, "unchanged=30")

	mustApply(t, tg, mustPlan(t, tg, many[1:], true, "unchanged=29 delete=1"))
	mustApply(t, tg, mustPlan(t, tg, many, true, "create=1 unchanged=29"))
	if len(s.Values()) != 30 {
		t.Fatalf("%d secrets after recovery", len(s.Values()))
	}
}

func TestAzureVaultNames(t *testing.T) {
	for v, ok := range map[string]bool{"acme-kv": true, "https://acme-kv.vault.azure.cn": true, "http://acme.example": false, "a": false, "https://x/y?z": false} {
		_, err := newAzure(Route{"vaultName": v}, testEnv(nil))
		if (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
	tg, _ := newAzure(Route{"vaultName": "https://acme-kv.vault.azure.cn"}, testEnv(nil))
	if s := tg.(*azureTarget).scope; s != "https://vault.azure.cn/.default" {
		t.Fatalf("sovereign scope %q", s)
	}
}
