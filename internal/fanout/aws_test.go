package fanout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

// motoFake reads what a moto_server holds below a prefix, through the same SDK.
type motoFake struct {
	t      *testing.T
	c      *secretsmanager.Client
	prefix string
}

func (f *motoFake) names(planned bool) []string {
	var out []string
	p := secretsmanager.NewListSecretsPaginator(f.c, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(planned)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			f.t.Fatal(err)
		}
		for _, s := range page.SecretList {
			if n := aws.ToString(s.Name); strings.HasPrefix(n, f.prefix) {
				out = append(out, n)
			}
		}
	}
	return out
}

func (f *motoFake) Values() map[string]string {
	out := map[string]string{}
	for _, n := range f.names(false) {
		v, err := f.c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(n)})
		if err != nil {
			f.t.Fatal(err)
		}
		out[strings.TrimPrefix(n, f.prefix)] = aws.ToString(v.SecretString)
	}
	return out
}

// Writes counts secret versions and secrets scheduled for deletion: every write
// Secrets Manager keeps a trace of.
func (f *motoFake) Writes() int {
	n := 0
	live := map[string]bool{}
	for _, s := range f.names(false) {
		live[s] = true
	}
	for _, s := range f.names(true) {
		if !live[s] {
			n++
		}
		v, err := f.c.ListSecretVersionIds(context.Background(), &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(s), IncludeDeprecated: aws.Bool(true)})
		if err != nil {
			f.t.Fatal(err)
		}
		n += len(v.Versions)
	}
	return n
}

func (f *motoFake) AddForeign(name, value string) {
	_, err := f.c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(f.prefix + name), SecretString: aws.String(value)})
	if err != nil {
		f.t.Fatal(err)
	}
}

// awsTestTarget points the default AWS chain at moto through the standard
// variables (AWS_ENDPOINT_URL_SECRETS_MANAGER, static keys, no profiles).
func awsTestTarget(t *testing.T) (Target, *motoFake) {
	m := testenv.MotoServer(t)
	home := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", home+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", home+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", m.Endpoint)
	b := make([]byte, 4)
	rand.Read(b)
	prefix := "t" + hex.EncodeToString(b) + "/web/"
	tg, err := Open("aws", Route{"region": "eu-west-1", "secretPrefix": prefix}, testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	c, err := tg.(*awsTarget).api(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tg, &motoFake{t: t, c: c, prefix: prefix}
}

func TestAWSScenario(t *testing.T) {
	tg, f := awsTestTarget(t)
	scenario(t, tg, f, func(k string) string { return k }, "bad name", awsMaxValue)
	// Ours carry the owner tag; the foreign one has none.
	for _, n := range f.names(false) {
		d, err := f.c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(n)})
		if err != nil {
			t.Fatal(err)
		}
		owner := ""
		for _, tag := range d.Tags {
			if aws.ToString(tag.Key) == awsTagOwner {
				owner = aws.ToString(tag.Value)
			}
		}
		if want := map[bool]string{true: "", false: "acme_web/prod"}[strings.HasSuffix(n, "FOREIGN")]; owner != want {
			t.Fatalf("%s owner tag %q, want %q", n, owner, want)
		}
	}
}

// A pruned secret waits out its recovery window; syncing the key again restores it.
func TestAWSRecreateAfterPrune(t *testing.T) {
	tg, f := awsTestTarget(t)
	mustApply(t, tg, mustPlan(t, tg, secretsOf("K", "value-one"), false, "create=1"))
	mustApply(t, tg, mustPlan(t, tg, nil, true, "delete=1"))
	mustApply(t, tg, mustPlan(t, tg, secretsOf("K", "value-two"), false, "create=1"))
	wantValues(t, f, map[string]string{"K": "value-two"})
}
