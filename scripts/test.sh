#!/usr/bin/env bash
# The test suite, as CI runs it: go vet, then every package's tests (PBKDF2 lowered
# by each package's TestMain, see internal/testenv), inside a private D-Bus session
# with an unlocked gnome-keyring (scripts/ci-env.sh), with versitygw on PATH.
# With CI=true any test that cannot reach a real component fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$(go env GOPATH)/bin:$PATH"
go vet ./...
unformatted=$(gofmt -l cmd internal 2>/dev/null || true)
if [ -n "$unformatted" ]; then
	echo "gofmt needed:" >&2
	echo "$unformatted" >&2
	exit 1
fi

if ! go mod tidy -diff >/dev/null; then
	echo "go.mod is not tidy: run go mod tidy" >&2
	exit 1
fi

# The product must compile for every platform it ships to (CGO_ENABLED=0; darwin
# then uses its no-cgo keychain fallback).
for target in darwin/arm64 windows/amd64; do
	CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./cmd/git-vsync
done
# The Windows CI runner runs every package's tests: they must at least compile there.
CGO_ENABLED=0 GOOS=windows go vet ./...

# Every fuzz target runs briefly, so none can rot (VSYNC_FUZZTIME=0 skips this;
# `make fuzz` runs them longer). Before the tests, so their summary ends the log.
if [ "${VSYNC_FUZZTIME:-4s}" != "0" ]; then
	scripts/fuzz.sh "${VSYNC_FUZZTIME:-4s}"
fi

# go test -json through scripts/testsum: the usual package lines, the output of failed
# tests, and a closing "tests: N passed, N failed, N skipped" line.
mkdir -p bin
go build -o bin/testsum ./scripts/testsum
scripts/ci-env.sh go test -json -count=1 -timeout 12m "$@" ./... | bin/testsum
