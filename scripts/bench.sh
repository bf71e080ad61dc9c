#!/usr/bin/env bash
# make bench: Go benchmarks of the hot parts, then whole commands timed against
# the file store and versitygw (scripts/bench), each as a ratio to a floor measured
# in the same run (tar c | tar x + sync for large vaults, one PBKDF2-600k derivation
# for small commands, one round trip for the hooks); the tables go to
# docs/performance.md with the machine's details. Run it alone (others' tests and
# builds skew the figures): flock /tmp/vsync-test.lock make bench.
# Performance is measured here, never asserted in tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"

echo "== Go benchmarks (real PBKDF2 cost)"
go test -run '^$' -bench . -benchmem -benchtime 10x ./internal/envelope/kdf ./internal/bundle ./internal/envelope/rqe1 2>/dev/null | grep -E '^(Benchmark|ok|PASS)' || true

echo
echo "== Whole commands (product binary)"
scripts/ci-env.sh go run ./scripts/bench -bin bin/git-vsync -out docs/performance.md "$@"

echo
echo "== git checkout with and without the hooks, store up to date"
BIN=bin/git-vsync scripts/bench-hooks.sh 30
