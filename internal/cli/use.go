package cli

// UseCmd is `git vsync use`.
type UseCmd struct {
	Env  string `arg:"" help:"Environment whose .env.<env> the link should point at."`
	Link string `help:"The link to create (default .env at the repository top)." placeholder:"PATH"`
}

// Help is shown by `git vsync use --help`.
func (UseCmd) Help() string {
	return `Points ./.env (or --link PATH) at <vault>/.env.<env> with a relative symbolic
link, so tools that read .env see the chosen environment. An older link is
replaced; a regular file never is.

Examples:
  git vsync use dev
  git vsync use prod --link apps/web/.env`
}

// Run links.
func (c *UseCmd) Run(ctx *Ctx) error {
	res, err := ctx.App.Use(ctx.Repo, c.Env, c.Link)
	if err != nil {
		return err
	}
	ctx.Infof("%s -> %s", res.Link, res.Target)
	return nil
}
