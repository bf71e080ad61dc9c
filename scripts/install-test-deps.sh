#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: git, zip/unzip, man-db,
# zsh and fish (the completion scripts are tried in them), the
# Secret Service (gnome-keyring on a D-Bus session) and versitygw, a real
# S3-compatible server. Idempotent; needs root (or sudo) for apt.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
pkgs=(git gnome-keyring dbus dbus-x11 libsecret-tools zip unzip procps man-db zsh fish)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "install-test-deps: apt-get install ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

gobin="$(go env GOPATH)/bin"
# `versitygw --version` of a `go install` build says "git"; the module version is in
# the binary's build info.
if ! go version -m "$gobin/versitygw" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+github.com/versity/versitygw[[:space:]]+${VERSITYGW_VERSION}[[:space:]]"; then
	echo "install-test-deps: go install versitygw@${VERSITYGW_VERSION}" >&2
	GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}"
fi
# staticcheck, pinned by its module version (release 2026.2.2 is module v0.8.2;
# the module proxy serves module versions, not release names): `make vet` runs it.
STATICCHECK_VERSION=v0.8.2
if ! go version -m "$gobin/staticcheck" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+honnef.co/go/tools[[:space:]]+${STATICCHECK_VERSION}[[:space:]]"; then
	echo "install-test-deps: go install staticcheck@${STATICCHECK_VERSION}" >&2
	GOFLAGS=-mod=mod go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
fi
# deadcode, pinned: `make vet` fails on product functions cmd/git-vsync never reaches.
DEADCODE_VERSION=v0.52.0
if ! go version -m "$gobin/deadcode" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+golang.org/x/tools[[:space:]]+${DEADCODE_VERSION}[[:space:]]"; then
	echo "install-test-deps: go install deadcode@${DEADCODE_VERSION}" >&2
	GOFLAGS=-mod=mod go install "golang.org/x/tools/cmd/deadcode@${DEADCODE_VERSION}"
fi
# moto_server: a local AWS API for the AWS fan-out tests (internal/fanout). It comes
# from PyPI, and this machine image ships it; where it is missing we try pip, and
# where no package index is reachable the AWS tests skip on a laptop and fail under
# CI=true, like every missing real component.
if ! command -v moto_server >/dev/null 2>&1; then
	echo "install-test-deps: pip install moto[server]" >&2
	python3 -m pip install -q 'moto[server]' >&2 ||
		echo "install-test-deps: warning: moto could not be installed (no package index?): the AWS fan-out tests need moto_server" >&2
fi
# gcloud: the wire-shape oracle of the GCP fan-out test (the google-cloud-cli package,
# from Google's apt source, which this machine image has). Where apt cannot find it,
# that test skips on a laptop and fails under CI=true.
if ! command -v gcloud >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "install-test-deps: apt-get install google-cloud-cli" >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends google-cloud-cli >/dev/null ||
		echo "install-test-deps: warning: google-cloud-cli could not be installed (add Google's apt source): the GCP fan-out test needs gcloud" >&2
fi
echo "install-test-deps: ok" >&2
