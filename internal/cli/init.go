package cli

import "github.com/git-vsync/git-vsync/internal/app"

// InitCmd is `git vsync init`.
type InitCmd struct {
	Env         string `arg:"" help:"Environment name, e.g. dev or prod."`
	Profile     string `help:"Copy the bucket and credentials from a saved profile (git vsync profile list)." placeholder:"NAME"`
	Store       string `help:"Where bundles go: file:///path/to/folder[#bucket], https://host[:port]/bucket or s3://bucket. S3 keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are copied into the config; without them the AWS chain (AWS_PROFILE, SSO, instance role) is used at run time. Default: a folder on this machine." placeholder:"URL"`
	Region      string `help:"S3 region (default AWS_REGION, else us-east-1)."`
	VaultFolder string `help:"Vault folder relative to the repository top (default infra/vault/<env>)." placeholder:"PATH"`
	Audit       string `help:"Write an audit log in the bucket: on or off (default on)." enum:"on,off," default:""`
	NoHooks     bool   `help:"Do not install the git hooks."`
	NoGitignore bool   `name:"no-gitignore" help:"Do not add the vault folder to .gitignore."`
	ForceNewKey bool   `name:"force-new-key" help:"Start the env over with a new key although the store already holds it (teammates then need a new share from you)."`
	MigrateFrom string `name:"migrate-from" help:"Move this existing dotenv file (or the .env.<env> in this folder) into the new vault as .env.<env>." placeholder:"PATH"`
	AdoptKey    bool   `name:"adopt-key" help:"Keep the key already in the keychain and write a config around it (after the config folder was lost); checks that it opens the latest version."`
}

// Help is shown by `git vsync init --help`.
func (InitCmd) Help() string {
	return `Creates both halves of an environment on this machine: a new random key in the
OS keychain and the config (store location, new salt) in ~/.config/vsync. It also
creates the vault folder, writes the .vsync pin when there is none, and adds the
vault folder to .gitignore when git does not ignore it yet. It checks that the
store answers and honours conditional writes before writing anything.

init never replaces an existing config or key: it stops with exit 3 and points at
import (to use a teammate's key) or rotate (to replace the key).

When the store already holds the env (a teammate set it up), init refuses with
exit 3 and nothing is written: ask a teammate for a share and run
git vsync import <env> FILE.share. --force-new-key starts the env over with a new
key anyway: the store's versions stay sealed with the old key, and after your
next push (git vsync push <env> --force) teammates cannot open the latest version
until they import a share from you.

When the config folder was lost but the key is still in the keychain, --adopt-key
writes a new config around that key. The salt that pairs with the key lived in the
config: --adopt-key takes the store and the salt from the env's CI token in
VSYNC_CONFIG (git vsync export <env> --ci-token) and checks that the key opens the
latest version before writing anything. With nothing pushed yet, --store or
--profile with a new salt is enough.

--migrate-from PATH moves an existing dotenv file (or PATH/.env.<env>) into the
new vault as .env.<env> (0600), after everything else was checked; when git tracks
that file, a warning says its secrets stay in the history.

Examples:
  git vsync init dev                                   # store in a local folder
  git vsync init prod --profile team-bucket
  AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… \
    git vsync init dev --store https://minio.internal:9000/secrets
  git vsync init dev --store file:///mnt/shared/vsync --vault-folder apps/web/infra/vault/dev
  git vsync init dev --force-new-key --store https://minio.internal:9000/secrets
  VSYNC_CONFIG=vsync-cfg-v1:… git vsync init dev --adopt-key
  git vsync init dev --migrate-from .env.dev           # move an existing dotenv file in`
}

// Run creates the env.
func (c *InitCmd) Run(ctx *Ctx) error {
	o := app.InitOptions{Profile: c.Profile, Store: c.Store, Region: c.Region, VaultFolder: c.VaultFolder, NoGitignore: c.NoGitignore, NoHooks: c.NoHooks,
		ForceNewKey: c.ForceNewKey, AdoptKey: c.AdoptKey, MigrateFrom: c.MigrateFrom}
	if c.Audit != "" {
		on := c.Audit == "on"
		o.Audit = &on
	}
	res, err := ctx.App.Init(ctx, ctx.Target(), c.Env, o)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		ctx.Warnf("%s", w)
	}
	ctx.Infof("initialised %s/%s", res.Repo, res.Env)
	ctx.Infof("  store        %s", res.Store)
	if res.Adopted {
		ctx.Infof("  key          kept from the keychain, fingerprint %s", res.Fingerprint)
	} else {
		ctx.Infof("  key          in the keychain, fingerprint %s", res.Fingerprint)
	}
	if res.StoreLatest != "" {
		ctx.Infof("  latest       %s", res.StoreLatest)
	}
	ctx.Infof("  vault        %s", res.VaultDir)
	if res.Migrated != "" {
		ctx.Infof("  moved        %s into the vault", res.Migrated)
	}
	if res.PinWritten {
		ctx.Infof("  .vsync       written (repo=%s): commit it so every clone agrees on the name", res.Repo)
	}
	if res.Gitignored != "" {
		ctx.Infof("  .gitignore   added %s: commit .gitignore so every clone ignores the vault", res.Gitignored)
	}
	printInitHooks(ctx, res.Hooks)
	ctx.Infof("")
	if res.Adopted && res.StoreLatest != "" {
		ctx.Infof("next: `git vsync pull %s`.", res.Env)
		return nil
	}
	if res.StoreLatest != "" {
		ctx.Infof("next: put the %s secrets into the vault folder, then `git vsync push %s --force`,", res.Env, res.Env)
		ctx.Infof("      then send each teammate a new share: `git vsync export %s`.", res.Env)
		return nil
	}
	ctx.Infof("next: put the %s secrets into the vault folder, then run `git vsync push %s`;", res.Env, res.Env)
	ctx.Infof("      onboard a teammate with `git vsync export %s`.", res.Env)
	return nil
}
