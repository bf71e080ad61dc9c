package cli

// UseCmd is `git vsync use`.
type UseCmd struct {
	Env  string `arg:"" optional:"" help:"Environment whose .env.<env> the link should point at; without it, show where the link points."`
	Link string `help:"The link to create or show (default .env at the repository top)." placeholder:"PATH"`
}

// Help is shown by `git vsync use --help`.
func (UseCmd) Help() string {
	return `Points ./.env (or --link PATH) at <vault>/.env.<env> with a relative symbolic
link, so tools that read .env see the chosen environment. An older link is
replaced; a regular file never is. Without an env it only says where the link
points. Both warn when git does not ignore the link: add it to .gitignore, so the
link is never committed.

Examples:
  git vsync use dev
  git vsync use                       # which env does ./.env point at?
  git vsync use prod --link apps/web/.env`
}

// Run links, or shows the link.
func (c *UseCmd) Run(ctx *Ctx) error {
	if c.Env == "" {
		res, err := ctx.App.UseShow(ctx.Target(), c.Link)
		if err != nil {
			return err
		}
		switch {
		case !res.Exists:
			ctx.Infof("%s does not exist; `git vsync use <env>` creates it", res.Link)
			return nil
		case res.Regular:
			ctx.Infof("%s is a regular file, not a link made by git vsync use", res.Link)
		case res.Env != "":
			ctx.Infof("%s -> %s (env %s)", res.Link, res.Target, res.Env)
		default:
			ctx.Infof("%s -> %s", res.Link, res.Target)
		}
		warnLinkTracked(ctx, res.Ignored, res.Link)
		return nil
	}
	res, err := ctx.App.Use(ctx.Target(), c.Env, c.Link)
	if err != nil {
		return err
	}
	ctx.Infof("%s -> %s", res.Link, res.Target)
	warnLinkTracked(ctx, res.Ignored, res.Link)
	return nil
}

func warnLinkTracked(ctx *Ctx, ignored bool, link string) {
	if !ignored {
		ctx.Warnf("git does not ignore %s: add it to .gitignore so the link is never committed", link)
	}
}
