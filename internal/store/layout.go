package store

// Layout is the bucket layout of one env (SPEC §5.1), the one place that knows it:
// every key of the env lives below the prefix "<repo>/<env>/".
type Layout struct {
	Prefix string // "<repo>/<env>/"
}

// EnvLayout is the layout of (repo, env).
func EnvLayout(repo, env string) Layout { return Layout{Prefix: repo + "/" + env + "/"} }

// Latest is the key of the pointer to the newest version.
func (l Layout) Latest() string { return l.Prefix + "latest" }

// Versions is the prefix every bundle key starts with.
func (l Layout) Versions() string { return l.Prefix + "versions/" }

// Version is the key of the bundle of ts.
func (l Layout) Version(ts string) string { return l.Versions() + ts + ".enc" }

// Audit is the key of the audit log.
func (l Layout) Audit() string { return l.Prefix + "audit.csv" }

// SyncLedger is the key of a fan-out target's ledger (what `sync` wrote where the
// values cannot be read back, docs/sync.md), next to the audit log.
func (l Layout) SyncLedger(target string) string { return l.Prefix + "sync/" + target + ".json" }
