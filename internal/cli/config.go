package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// ConfigCmd is `git vsync config <env> [show | set KEY [VALUE] | unset KEY]`.
type ConfigCmd struct {
	Env       string `arg:"" help:"Environment whose config to show or change."`
	Action    string `arg:"" optional:"" enum:"show,set,unset" default:"show" help:"show (default), set or unset."`
	Key       string `arg:"" optional:"" help:"The setting, e.g. s3.endpoint (see the list below)."`
	Value     string `arg:"" optional:"" help:"The new value (not for s3.secretAccessKey: use --value-file)."`
	ValueFile string `name:"value-file" help:"Read the value from this file, or from standard input with -." placeholder:"FILE"`
	Profile   string `help:"With set: copy the store and credentials of this saved profile (again), then apply KEY if given." placeholder:"NAME"`
}

// Help is shown by `git vsync config --help`.
func (ConfigCmd) Help() string {
	var b strings.Builder
	b.WriteString(`Shows or changes the disk half of an environment (~/.config/vsync/<repo>/env_<env>):
where its store is and which credentials reach it. The file is rewritten
atomically; the salt, the key history and every setting git vsync does not know
are kept. The new store settings must parse before anything is written.

Secrets never come from the command line: s3.secretAccessKey is read with
--value-file FILE or --value-file - (standard input). When the config holds no
keys (unset s3.accessKeyId drops both), the credentials come from the standard AWS chain: environment
variables, shared profiles (AWS_PROFILE, ~/.aws), SSO, web identity, instance role.

After moving an env to another store, push it there, and send teammates a new
share (git vsync export) or the same config set command.

Settings:
`)
	for _, k := range app.ConfigKeys {
		fmt.Fprintf(&b, "  %-19s %s\n", k.Name, k.Help)
	}
	b.WriteString(`
Examples:
  git vsync config dev
  git vsync config dev set s3.endpoint https://minio.internal:9000
  git vsync config dev set --profile team          # re-apply a saved profile
  git vsync config dev set s3.accessKeyId AKIA…
  git vsync config dev set s3.secretAccessKey --value-file ~/secret.txt
  pass show s3/secret | git vsync config dev set s3.secretAccessKey --value-file -
  git vsync config dev unset s3.accessKeyId      # no keys: use the AWS chain`)
	return b.String()
}

// Run shows or changes the config.
func (c *ConfigCmd) Run(ctx *Ctx) error {
	switch c.Action {
	case "show":
		if c.Key != "" || c.ValueFile != "" || c.Profile != "" {
			return fail.New(fail.Usage, "use `git vsync config "+c.Env+" set KEY VALUE` to change a setting", "show takes no key, value or flags")
		}
		return c.show(ctx)
	case "unset":
		if c.Key == "" || c.Value != "" || c.ValueFile != "" || c.Profile != "" {
			return fail.New(fail.Usage, "e.g. `git vsync config "+c.Env+" unset s3.accessKeyId`", "unset takes exactly one key")
		}
		return c.apply(ctx, app.ConfigChange{Key: c.Key, Unset: true})
	}
	if c.Key == "" && c.Profile == "" {
		return fail.New(fail.Usage, "e.g. `git vsync config "+c.Env+" set s3.endpoint https://host:9000` or `git vsync config "+c.Env+" set --profile NAME`", "set needs a key, or --profile")
	}
	ch := app.ConfigChange{Profile: c.Profile, Key: c.Key, Value: c.Value}
	if c.Key != "" {
		v, err := c.value(ctx)
		if err != nil {
			return err
		}
		ch.Value = v
	}
	return c.apply(ctx, ch)
}

// value is the new value: argv for plain settings, a file or stdin for secrets.
func (c *ConfigCmd) value(ctx *Ctx) (string, error) {
	secret := app.ConfigKeySecret(c.Key)
	switch {
	case c.ValueFile != "" && c.Value != "":
		return "", fail.New(fail.Usage, "give the value once", "both a value and --value-file")
	case c.ValueFile == "-":
		return ctx.App.ReadSecretStdin(ctx.Stdin, c.Key)
	case c.ValueFile != "":
		return ctx.App.ReadSecretFile(c.ValueFile, c.Key)
	case secret:
		// Refused even when given: a secret in argv shows in the process list and
		// the shell history.
		return "", fail.New(fail.Usage, "pass --value-file FILE, or --value-file - and the secret on standard input",
			"%s is a secret and is never read from the command line", c.Key)
	}
	return c.Value, nil
}

func (c *ConfigCmd) apply(ctx *Ctx, ch app.ConfigChange) error {
	res, err := ctx.App.ConfigSet(ctx.Target(), c.Env, ch)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		ctx.Warnf("%s", w)
	}
	if !res.Changed {
		ctx.Infof("%s: nothing changed (%s)", c.Env, res.Path)
		return nil
	}
	ctx.Infof("%s: config updated (%s)", c.Env, res.Path)
	if res.Chain {
		ctx.Infof("  credentials  the AWS chain (no keys in the config)")
	}
	if res.StoreChanged {
		ctx.Infof("  the store moved: run `git vsync push %s` to publish the vault there, and give teammates a new share (`git vsync export %s`)", c.Env, c.Env)
	}
	return nil
}

func (c *ConfigCmd) show(ctx *Ctx) error {
	s, err := ctx.App.ConfigShowEnv(ctx.Target(), c.Env)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(ctx.Stdout, 0, 0, 2, ' ', 0)
	from := s.Path
	if s.Source == app.ConfigSourceEnv {
		from = "the VSYNC_CONFIG token in the environment"
	}
	fmt.Fprintf(tw, "config\t%s\n", from)
	for _, kv := range s.Settings {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}
