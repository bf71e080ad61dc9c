package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/fanout"
)

// SyncCmd is `git vsync sync`.
type SyncCmd struct {
	Env          string   `arg:"" help:"Environment whose keys to publish."`
	Targets      []string `arg:"" optional:"" enum:"gh,aws,gcp,azure,vault" help:"Targets: gh, aws, gcp, azure, vault."`
	All          bool     `help:"Every target routed in the config."`
	Plan         bool     `help:"Show the plan and stop; nothing is written."`
	Prune        bool     `help:"Delete names git-vsync wrote that are no longer in the vault (never others)."`
	Yes          bool     `help:"Apply without asking."`
	Only         []string `help:"Only these keys (names or globs); repeat or comma-separate." placeholder:"K"`
	Exclude      []string `help:"Leave out these keys (names or globs)." placeholder:"K"`
	InlineSuffix []string `name:"inline-file-suffix" help:"KEY<S>=path publishes the content of that file (inside the vault) as KEY, e.g. _FILE." placeholder:"S"`
	FromLocal    bool     `name:"from-local" help:"Publish the vault as it is, even with changes not pushed."`
	JSON         bool     `name:"json" help:"Print the plan (and the result) as JSON on stdout."`

	GHRepo          string `name:"gh-repo" help:"GitHub repository owner/name (saved as sync.gh.repo)." placeholder:"OWNER/NAME"`
	AWSRegion       string `name:"aws-region" help:"AWS region (saved as sync.aws.region)." placeholder:"REGION"`
	AWSSecretPrefix string `name:"aws-secret-prefix" help:"Prefix of the AWS secret names (saved as sync.aws.secretPrefix)." placeholder:"PREFIX"`
	GCPProject      string `name:"gcp-project" help:"GCP project id (saved as sync.gcp.project)." placeholder:"ID"`
	AzureVault      string `name:"azure-vault" help:"Azure Key Vault name or URL (saved as sync.azure.vaultName)." placeholder:"NAME"`
	VaultAddr       string `name:"vault-addr" help:"HashiCorp Vault address (saved as sync.vault.addr; else VAULT_ADDR)." placeholder:"URL"`
	VaultMount      string `name:"vault-mount" help:"KV v2 mount (saved as sync.vault.mount; default secret)." placeholder:"MOUNT"`
	VaultPath       string `name:"vault-path" help:"Secret path below the mount (saved as sync.vault.secretPath)." placeholder:"PATH"`

	AuditFlags `embed:""`
}

// Help is shown by `git vsync sync --help`.
func (SyncCmd) Help() string {
	return `Publishes the keys of the env's .env.<env> to where production reads them:
gh (GitHub Actions environment secrets), aws (Secrets Manager), gcp (Secret
Manager), azure (Key Vault), vault (HashiCorp Vault KV v2).

The keys come from the version this clone last pushed or pulled; a vault with
changes not pushed is refused unless --from-local. Every run first reads each
target and prints a plan per name: create, update, unchanged, delete (with
--prune), stale (ours, left the vault), orphan (not ours, never touched),
invalid-name, too-large, with a keyed fingerprint of the value, never the value.
--plan stops there; otherwise it asks on a terminal, or applies with --yes.
Unchanged names are not written. Names git-vsync writes are marked as ours
(tags, labels, custom_metadata; for GitHub a ledger in the bucket), and --prune
deletes only those.

Routing flags are saved into the env's config (sync.*, the TypeScript vsync's
keys), so later runs need only the target names. Credentials come from each
vendor's standard places: GH_TOKEN/GITHUB_TOKEN or gh auth token; the AWS
default chain; Google Application Default Credentials; Azure's default
credential; VAULT_TOKEN or ~/.vault-token. See docs/sync.md.

Examples:
  git vsync sync prod gh --gh-repo acme/web --plan
  git vsync sync prod aws --aws-region eu-west-1 --aws-secret-prefix web/prod/ --yes
  git vsync sync prod --all --prune
  git vsync sync dev vault --vault-addr https://vault:8200 --vault-path web/dev --from-local
  git vsync sync prod gcp --gcp-project acme-prod --inline-file-suffix _FILE --only 'GOOGLE_*'`
}

