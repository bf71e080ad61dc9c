package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// ProfileCmd is `git vsync profile`.
type ProfileCmd struct {
	Add    ProfileAddCmd    `cmd:"" help:"Save a bucket and its credentials under a name."`
	List   ProfileListCmd   `cmd:"" help:"List the saved profiles (secrets never shown)."`
	Show   ProfileShowCmd   `cmd:"" help:"Show one profile (the secret masked unless --reveal)."`
	Remove ProfileRemoveCmd `cmd:"" help:"Delete a saved profile."`
}

// Help is shown by `git vsync profile --help`.
func (ProfileCmd) Help() string {
	return `A profile is a reusable bucket and its credentials, saved in
~/.config/vsync/profiles/<name>.json (mode 0600). ` + "`git vsync init <env> --profile NAME`" + `
copies it into the env's config.

Examples:
  git vsync profile add team --endpoint https://minio.internal:9000 --bucket secrets \
      --access-key-id AKIA… --secret-access-key-file ~/secret.txt
  git vsync profile list
  git vsync profile show team
  git vsync profile remove team --yes`
}

// ProfileAddCmd is `git vsync profile add`.
type ProfileAddCmd struct {
	Name                string `arg:"" help:"Profile name: letters, digits, '.', '_', '-'."`
	Endpoint            string `help:"S3 endpoint, e.g. https://minio.internal:9000 (default: AWS S3 of --region), or file:///path/to/folder." placeholder:"URL"`
	Region              string `help:"S3 region (default AWS_REGION, else us-east-1)."`
	Bucket              string `required:"" help:"Bucket name."`
	Prefix              string `help:"Optional key prefix inside the bucket (informational)."`
	AccessKeyID         string `name:"access-key-id" help:"Access key id (default AWS_ACCESS_KEY_ID)." placeholder:"ID"`
	SecretAccessKeyFile string `name:"secret-access-key-file" help:"Read the secret access key from this file. Default: AWS_SECRET_ACCESS_KEY, else a hidden prompt." placeholder:"FILE"`
	Force               bool   `help:"Replace an existing profile of that name."`
}

// Run saves the profile.
func (c *ProfileAddCmd) Run(ctx *Ctx) error {
	in := app.ProfileInput{Name: c.Name, Endpoint: c.Endpoint, Region: c.Region, Bucket: c.Bucket, Prefix: c.Prefix, AccessKeyID: c.AccessKeyID, Force: c.Force}
	if in.AccessKeyID == "" {
		in.AccessKeyID = ctx.App.Getenv("AWS_ACCESS_KEY_ID")
	}
	switch {
	case c.SecretAccessKeyFile != "":
		s, err := ctx.App.ReadSecretFile(c.SecretAccessKeyFile, "secret access key")
		if err != nil {
			return err
		}
		in.SecretAccessKey = s
	case ctx.App.Getenv("AWS_SECRET_ACCESS_KEY") != "":
		in.SecretAccessKey = ctx.App.Getenv("AWS_SECRET_ACCESS_KEY")
	case app.NeedsSecret(c.Endpoint):
		s, ok, err := readHidden(ctx, "secret access key for "+c.Name+": ")
		if err != nil {
			return err
		}
		if !ok {
			return fail.New(fail.Usage, "pass --secret-access-key-file FILE or set AWS_SECRET_ACCESS_KEY (never the secret itself as an argument)",
				"no secret access key: no terminal to ask on")
		}
		in.SecretAccessKey = s
	}
	path, err := ctx.App.ProfileAdd(in)
	if err != nil {
		return err
	}
	ctx.Infof("saved profile %s (%s)", c.Name, path)
	ctx.Infof("use it with: git vsync init <env> --profile %s", c.Name)
	return nil
}

// ProfileListCmd is `git vsync profile list`.
type ProfileListCmd struct {
	JSON bool `name:"json" help:"Print a JSON array on stdout (without secrets)."`
}

