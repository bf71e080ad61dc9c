#!/usr/bin/env bash
# dist.sh — the release archives: one per target, each holding the binary, the man
# pages, the shell completions, README.md and LICENSE, plus dist/SHA256SUMS.
#
#   scripts/dist.sh             # every target into dist/
#   scripts/dist.sh --list      # the archive names it would write, one a line
#
# VERSION (default: git describe) names the archives and is stamped into the binary
# (cli.Version); DIST_DIR (default dist) is the output folder; DIST_TARGETS (default:
# linux, darwin, windows × amd64, arm64) limits the targets, e.g. "linux/amd64".
# Binaries are built with CGO_ENABLED=0: darwin builds use the no-cgo keychain
# fallback (keys from VSYNC_KEY*), as `make cross` checks they compile.
# Needs go, tar, gzip, zip and sha256sum (or shasum).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
DIST_DIR="${DIST_DIR:-dist}"
DIST_TARGETS="${DIST_TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}"
LDFLAGS="-s -w -X github.com/git-vsync/git-vsync/internal/cli.Version=${VERSION}"

archive_name() { # os arch
	local ext=tar.gz
	[ "$1" = windows ] && ext=zip
	printf 'git-vsync_%s_%s_%s.%s\n' "$VERSION" "$1" "$2" "$ext"
}

if [ "${1:-}" = "--list" ]; then
	for t in $DIST_TARGETS; do archive_name "${t%/*}" "${t#*/}"; done
	echo SHA256SUMS
	exit 0
fi

sum() {
	if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

rm -rf "$DIST_DIR"
mkdir -p "$DIST_DIR"
DIST_DIR=$(cd "$DIST_DIR" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vsync-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The man pages and completions come from a binary for this machine; they do not
# depend on the target. CGO_ENABLED=0 as the targets, so a build for this machine's
# own target reuses its compiled packages.
CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" -o "$work/host/git-vsync" ./cmd/git-vsync
mkdir -p "$work/docs/man/man1" "$work/docs/completions"
"$work/host/git-vsync" manpages "$work/docs/man/man1" 2>/dev/null
"$work/host/git-vsync" completion bash >"$work/docs/completions/git-vsync.bash"
"$work/host/git-vsync" completion zsh >"$work/docs/completions/_git-vsync"
"$work/host/git-vsync" completion fish >"$work/docs/completions/git-vsync.fish"
cp README.md LICENSE "$work/docs/"

for t in $DIST_TARGETS; do
	os=${t%/*} arch=${t#*/}
	name=$(archive_name "$os" "$arch")
	dir="${name%.tar.gz}"
	dir="${dir%.zip}"
	stage="$work/stage/$dir"
	mkdir -p "$stage"
	exe=git-vsync
	[ "$os" = windows ] && exe=git-vsync.exe
	echo "dist: $name" >&2
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$LDFLAGS" -o "$stage/$exe" ./cmd/git-vsync
	cp -R "$work/docs/." "$stage/"
	if [ "$os" = windows ]; then
		(cd "$work/stage" && zip -qrX "$DIST_DIR/$name" "$dir")
	else
		tar -C "$work/stage" -czf "$DIST_DIR/$name" "$dir"
	fi
done

(cd "$DIST_DIR" && sum git-vsync_* >SHA256SUMS)
echo "dist: $DIST_DIR/SHA256SUMS" >&2
