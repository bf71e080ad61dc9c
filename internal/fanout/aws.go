package fanout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// AWS Secrets Manager through aws-sdk-go-v2 and its default config loader (the
// environment, shared profiles, SSO, web identity, IMDS), which also honours
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SECRETS_MANAGER. One secret per key, named
// secretPrefix + key, marked as ours with tags.
func init() {
	register(Spec{
		Name:  "aws",
		Title: "AWS Secrets Manager",
		Fields: []Field{
			{Key: "region", Flag: "aws-region"},
			{Key: "secretPrefix", Flag: "aws-secret-prefix"},
		},
		New: newAWS,
	})
}

const (
	awsMaxValue    = 64 << 10
	awsTagManaged  = "managed-by"
	awsTagOwner    = "git-vsync-owner"
	awsManagedBy   = "git-vsync"
	awsMaxAttempts = 5
)

var awsNameRE = lazyRE(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

type awsTarget struct {
	env    *Origin
	region string
	prefix string
	pl     *planner

	once   sync.Once
	client *secretsmanager.Client
	err    error
}

type awsState struct {
	owned map[string]bool
}

func newAWS(r Route, e *Origin) (Target, error) {
	prefix := r["secretPrefix"]
	if prefix != "" && !awsNameRE().MatchString(prefix) {
		return nil, fmt.Errorf("aws: secret prefix %q holds characters Secrets Manager does not allow", prefix)
	}
	t := &awsTarget{env: e, region: strings.TrimSpace(r["region"]), prefix: prefix}
	t.pl = &planner{keys: e.Keys, maxValue: awsMaxValue, mapName: func(k string) (string, string) {
		n := prefix + k
		if !awsNameRE().MatchString(n) {
			return "", "Secrets Manager names hold letters, digits and /_+=.@- (at most 512)"
		}
		return n, ""
	}}
	return t, nil
}

// api loads the default AWS configuration once (it may read files, call IMDS or SSO).
func (t *awsTarget) api(ctx context.Context) (*secretsmanager.Client, error) {
	t.once.Do(func() {
		var opts []func(*awsconfig.LoadOptions) error
		if t.region != "" {
			opts = append(opts, awsconfig.WithRegion(t.region))
		}
		if t.env.HTTP != nil {
			opts = append(opts, awsconfig.WithHTTPClient(t.env.HTTP))
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			t.err = fmt.Errorf("aws: load the AWS configuration: %w", err)
			return
		}
		if cfg.Region == "" {
			t.err = errors.New("aws: no region: pass --aws-region or set AWS_REGION")
			return
		}
		t.region = cfg.Region
		t.client = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			o.RetryMaxAttempts = awsMaxAttempts
		})
	})
	return t.client, t.err
}

func (t *awsTarget) where() string {
	w := "secretsmanager " + t.region
	if t.prefix != "" {
		w += " prefix " + t.prefix
	}
	return w
}

func (t *awsTarget) Plan(ctx context.Context, secrets []Secret, prune bool) (*Plan, error) {
	c, err := t.api(ctx)
	if err != nil {
		return nil, err
	}
	in := &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100)}
	if t.prefix != "" {
		in.Filters = []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{t.prefix}}}
	}
	st := &awsState{owned: map[string]bool{}}
	have := map[string]remote{}
	pager := secretsmanager.NewListSecretsPaginator(c, in)
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("aws: list secrets: %w", err)
		}
		for _, s := range page.SecretList {
			name := aws.ToString(s.Name)
			if !strings.HasPrefix(name, t.prefix) {
				continue // the name filter also matches words inside names
			}
			owned := false
			for _, tag := range s.Tags {
				if aws.ToString(tag.Key) == awsTagOwner && aws.ToString(tag.Value) == t.env.Owner() {
					owned = true
				}
			}
			st.owned[name] = owned
			have[name] = remote{owned: owned}
		}
	}
	want, invalid := t.pl.desired(secrets)
	err = compareValues(ctx, want, have, func(ctx context.Context, name string) ([]byte, string) {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		var rnf *smtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &rnf):
			return nil, "has no current value"
		case err != nil:
			return nil, "its value could not be read, so it is written"
		case out.SecretString != nil:
			return []byte(*out.SecretString), ""
		}
		return out.SecretBinary, ""
	})
	if err != nil {
		return nil, err
	}
	p := &Plan{Target: "aws", Where: t.where(), state: st}
	t.pl.compare(p, want, invalid, have, prune)
	return p, nil
}

func (t *awsTarget) tags() []smtypes.Tag {
	return []smtypes.Tag{
		{Key: aws.String(awsTagManaged), Value: aws.String(awsManagedBy)},
		{Key: aws.String(awsTagOwner), Value: aws.String(t.env.Owner())},
	}
}

func (t *awsTarget) Apply(ctx context.Context, p *Plan) (*Result, error) {
	if err := refuseInvalid(p); err != nil {
		return nil, err
	}
	st, ok := p.state.(*awsState)
	if !ok {
		return nil, errors.New("aws: plan from another target")
	}
	c, err := t.api(ctx)
	if err != nil {
		return nil, err
	}
	return each(ctx, p.Items, func(ctx context.Context, it Item) error {
		name := aws.String(it.Name)
		// Text values go in SecretString; other bytes (an inlined binary file) in
		// SecretBinary. The token makes a retried request idempotent.
		token := aws.String(t.env.Keys.Token(it.Name, it.value))
		var str *string
		var bin []byte
		if utf8.Valid(it.value) {
			str = aws.String(string(it.value))
		} else {
			bin = it.value
		}
		switch it.Action {
		case Delete:
			// The default recovery window (30 days) keeps a mistaken prune recoverable.
			_, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: name})
			return err
		case Create:
			_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name: name, SecretString: str, SecretBinary: bin, ClientRequestToken: token, Tags: t.tags(),
			})
			if err == nil {
				return nil
			}
			// A secret scheduled for deletion blocks its name (AWS answers
			// InvalidRequest, moto ResourceExists); anything else is an error.
			var ire *smtypes.InvalidRequestException
			var ree *smtypes.ResourceExistsException
			if !errors.As(err, &ire) && !errors.As(err, &ree) {
				return err
			}
			d, derr := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: name})
			if derr != nil || d.DeletedDate == nil {
				return err
			}
			// Scheduled for deletion (an earlier prune): bring it back, then write.
			if _, err := c.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: name}); err != nil {
				return err
			}
		}
		if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId: name, SecretString: str, SecretBinary: bin, ClientRequestToken: token,
		}); err != nil {
			return err
		}
		if !st.owned[it.Name] {
			_, err := c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: name, Tags: t.tags()})
			return err
		}
		return nil
	}), nil
}
