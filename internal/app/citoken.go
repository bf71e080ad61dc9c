package app

import (
	"context"
	"errors"
	"strings"

	"github.com/git-vsync/git-vsync/internal/envelope/cfgtoken"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/published"
	"github.com/git-vsync/git-vsync/internal/store"
)

// CICredentials are other bucket credentials for a runtime token (typically a
// read-only key): from a saved profile, or given directly. The zero value keeps
// the env's own credentials.
type CICredentials struct {
	Profile         string
	AccessKeyID     string
	SecretAccessKey string
}

func (c CICredentials) other() bool { return c.Profile != "" || c.AccessKeyID != "" }

// CITokenResult is a minted runtime token and what to tell about it.
type CITokenResult struct {
	Token  string
	Prefix string // the env's bucket prefix
	Own    bool   // the env's own (read-write) credentials
	Policy string // the IAM policy a read-only key for this env needs
	// Checked says whether the token's credentials could read the env's latest
	// pointer (only checked for other credentials); CheckErr is why not.
	Checked  bool
	CheckErr error
}

// MintCIToken is the runtime token of env (SPEC §4.6), with the env's own bucket
// credentials or, with cr, other ones for the same bucket, so that CI and servers
// can hold a key that may only read this env (least privilege; the reference
// tool's runtime-token does the same). A token with other credentials is tried
// once: reading `latest` with them tells a typo from a working key.
func (a *App) MintCIToken(ctx context.Context, target *Target, env string, cr CICredentials) (*CITokenResult, error) {
	e, err := a.OpenEnv(target, env)
	if err != nil {
		return nil, err
	}
	c := e.Config
	t := cfgtoken.Token{
		V: cfgtoken.Version, Endpoint: c.S3.Endpoint, Region: c.S3.Region, Bucket: c.S3.Bucket,
		AccessKeyID: c.S3.AccessKeyID, SecretAccessKey: c.S3.SecretAccessKey,
		Prefix: e.Prefix(), Env: env, Salt: c.Salt, Iterations: kdf.Iterations,
	}
	res := &CITokenResult{Prefix: e.Prefix(), Own: !cr.other(), Policy: store.ReadOnlyPolicy(c.S3.Bucket, e.Layout())}
	switch {
	case cr.Profile != "":
		p, err := a.ProfileShow(cr.Profile)
		if err != nil {
			return nil, err
		}
		if p.Bucket != c.S3.Bucket || (p.Endpoint != "" && normEndpoint(p.Endpoint) != normEndpoint(c.S3.Endpoint)) {
			return nil, fail.New(fail.Usage, "use a profile of the env's own bucket, or pass --access-key-id-file and --secret-access-key-file",
				"profile %s is for bucket %q at %s; env %s uses bucket %q at %s", cr.Profile, p.Bucket, p.Endpoint, env, c.S3.Bucket, c.S3.Endpoint)
		}
		t.AccessKeyID, t.SecretAccessKey = p.AccessKeyID, p.SecretAccessKey
	case cr.AccessKeyID != "" || cr.SecretAccessKey != "":
		if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
			return nil, fail.New(fail.Usage, "pass both --access-key-id-file and --secret-access-key-file", "a key needs both its access key id and its secret")
		}
		t.AccessKeyID, t.SecretAccessKey = cr.AccessKeyID, cr.SecretAccessKey
	}
	if res.Token, err = cfgtoken.Encode(t); err != nil {
		return nil, err
	}
	if !res.Own {
		st, err := store.Open(store.Config{Endpoint: t.Endpoint, Region: t.Region, Bucket: t.Bucket,
			AccessKeyID: t.AccessKeyID, SecretAccessKey: t.SecretAccessKey, UseSSL: c.S3.UseSSL})
		if err == nil {
			_, _, err = published.Latest(ctx, st, e.Layout())
		}
		if errors.Is(err, published.ErrNoVersion) {
			err = nil
		}
		res.Checked, res.CheckErr = err == nil, err
	}
	return res, nil
}

// normEndpoint compares endpoints without case, scheme default or trailing "/".
func normEndpoint(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/")
}

// CIToken is the runtime token of env with its own credentials.
func (a *App) CIToken(target *Target, env string) (string, error) {
	res, err := a.MintCIToken(context.Background(), target, env, CICredentials{})
	if err != nil {
		return "", err
	}
	return res.Token, nil
}
