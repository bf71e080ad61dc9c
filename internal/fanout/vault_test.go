package fanout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fanout/fanouttest"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

func TestVaultScenario(t *testing.T) {
	s := fanouttest.NewVault(t, "kv")
	s.Path = "web/prod"
	// The real credential and TLS path: VAULT_ADDR, the token file, the namespace
	// and the CA certificate all come from Vault's own variables.
	home := testenv.NewMachine(t).Home
	os.WriteFile(filepath.Join(home, ".vault-token"), []byte(s.Token+"\n"), 0o600)
	e := testEnv(map[string]string{"VAULT_ADDR": s.URL, "HOME": home, "VAULT_NAMESPACE": s.Namespace, "VAULT_CACERT": fanouttest.CAFile(t, s.Server)})
	tg, err := Open("vault", Route{"mount": "kv", "secretPath": "web/prod"}, e)
	if err != nil {
		t.Fatal(err)
	}
	scenario(t, tg, s, func(k string) string { return k }, "a,b", vaultMaxValue)
	meta := s.Meta["web/prod"]
	if meta[vaultMetaOwner] != "acme_web/prod" || meta[vaultMetaKeys] != "API_TOKEN,DB_URL" {
		t.Fatalf("custom_metadata %v", meta)
	}
}

// A write that raced another writer fails on cas and overwrites nothing.
func TestVaultCASConflict(t *testing.T) {
	s := fanouttest.NewVault(t, "secret")
	s.Path = "app"
	e := testEnv(map[string]string{"VAULT_TOKEN": s.Token, "VAULT_NAMESPACE": s.Namespace, "VAULT_CACERT": fanouttest.CAFile(t, s.Server)})
	tg, err := Open("vault", Route{"addr": s.URL, "secretPath": "app"}, e)
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, tg, secretsOf("K", "v1-value"), false, "create=1")
	s.AddForeign("OTHER", "theirs")
	res, err := tg.Apply(t.Context(), p)
	if err != nil || len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Err, "someone else wrote") {
		t.Fatalf("cas conflict: %+v %v", res, err)
	}
	wantValues(t, s, map[string]string{"OTHER": "theirs"})
	// Without the CA the TLS handshake fails: no silent trust.
	e2 := testEnv(map[string]string{"VAULT_TOKEN": s.Token})
	tg2, _ := Open("vault", Route{"addr": s.URL, "secretPath": "app"}, e2)
	if _, err := tg2.Plan(t.Context(), nil, false); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server: %v", err)
	}
}

// A failed write whose error quotes the values sent (a careless server or proxy)
// does not print them: the one write for all keys is redacted like the writes
// per key of the other targets.
func TestVaultWriteErrorDoesNotQuoteValues(t *testing.T) {
	s := fanouttest.NewVault(t, "secret")
	s.Path = "app"
	s.EchoWrites = true
	e := testEnv(map[string]string{"VAULT_TOKEN": s.Token, "VAULT_NAMESPACE": s.Namespace, "VAULT_CACERT": fanouttest.CAFile(t, s.Server)})
	tg, err := Open("vault", Route{"addr": s.URL, "secretPath": "app"}, e)
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, tg, secretsOf("K", "s3cr3t-one", "L", "s3cr3t-two"), false, "create=2")
	res, err := tg.Apply(t.Context(), p)
	if err != nil || len(res.Failed) != 2 {
		t.Fatalf("echoing server: %+v %v", res, err)
	}
	for _, f := range res.Failed {
		if strings.Contains(f.Err, "s3cr3t") || !strings.Contains(f.Err, "[value]") {
			t.Errorf("failure of %s: %q", f.Name, f.Err)
		}
	}
}
