package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/git-vsync/git-vsync/internal/fanout/fanouttest"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// TestSyncScripts runs the `sync` scripts against in-process GitHub and Vault
// servers (TLS, trusted by the git-vsync child processes through SSL_CERT_FILE and
// VAULT_CACERT). `fanout gh|vault NAME` prints what the server holds under NAME, so
// a script can check the values that landed without ever printing one itself.
func TestSyncScripts(t *testing.T) {
	p := scriptParams(t, "testdata/sync")
	setup := p.Setup
	servers := map[string]func() map[string]string{}
	p.Setup = func(e *testscript.Env) error {
		if err := setup(e); err != nil {
			return err
		}
		gh := fanouttest.NewGitHub(t, "acme/web", "prod")
		vs := fanouttest.NewVault(t, "secret")
		vs.Path = "web/prod"
		var pems []byte
		for _, f := range []string{fanouttest.CAFile(t, gh.Server), fanouttest.CAFile(t, vs.Server)} {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			pems = append(pems, b...)
		}
		ca := filepath.Join(e.WorkDir, ".home", "ca.pem")
		if err := os.WriteFile(ca, pems, 0o600); err != nil {
			return err
		}
		e.Setenv("SSL_CERT_FILE", ca)
		e.Setenv("VAULT_CACERT", ca)
		e.Setenv("GITHUB_API_URL", gh.URL)
		e.Setenv("GH_TOKEN", gh.Token)
		e.Setenv("VAULT_ADDR_TEST", vs.URL)
		e.Setenv("VAULT_TOKEN", vs.Token)
		e.Setenv("VAULT_NAMESPACE", vs.Namespace)
		servers[e.WorkDir+"/gh"] = gh.Values
		servers[e.WorkDir+"/vault"] = vs.Values
		e.Values["workdir"] = e.WorkDir
		return nil
	}
	p.Cmds["fanout"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: fanout gh|vault NAME")
		}
		values := servers[ts.Value("workdir").(string)+"/"+args[0]]
		if values == nil {
			ts.Fatalf("no server %s", args[0])
		}
		v, ok := values()[args[1]]
		if neg {
			if ok {
				ts.Fatalf("%s holds %s", args[0], args[1])
			}
			return
		}
		if !ok {
			ts.Fatalf("%s does not hold %s", args[0], args[1])
		}
		ts.Stdout().Write([]byte(strings.TrimSuffix(v, "\n") + "\n"))
	}
	testscript.Run(t, p)
}

// TestSyncAWSScripts runs the AWS `sync` scripts against a real moto_server. The
// git-vsync child processes find it the way a user's would: the default AWS chain
// (static keys in the environment) and AWS_ENDPOINT_URL_SECRETS_MANAGER.
// `awssecret NAME` prints the current value of a secret, `! awssecret NAME` checks
// that it is gone.
func TestSyncAWSScripts(t *testing.T) {
	moto := testenv.MotoServer(t)
	p := scriptParams(t, "testdata/sync-aws")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		if err := setup(e); err != nil {
			return err
		}
		e.Setenv("AWS_ACCESS_KEY_ID", "testing")
		e.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
		e.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		e.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.Endpoint)
		return nil
	}
	sm := secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(moto.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	p.Cmds["awssecret"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: awssecret NAME")
		}
		out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(args[0])})
		if neg {
			if err == nil {
				ts.Fatalf("secret %s exists", args[0])
			}
			return
		}
		ts.Check(err)
		ts.Stdout().Write([]byte(aws.ToString(out.SecretString) + "\n"))
	}
	testscript.Run(t, p)
}
