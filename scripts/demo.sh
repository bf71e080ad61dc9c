#!/usr/bin/env bash
# A full round trip on a local file store in a temporary folder: two clones, init,
# push, pull in the second clone, an edit, a refused pull, a forced pull.
# Run it with `make demo` (which builds bin/git-vsync first). It uses a private
# D-Bus session with a throw-away gnome-keyring (scripts/ci-env.sh), so your own
# keychain is never touched.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
bin="$top/bin"

if [ -z "${VSYNC_DEMO_INNER:-}" ]; then
	# The throw-away keychain needs gnome-keyring on a private D-Bus session; a fresh
	# Debian machine has neither, so install them (root or sudo) when missing.
	if ! command -v gnome-keyring-daemon >/dev/null 2>&1 || ! command -v dbus-run-session >/dev/null 2>&1; then
		sudo=""
		[ "$(id -u)" = 0 ] || sudo="sudo"
		echo "demo: installing gnome-keyring and dbus for a throw-away keychain" >&2
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gnome-keyring dbus dbus-x11 git >/dev/null
	fi
	export VSYNC_DEMO_INNER=1
	exec "$top/scripts/ci-env.sh" "$0" "$@"
fi

export PATH="$bin:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data"
export GIT_AUTHOR_NAME=Demo GIT_AUTHOR_EMAIL=demo@example.com GIT_COMMITTER_NAME=Demo GIT_COMMITTER_EMAIL=demo@example.com
cd "$work"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
expect_fail() {
	printf '$ %s\n' "$*"
	set +e
	"$@"
	code=$?
	set -e
	printf '(exit code %d)\n' "$code"
	[ "$code" -ne 0 ] || { echo "demo: expected a refusal" >&2; exit 1; }
}

say "A team repository with a bare remote, and Alice's clone"
run git init -q --bare upstream.git
run git clone -q upstream.git alice 2>/dev/null
cd alice
run git commit -q --allow-empty -m "first commit"

say "Alice sets up the dev environment (key in the keychain, store in a local folder)"
run git vsync init dev --repo acme_web --store "file://$work/store" --no-hooks
run git add .vsync .gitignore
run git commit -q -m "git-vsync pin"
run git push -q origin HEAD 2>/dev/null

say "Alice puts a secret in the vault and pushes it"
echo "API_TOKEN=alice-1" >infra/vault/dev/.env.dev
run git vsync push dev
run git vsync status

say "Bob clones the repository (same machine here, so same keychain) and pulls"
cd "$work"
run git clone -q upstream.git bob
cd bob
run git vsync pull dev
run cat infra/vault/dev/.env.dev

say "Alice changes the secret and pushes a new version"
cd "$work/alice"
echo "API_TOKEN=alice-2" >infra/vault/dev/.env.dev
run git vsync push dev

say "Bob edited his copy too: the pull refuses to overwrite his edit"
cd "$work/bob"
echo "API_TOKEN=bob-local" >infra/vault/dev/.env.dev
expect_fail git vsync pull dev
run cat infra/vault/dev/.env.dev

say "Bob decides to take Alice's version: a forced pull (his edit is backed up)"
run git vsync pull dev --force
run cat infra/vault/dev/.env.dev
run git vsync versions dev

say "Done: the store holds only encrypted bundles"
find "$work/store" -type f -name '*.enc' | sed "s|$work/||"
