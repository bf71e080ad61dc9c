package store

import "strings"

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

// VersionOf is the inverse of Version: the ts of a bundle key, ok false for any
// other key (the caller still checks that ts is a valid timestamp).
func (l Layout) VersionOf(key string) (ts string, ok bool) {
	rest, ok := strings.CutPrefix(key, l.Versions())
	if !ok {
		return "", false
	}
	ts, ok = strings.CutSuffix(rest, ".enc")
	return ts, ok && ts != "" && !strings.Contains(ts, "/")
}

// Probe is the key init and doctor write to test conditional writes (and delete).
func (l Layout) Probe() string { return l.Prefix + "conditional-write-probe" }

// Audit is the key of the audit log.
func (l Layout) Audit() string { return l.Prefix + "audit.csv" }

// SyncLedger is the key of a fan-out target's ledger (what `sync` wrote where the
// values cannot be read back, docs/sync.md), next to the audit log.
func (l Layout) SyncLedger(target string) string { return l.Prefix + "sync/" + target + ".json" }

// ReadOnlyPolicy is the IAM policy (AWS JSON; MinIO, R2 and versitygw read the
// same) of a key that may read the published versions of one env and nothing else:
// s3:GetObject below the env's prefix and s3:ListBucket limited to it.
func ReadOnlyPolicy(bucket string, l Layout) string {
	return `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadVersions",
      "Effect": "Allow",
      "Action": ["s3:GetObject"],
      "Resource": ["arn:aws:s3:::` + bucket + `/` + l.Prefix + `*"]
    },
    {
      "Sid": "ListVersions",
      "Effect": "Allow",
      "Action": ["s3:ListBucket"],
      "Resource": ["arn:aws:s3:::` + bucket + `"],
      "Condition": {"StringLike": {"s3:prefix": ["` + l.Prefix + `*"]}}
    }
  ]
}`
}
