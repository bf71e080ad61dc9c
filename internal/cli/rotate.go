package cli

import (
	"fmt"
	"strings"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// RotateCmd is `git vsync rotate`.
type RotateCmd struct {
	Env        string `arg:"" help:"Environment whose key to replace."`
	PurgeOld   bool   `help:"After rotating, delete every version that does not open with the new key, then forget the old keys (asks first)."`
	Yes        bool   `help:"Do not ask before purging (for scripts)."`
	AuditFlags `embed:""`
}

// Help is shown by `git vsync rotate --help`.
func (RotateCmd) Help() string {
	return `Replaces the key and the salt of an environment. The latest version is opened
with the current key and published again, sealed with the new key, as a new
version (a compare-and-swap like push: when someone pushes meanwhile, rotate stops
with exit 3 and changes nothing). Then the keychain and the config get the new key
and salt. This clone must hold the latest version (pull first).

The old key stays in the keychain (<repo>/<env>#<fingerprint>) and the config
remembers its salt, so older versions stay readable here: pull --at TS works for
versions sealed before the rotation. --purge-old deletes those old versions from
the store (after a confirmation, or with --yes) and forgets the old keys.

Teammates keep the old key until they import a new share: their pull fails with
exit 6 and says so. Send them one with ` + "`git vsync export <env>`" + `.

Examples:
  git vsync rotate dev
  git vsync rotate prod --purge-old          # asks before deleting
  git vsync rotate prod --purge-old --yes
  git vsync rotate prod --note "laptop stolen" --meta ticket=SEC-3`
}

// Run rotates.
func (c *RotateCmd) Run(ctx *Ctx) error {
	auditOpts, err := c.AuditFlags.Options()
	if err != nil {
		return err
	}
	o := app.RotateOptions{PurgeOld: c.PurgeOld, Audit: auditOpts}
	if c.PurgeOld && !c.Yes {
		if _, ok := terminalFD(ctx); !ok {
			return fail.New(fail.Usage, "pass --yes to purge without a question, or run it on a terminal",
				"--purge-old deletes versions from the store and needs a confirmation; no terminal to ask on (nothing was changed)")
		}
		o.Confirm = func(versions []string) (bool, error) {
			ctx.Infof("these %d versions of %s are sealed with old keys and will be deleted from the store:", len(versions), c.Env)
			ctx.Infof("  %s", strings.Join(versions, "\n  "))
			yes, _, err := confirm(ctx, fmt.Sprintf("delete %d versions for good?", len(versions)))
			return yes, err
		}
	}
	res, err := ctx.App.Rotate(ctx, ctx.Target(), c.Env, o)
	if res != nil {
		for _, w := range res.Warnings {
			ctx.Warnf("%s", w)
		}
	}
	if err != nil {
		return err
	}
	ctx.Infof("rotated %s/%s: key %s → %s, new salt", res.Repo, res.Env, res.OldFingerprint, res.NewFingerprint)
	if res.TS != "" {
		ctx.Infof("  version %s re-sealed as %s (same content, new key)", res.Previous, res.TS)
	} else {
		ctx.Infof("  the store has no version yet; the next push uses the new key")
	}
	switch {
	case !c.PurgeOld:
		ctx.Infof("  old key kept as %s: older versions stay readable here (pull --at); `git vsync rotate %s --purge-old` deletes them, and rotates the key once more (export the share after it, not before)", res.KeptKey, c.Env)
	case res.PurgeDeclined:
		ctx.Infof("  purge cancelled: the old versions and keys are kept")
	default:
		ctx.Infof("  purged %d old versions; forgot %d old keys", len(res.Purged), res.KeysForgotten)
	}
	ctx.Infof("")
	ctx.Infof("teammates: their key no longer opens %s. Send each one a new share:", c.Env)
	ctx.Infof("  git vsync export %s", c.Env)
	ctx.Infof("and they run `git vsync import %s FILE --force` (their old key is kept), then `git vsync pull %s`.", c.Env, c.Env)
	ctx.Infof("CI secrets holding the key (VSYNC_KEY…) need the new key too.")
	return nil
}
