package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// ConfigKeys are the keys `git vsync config <env> set` changes, in the names of
// the config file (SPEC §1.1). Secret says the value may not come from argv.
var ConfigKeys = []struct {
	Name, Help string
	Secret     bool
}{
	{"s3.endpoint", "https://host[:port], http://host:port or file:///folder; empty for AWS S3 of s3.region", false},
	{"s3.region", "the S3 region", false},
	{"s3.bucket", "the bucket name", false},
	{"s3.useSsl", "true or false: the scheme for an endpoint written without one", false},
	{"s3.accessKeyId", "the access key id; unset drops both keys, and the AWS chain is used", false},
	{"s3.secretAccessKey", "the secret key: from --value-file FILE or --value-file - (stdin), never the command line", true},
	{"audit.enabled", "true or false: write audit rows in the bucket", false},
}

// ConfigKeySecret reports whether key is a secret (never accepted from argv).
func ConfigKeySecret(key string) bool {
	for _, k := range ConfigKeys {
		if k.Name == key {
			return k.Secret
		}
	}
	return false
}

func configKeyNames() string {
	var n []string
	for _, k := range ConfigKeys {
		n = append(n, k.Name)
	}
	return strings.Join(n, ", ")
}

// ConfigChange is one `config set` (or unset) call.
type ConfigChange struct {
	Profile string // copy endpoint, region, bucket and keys from this profile first
	Key     string // "" with only Profile
	Value   string
	Unset   bool
}

// ConfigSetResult says what changed.
type ConfigSetResult struct {
	Path         string
	Changed      bool
	StoreChanged bool // endpoint or bucket moved: the versions are not there yet
	Chain        bool // no static keys: credentials come from the AWS chain
	Warnings     []string
}

// ConfigSet rewrites the disk half of env: atomically, keeping the salt, the key
// history and every key it does not know. The new store settings are checked
// (they must parse) before anything is written; nothing is written when nothing
// changes.
func (a *App) ConfigSet(target *Target, env string, ch ConfigChange) (*ConfigSetResult, error) {
	if err := CheckEnv(env); err != nil {
		return nil, err
	}
	w, err := target.Get()
	if err != nil {
		return nil, err
	}
	path := w.ConfigPath(env)
	c, err := config.Load(path)
	if errors.Is(err, config.ErrNotFound) {
		return nil, fail.New(fail.NotSetUp, "run `git vsync init "+env+"` or `git vsync import "+env+" FILE.share` first",
			"no config for %s/%s on this machine (%s)", w.ID.Name, env, path)
	}
	if err != nil {
		return nil, err
	}
	before, err := c.JSON()
	if err != nil {
		return nil, err
	}
	old := c.S3
	res := &ConfigSetResult{Path: path}
	if ch.Profile != "" {
		p, err := a.ProfileShow(ch.Profile)
		if err != nil {
			return nil, err
		}
		c.S3.Endpoint, c.S3.Region, c.S3.Bucket = p.Endpoint, p.Region, p.Bucket
		c.S3.AccessKeyID, c.S3.SecretAccessKey = p.AccessKeyID, p.SecretAccessKey
		c.S3.UseSSL = nil // derived from the profile's endpoint
		c.InitProfile = ch.Profile
	}
	if ch.Key != "" {
		if err := setConfigKey(c, ch); err != nil {
			return nil, err
		}
	}
	if (c.S3.AccessKeyID == "") != (c.S3.SecretAccessKey == "") {
		res.Warnings = append(res.Warnings, "the config holds only one of s3.accessKeyId and s3.secretAccessKey: set the other one too (`git vsync config "+env+" set …`)")
	}
	if _, err := OpenStore(c); err != nil {
		return nil, fail.Wrap(fail.Usage, errors.Unwrap(err), "check the value; `git vsync config "+env+" show` prints the current settings", "the new store settings are invalid; nothing was written")
	}
	after, err := c.JSON()
	if err != nil {
		return nil, err
	}
	res.Chain = c.S3.AccessKeyID == ""
	if string(after) == string(before) {
		return res, nil
	}
	if err := c.Save(path); err != nil {
		return nil, fail.Wrap(fail.Failure, err, "check the permissions of "+path, "write the config")
	}
	res.Changed = true
	res.StoreChanged = c.S3.Endpoint != old.Endpoint || c.S3.Bucket != old.Bucket
	if name, v := configTokenVar(env, a.Getenv); v != "" {
		res.Warnings = append(res.Warnings, name+" is set in this environment and wins over the config file")
	}
	return res, nil
}

