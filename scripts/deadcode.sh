#!/usr/bin/env bash
# deadcode.sh — fails when a function of the product cannot be reached from
# cmd/git-vsync (golang.org/x/tools/cmd/deadcode, pinned in install-test-deps.sh).
# Code only tests use belongs in _test.go files or in a test-support package.
set -euo pipefail
cd "$(dirname "$0")/.."

dc="$(go env GOPATH)/bin/deadcode"
[ -x "$dc" ] || { echo "deadcode missing: run make test-deps" >&2; exit 1; }

# Not product code: the test-support packages, which only tests import.
support='^(internal/testenv|internal/fanout/fanouttest|internal/store/storetest|internal/keychain/keychaintest)/'
# The public package vsync is a library for applications: nothing in the binary calls
# it, so its API and what only it reaches are live although main does not reach them.
library='^vsync/'
# The allowlist: every line is "file: unreachable func: Name", and why it stays.
allow=(
	# The test-only PBKDF2 setters: the point is that no product path reaches them.
	'internal/envelope/kdf/testing.go: unreachable func: SetTestIterations'
	'internal/envelope/kdf/testing.go: unreachable func: SetTestIterationsMain'
	# The test-only view of the derivation cache (tests of remembered keys).
	'internal/envelope/kdf/testing.go: unreachable func: Derivations'
	'internal/envelope/kdf/testing.go: unreachable func: ForgetCache'
	# Reached only through the public package vsync (Secrets.Keys, Secrets.File, Close).
	'internal/dotenv/dotenv.go: unreachable func: Keys'
	'internal/published/published.go: unreachable func: Version.File'
	'internal/published/published.go: unreachable func: Version.Wipe'
	# Redaction: fmt calls these only if someone prints a payload, which must show no key.
	'internal/envelope/vkt1/vkt1.go: unreachable func: Payload.String'
	'internal/envelope/vkt1/vkt1.go: unreachable func: Payload.GoString'
)

out=$("$dc" ./... | grep -vE "$support|$library" | sed -E 's/^([^:]+):[0-9]+:[0-9]+:/\1:/' || true)
for a in "${allow[@]}"; do
	out=$(printf '%s\n' "$out" | grep -vxF "$a" || true)
done
if [ -n "$out" ]; then
	echo "deadcode: product functions nothing in cmd/git-vsync reaches (delete them, or move test-only code into _test.go files or a test-support package):" >&2
	printf '%s\n' "$out" >&2
	exit 1
fi