// Run plans and, unless --plan, applies.
func (c *SyncCmd) Run(ctx *Ctx) error {
	auditOpts, err := c.AuditFlags.Options()
	if err != nil {
		return err
	}
	if c.All && len(c.Targets) > 0 {
		return fail.New(fail.Usage, "name targets or pass --all, not both", "--all with targets")
	}
	o := app.SyncOptions{
		Targets: c.Targets, All: c.All, Prune: c.Prune, FromLocal: c.FromLocal, Audit: auditOpts,
		Only: c.Only, Exclude: c.Exclude, InlineSuffix: c.InlineSuffix,
		Routing: map[string]string{
			"gh.repo": c.GHRepo, "aws.region": c.AWSRegion, "aws.secretPrefix": c.AWSSecretPrefix,
			"gcp.project": c.GCPProject, "azure.vaultName": c.AzureVault,
			"vault.addr": c.VaultAddr, "vault.mount": c.VaultMount, "vault.secretPath": c.VaultPath,
		},
	}
	run, err := ctx.App.SyncPlan(ctx, ctx.Target(), c.Env, o)
	if err != nil {
		return err
	}
	if !c.JSON {
		c.printPlans(ctx, run)
	}
	writes := false
	invalid := false
	for _, p := range run.Plans {
		writes = writes || p.Writes()
		invalid = invalid || len(p.Invalid()) > 0
	}
	out := struct {
		Env       string                 `json:"env"`
		Version   string                 `json:"version,omitempty"`
		FromLocal bool                   `json:"from_local,omitempty"`
		Plans     []*fanout.Plan         `json:"plans"`
		Applied   bool                   `json:"applied"`
		Results   []app.SyncTargetResult `json:"results,omitempty"`
	}{Env: run.Env, Version: run.Version, FromLocal: run.FromLocal, Plans: run.Plans}
	if c.Plan {
		if c.JSON {
			return ctx.JSON(out)
		}
		return nil
	}
	if writes && !invalid && !c.Yes {
		yes, ok, err := confirm(ctx, "Apply this plan?")
		if err != nil {
			return err
		}
		if !ok {
			if c.JSON {
				_ = ctx.JSON(out)
			}
			return fail.New(fail.Usage, "pass --yes to apply without a terminal, or --plan to only look", "not applied: no terminal to confirm on")
		}
		if !yes {
			ctx.Infof("not applied")
			return nil
		}
	}
	results, err := ctx.App.SyncApply(ctx, run)
	out.Applied, out.Results = err == nil, results
	if c.JSON {
		_ = ctx.JSON(out)
	} else {
		for _, r := range results {
			if r.Result != nil {
				ctx.Infof("%s: %d created, %d updated, %d deleted, %d unchanged, %d failed",
					r.Target, len(r.Result.Created), len(r.Result.Updated), len(r.Result.Deleted), r.Result.Unchanged, len(r.Result.Failed))
				for _, f := range r.Result.Failed {
					ctx.Infof("  failed %s: %s", f.Name, f.Err)
				}
			}
			if r.Error != "" {
				ctx.Infof("%s: %s", r.Target, r.Error)
			}
		}
	}
	return err
}

// printPlans writes the plans as a table on stderr (stdout is kept for --json).
func (c *SyncCmd) printPlans(ctx *Ctx, run *app.SyncRun) {
	src := "version " + run.Version
	if run.FromLocal {
		src = "the local vault (--from-local)"
	}
	for _, p := range run.Plans {
		ctx.Infof("%s → %s (%s), from %s:", run.Env, p.Target, p.Where, src)
		tw := tabwriter.NewWriter(ctx.Stderr, 2, 4, 2, ' ', 0)
		for _, it := range p.Items {
			name := it.Name
			if it.Key != "" && it.Key != it.Name {
				name += " (" + it.Key + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", it.Action, name, it.Fingerprint, it.Reason)
		}
		tw.Flush()
		var parts []string
		for _, a := range []fanout.Action{fanout.Create, fanout.Update, fanout.Delete, fanout.Unchanged, fanout.Stale, fanout.Orphan, fanout.InvalidName, fanout.TooLarge} {
			if n := p.Count(a); n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, a))
			}
		}
		if len(parts) == 0 {
			parts = append(parts, "nothing")
		}
		ctx.Infof("  plan: %s", strings.Join(parts, ", "))
	}
}
