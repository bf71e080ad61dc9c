package cli

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// TestS3IAMScripts runs the scripts that need least-privilege keys: a versitygw
// with its internal IAM. Each script gets a bucket ($S3_STORE, root credentials in
// AWS_*), a repository name $RO_REPO, and a user ($RO_ACCESS_KEY, $RO_SECRET_KEY)
// that the bucket policy lets read env dev of $RO_REPO, exactly as the policy
// `export --ci-token` prints says, and nothing else.
func TestS3IAMScripts(t *testing.T) {
	g := testenv.StartVersitygwIAM(t)
	p := scriptParams(t, "testdata/s3iam")
	setup := p.Setup
	n := 0
	p.Setup = func(e *testscript.Env) error {
		if err := setup(e); err != nil {
			return err
		}
		bucket, err := g.CreateBucket()
		if err != nil {
			return err
		}
		n++
		repo := fmt.Sprintf("ro%d_%s", n, e.Getenv("UNIQ"))
		access, secret := fmt.Sprintf("reader%d%s", n, bucket), "rs-"+bucket
		if err := g.CreateUser(access, secret); err != nil {
			return err
		}
		if err := g.PutBucketPolicy(bucket, withPrincipal(store.ReadOnlyPolicy(bucket, store.EnvLayout(repo, "dev")), access)); err != nil {
			return err
		}
		for k, v := range map[string]string{
			"S3_ENDPOINT": g.Endpoint, "S3_BUCKET": bucket, "S3_STORE": g.Endpoint + "/" + bucket,
			"AWS_ACCESS_KEY_ID": g.AccessKey, "AWS_SECRET_ACCESS_KEY": g.SecretKey, "AWS_REGION": g.Region,
			"RO_REPO": repo, "RO_ACCESS_KEY": access, "RO_SECRET_KEY": secret,
		} {
			e.Setenv(k, v)
		}
		return nil
	}
	testscript.Run(t, p)
}

// withPrincipal turns the IAM policy `export --ci-token` prints into a bucket
// policy for one user (versitygw has bucket policies, not user policies).
func withPrincipal(policy, user string) string {
	var p map[string]any
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		panic(err)
	}
	for _, s := range p["Statement"].([]any) {
		s.(map[string]any)["Principal"] = map[string]any{"AWS": []string{user}}
	}
	out, _ := json.Marshal(p)
	return string(out)
}