// setConfigKey applies one key of ConfigKeys to c.
func setConfigKey(c *config.File, ch ConfigChange) error {
	boolean := func() (*bool, error) {
		if ch.Unset {
			return nil, nil
		}
		switch strings.ToLower(ch.Value) {
		case "true":
			t := true
			return &t, nil
		case "false":
			f := false
			return &f, nil
		}
		return nil, fail.New(fail.Usage, "use true or false", "%s takes true or false, not %q", ch.Key, ch.Value)
	}
	v := ch.Value
	if ch.Unset {
		v = ""
	}
	var err error
	switch ch.Key {
	case "s3.endpoint":
		c.S3.Endpoint = strings.TrimSpace(v)
		if strings.Contains(c.S3.Endpoint, "://") || c.S3.Endpoint == "" {
			// The scheme decides; useSsl is written to match it.
			c.S3.UseSSL = nil
		}
	case "s3.region":
		c.S3.Region = strings.TrimSpace(v)
	case "s3.bucket":
		if ch.Unset || strings.TrimSpace(v) == "" {
			return fail.New(fail.Usage, "name the bucket", "s3.bucket cannot be empty")
		}
		c.S3.Bucket = strings.TrimSpace(v)
	case "s3.useSsl":
		c.S3.UseSSL, err = boolean()
	case "s3.accessKeyId", "s3.secretAccessKey":
		if ch.Unset {
			// One key alone is useless: unsetting either drops both, and the AWS
			// chain takes over.
			c.S3.AccessKeyID, c.S3.SecretAccessKey = "", ""
		} else if ch.Key == "s3.accessKeyId" {
			c.S3.AccessKeyID = strings.TrimSpace(v)
		} else {
			c.S3.SecretAccessKey = v
		}
	case "audit.enabled":
		c.AuditEnabled, err = boolean()
	default:
		return fail.New(fail.Usage, "the keys are "+configKeyNames(), "unknown config key %q", ch.Key)
	}
	return err
}

// ConfigShow is the disk half of env for display: secrets masked.
type ConfigShow struct {
	Path     string
	Source   string      // file or env
	Settings [][2]string // key, value
}

// ConfigShowEnv reads the config of env (the runtime token when one is set) and
// lists its settings without any secret.
func (a *App) ConfigShowEnv(target *Target, env string) (*ConfigShow, error) {
	if err := CheckEnv(env); err != nil {
		return nil, err
	}
	w, err := target.Get()
	if err != nil {
		return nil, err
	}
	c, src, err := w.LoadConfigSource(env)
	if err != nil {
		return nil, err
	}
	creds := "static keys in the config"
	if c.S3.AccessKeyID == "" && c.S3.SecretAccessKey == "" {
		creds = "the AWS chain (environment, shared profiles, SSO, web identity, instance role)"
	}
	secret := "(not set)"
	if c.S3.SecretAccessKey != "" {
		secret = "(set, hidden)"
	}
	audit := "true"
	if !c.Audit() {
		audit = "false"
	}
	out := &ConfigShow{Path: w.ConfigPath(env), Source: src, Settings: [][2]string{
		{"s3.endpoint", c.S3.Endpoint},
		{"s3.region", c.S3.Region},
		{"s3.bucket", c.S3.Bucket},
		{"s3.useSsl", fmt.Sprint(c.S3.SSL())},
		{"s3.accessKeyId", c.S3.AccessKeyID},
		{"s3.secretAccessKey", secret},
		{"credentials", creds},
		{"files.vaultFolder", c.Vault(env)},
		{"audit.enabled", audit},
		{"initProfile", c.InitProfile},
		{"previousKeys", fmt.Sprint(len(c.PreviousKeys))},
	}}
	return out, nil
}
