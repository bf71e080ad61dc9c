package app

import (
	"strings"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope/cfgtoken"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/store"
)

// Where an env's config came from, as status reports it.
const (
	ConfigSourceFile = "file"
	ConfigSourceEnv  = "env"
)

// configTokenVar returns the name and value of the runtime token variable that
// applies to env: VSYNC_CONFIG_<ENV> first, then VSYNC_CONFIG (SPEC §4.6), like
// the key variables of SPEC §1.3.
func configTokenVar(env string, getenv func(string) string) (name, value string) {
	if getenv == nil {
		return "", ""
	}
	specific := "VSYNC_CONFIG_" + strings.TrimPrefix(keychain.EnvVar(env), "VSYNC_KEY_")
	for _, n := range []string{specific, "VSYNC_CONFIG"} {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return n, v
		}
	}
	return "", ""
}

// configFromToken turns a runtime token into the disk half of (repoName, env). A
// token for another env or repository, or with a KDF cost other than the wire's,
// is refused rather than used against the wrong prefix.
func configFromToken(varName, value, repoName, env string) (*config.File, error) {
	t, err := cfgtoken.Decode(value)
	if err != nil {
		return nil, fail.Envelope(err,
			"set "+varName+" to the output of `git vsync export "+env+" --ci-token`, or unset it to use the config file",
			"%s is not a usable runtime config", varName)
	}
	hint := "generate the token for this env with `git vsync export " + env + " --ci-token`, or unset " + varName
	if t.Env != "" && t.Env != env {
		return nil, fail.New(fail.NotSetUp, hint, "%s holds the config of env %q, not %q", varName, t.Env, env)
	}
	if want := store.EnvLayout(repoName, env).Prefix; t.Prefix != "" && t.Prefix != want {
		return nil, fail.New(fail.NotSetUp, hint+" (or pass --repo if this repository's identity is wrong)",
			"%s is for bucket prefix %q, but this repository's env is %q", varName, t.Prefix, want)
	}
	if t.Iterations != kdf.Iterations {
		return nil, fail.New(fail.NotSetUp, hint, "%s asks for %d PBKDF2 iterations; the format fixes %d", varName, t.Iterations, kdf.Iterations)
	}
	c, err := config.ParseJSON([]byte(`{"version":1,"s3":{"bucket":"-"},"encryption":{"salt":"-"}}`))
	if err != nil {
		return nil, err
	}
	c.S3 = config.S3{Endpoint: t.Endpoint, Region: t.Region, Bucket: t.Bucket, AccessKeyID: t.AccessKeyID, SecretAccessKey: t.SecretAccessKey}
	c.Salt = t.Salt
	c.Prefix = t.Prefix
	if c.S3.Bucket == "" {
		return nil, fail.New(fail.NotSetUp, hint, "%s names no bucket", varName)
	}
	return c, nil
}