type profileJSON struct {
	Name            string `json:"name"`
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	Bucket          string `json:"bucket"`
	Prefix          string `json:"prefix,omitempty"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
}

func toJSON(name string, p *config.Profile, secret string) profileJSON {
	return profileJSON{Name: name, Endpoint: p.Endpoint, Region: p.Region, Bucket: p.Bucket, Prefix: p.Prefix, AccessKeyID: p.AccessKeyID, SecretAccessKey: secret}
}

// Run lists.
func (c *ProfileListCmd) Run(ctx *Ctx) error {
	ps, warnings, err := ctx.App.ProfileList()
	if err != nil {
		return err
	}
	for _, w := range warnings {
		ctx.Warnf("%s", w)
	}
	if c.JSON {
		out := []profileJSON{}
		for _, p := range ps {
			out = append(out, toJSON(p.Name, p.Profile, ""))
		}
		return ctx.JSON(out)
	}
	if len(ps) == 0 {
		fmt.Fprintln(ctx.Stdout, "no profiles yet (git vsync profile add NAME …)")
		return nil
	}
	tw := tabwriter.NewWriter(ctx.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tENDPOINT\tREGION\tBUCKET\tPREFIX\tACCESS KEY ID\t")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", p.Name, p.Endpoint, p.Region, p.Bucket, p.Prefix, p.AccessKeyID)
	}
	return tw.Flush()
}

// ProfileShowCmd is `git vsync profile show`.
type ProfileShowCmd struct {
	Name   string `arg:"" help:"Profile name."`
	Reveal bool   `help:"Show the secret access key in full."`
	JSON   bool   `name:"json" help:"Print a JSON object on stdout."`
}

// Run shows.
func (c *ProfileShowCmd) Run(ctx *Ctx) error {
	p, err := ctx.App.ProfileShow(c.Name)
	if err != nil {
		return err
	}
	secret := app.MaskSecret(p.SecretAccessKey)
	if c.Reveal {
		secret = p.SecretAccessKey
	}
	if c.JSON {
		return ctx.JSON(toJSON(c.Name, p, secret))
	}
	tw := tabwriter.NewWriter(ctx.Stdout, 0, 0, 2, ' ', 0)
	for _, row := range [][2]string{
		{"name", c.Name}, {"endpoint", p.Endpoint}, {"region", p.Region}, {"bucket", p.Bucket},
		{"prefix", p.Prefix}, {"accessKeyId", p.AccessKeyID}, {"secretAccessKey", secret},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

// ProfileRemoveCmd is `git vsync profile remove`.
type ProfileRemoveCmd struct {
	Name string `arg:"" help:"Profile name."`
	Yes  bool   `help:"Do not ask for a confirmation (for scripts)."`
}

// Run removes, after a confirmation on the terminal unless --yes.
func (c *ProfileRemoveCmd) Run(ctx *Ctx) error {
	if !c.Yes {
		// Show what would go (and fail early on a missing profile) before asking.
		p, err := ctx.App.ProfileShow(c.Name)
		if err != nil {
			return err
		}
		if _, ok := terminalFD(ctx); !ok {
			return fail.New(fail.Usage, "pass --yes to remove it without a question",
				"removing profile %s needs a confirmation; no terminal to ask on (nothing was removed)", c.Name)
		}
		yes, _, err := confirm(ctx, fmt.Sprintf("remove profile %s (bucket %s at %s) and its credentials?", c.Name, p.Bucket, p.Endpoint))
		if err != nil {
			return err
		}
		if !yes {
			ctx.Infof("kept profile %s", c.Name)
			return nil
		}
	}
	if err := ctx.App.ProfileRemove(c.Name); err != nil {
		return err
	}
	ctx.Infof("removed profile %s (envs set up from it keep their own copy)", c.Name)
	return nil
}

// Help is shown by `git vsync profile add --help`.
func (ProfileAddCmd) Help() string {
	return `The secret access key never goes on the command line: it comes from
--secret-access-key-file, AWS_SECRET_ACCESS_KEY, or a hidden prompt.

Examples:
  git vsync profile add team --endpoint https://minio.internal:9000 --bucket secrets \
      --access-key-id AKIA… --secret-access-key-file ~/secret.txt
  AWS_SECRET_ACCESS_KEY=… git vsync profile add aws-prod --region eu-central-1 --bucket acme-secrets --access-key-id AKIA…
  git vsync profile add shared --endpoint file:///mnt/team/vsync --bucket vault`
}

// Help is shown by `git vsync profile list --help`.
func (ProfileListCmd) Help() string {
	return `Examples:
  git vsync profile list
  git vsync profile list --json | jq -r '.[].name'`
}

// Help is shown by `git vsync profile show --help`.
func (ProfileShowCmd) Help() string {
	return `Examples:
  git vsync profile show team
  git vsync profile show team --reveal     # prints the secret access key`
}

// Help is shown by `git vsync profile remove --help`.
func (ProfileRemoveCmd) Help() string {
	return `Asks for a confirmation on the terminal; --yes skips it (without a terminal it is
required). Envs set up from the profile keep their own copy of it.

Examples:
  git vsync profile remove team
  git vsync profile remove team --yes`
}
