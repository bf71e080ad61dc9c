#!/usr/bin/env bash
# ci-env.sh — run a command next to a private, unlocked Secret Service.
#
#   scripts/ci-env.sh <command> [args...]
#   scripts/ci-env.sh go test ./internal/keychain/ -v
#
# The command runs inside a fresh `dbus-run-session` bus with a throw-away HOME (and
# XDG_* folders), where gnome-keyring-daemon serves the Secret Service with a "login"
# keyring that is the default collection and already unlocked. Nothing touches the
# caller's own keyring, bus or home folder; the temporary folder is removed on exit.
# The exit code is the command's.
#
# Go keeps using the caller's GOPATH, GOCACHE, GOMODCACHE and GOENV (exported from
# `go env` before HOME changes), so builds stay cached and modules are not re-downloaded.
#
# When dbus-run-session or gnome-keyring-daemon is missing, a note goes to stderr and
# the command runs without a keyring — unless CI=true, where that is an error (exit 1),
# so CI can never pass by skipping the keyring tests.
#
# Exported inside: DBUS_SESSION_BUS_ADDRESS, and VSYNC_TEST_KEYRING_PASSWORD, the
# throw-away keyring's password (for tests that want to lock and unlock it).
# Set CI_ENV_DEBUG=1 to see the D-Bus and keyring daemons' own messages.
set -euo pipefail

note() { printf 'ci-env.sh: %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
	note "usage: scripts/ci-env.sh <command> [args...]"
	exit 2
fi

missing=""
for tool in dbus-run-session dbus-daemon gnome-keyring-daemon; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	if [ "${CI:-}" = "true" ]; then
		note "missing:$missing (install dbus and gnome-keyring); CI=true, so this is an error"
		exit 1
	fi
	note "missing:$missing (install dbus and gnome-keyring); running without a Secret Service"
	exec "$@"
fi

# Keep Go's caches and settings where they are before HOME moves.
if command -v go >/dev/null 2>&1; then
	for var in GOPATH GOCACHE GOMODCACHE GOENV; do
		val=$(go env "$var")
		export "$var=$val"
	done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsync-ci.XXXXXX")
# The keyring daemon exits when the bus goes away and may still be writing its files
# for a moment: retry the removal briefly, and never let it change the exit code.
cleanup() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		rm -rf "$tmp" 2>/dev/null && return 0
		sleep 0.1
	done
	note "could not remove $tmp"
	return 0
}
trap cleanup EXIT

mkdir -p "$tmp/home" "$tmp/config" "$tmp/data" "$tmp/cache" "$tmp/state" "$tmp/runtime"
chmod 700 "$tmp/runtime"
export HOME="$tmp/home"
export XDG_CONFIG_HOME="$tmp/config"
export XDG_DATA_HOME="$tmp/data"
export XDG_CACHE_HOME="$tmp/cache"
export XDG_STATE_HOME="$tmp/state"
# gnome-keyring finds a running daemon through $XDG_RUNTIME_DIR/keyring/control (or
# GNOME_KEYRING_CONTROL): a private runtime folder keeps it away from the caller's.
export XDG_RUNTIME_DIR="$tmp/runtime"
unset GNOME_KEYRING_CONTROL DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY
export VSYNC_TEST_KEYRING_PASSWORD="ci-env-$$"
export CI_ENV_LOG="$tmp/daemons.log"
: >"$CI_ENV_LOG"

# dbus-daemon (and the services it activates) write noise such as "Failed to set fd
# limit" to stderr; send it to a log unless debugging.
daemon="$(command -v dbus-daemon)"
if [ "${CI_ENV_DEBUG:-}" != "1" ]; then
	daemon="$tmp/dbus-daemon"
	printf '#!/bin/sh\nexec %s "$@" 2>>"%s"\n' "$(command -v dbus-daemon)" "$CI_ENV_LOG" >"$daemon"
	chmod 700 "$daemon"
fi

# gnome-keyring-daemon 42 sometimes aborts under heavy parallel load (a glib trap;
# dmesg shows "trap int3 in libglib"). Letting D-Bus activate gnome-keyring would then
# start a second daemon whose keyring is locked, failing every later keychain test.
# Instead the daemon runs in the foreground under a loop that restarts it, unlocked
# again, and says so on stderr; the only service the bus can activate is a script that
# waits (up to 10 s) for that restarted daemon to own org.freedesktop.secrets, so a
# call made while it restarts is held by the bus and answered by the new daemon rather
# than refused with ServiceUnknown. A call in flight at the crash fails with NoReply;
# the keychain client retries those (internal/keychain, withSecretService).
cat >"$tmp/session.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$tmp/runtime</listen>
  <servicedir>$tmp/services</servicedir>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
export CI_ENV_STOP="$tmp/stop"
mkdir -p "$tmp/services"
cat >"$tmp/await-keyring" <<'AWAIT'
#!/bin/sh
# Activated by the bus for org.freedesktop.secrets: succeed once the keeper's daemon
# owns the name (the bus then hands it the calls it held), fail after 10 s.
i=0
while [ "$i" -lt 200 ]; do
	[ -e "$CI_ENV_STOP" ] && exit 1
	dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
		grep -q "boolean true" && exit 0
	i=$((i + 1))
	sleep 0.05
done
exit 1
AWAIT
chmod 700 "$tmp/await-keyring"
printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=%s\n' "$tmp/await-keyring" \
	>"$tmp/services/org.freedesktop.secrets.service"

# Inside the bus: keep the keyring running, unlocked with the throw-away password, and
# wait for it to own org.freedesktop.secrets before the command starts.
inner='
set -u
log=/dev/stderr
[ "${CI_ENV_DEBUG:-}" = "1" ] || log="$CI_ENV_LOG"
(
	n=0
	while :; do
		printf "%s" "$VSYNC_TEST_KEYRING_PASSWORD" |
			gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>>"$log"
		st=$?
		[ -e "$CI_ENV_STOP" ] && exit 0
		n=$((n + 1))
		echo "ci-env.sh: gnome-keyring-daemon exited (status $st); restarted it unlocked ($n)" >&2
		[ "$n" -lt 50 ] || exit 1
		sleep 0.1
	done
) &
keeper=$!
i=0
while [ "$i" -lt 100 ]; do
	if command -v dbus-send >/dev/null 2>&1; then
		if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
			org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
			grep -q "boolean true"; then
			break
		fi
	elif [ "$i" -ge 5 ]; then
		break
	fi
	i=$((i + 1))
	sleep 0.05
done
[ "$i" -lt 100 ] || echo "ci-env.sh: gnome-keyring did not register on the session bus (see CI_ENV_DEBUG=1)" >&2
"$@"
rc=$?
# Stop restarting before the bus goes away (the daemon then exits with it).
: >"$CI_ENV_STOP"
kill "$keeper" 2>/dev/null
exit "$rc"
'

set +e
dbus-run-session --config-file="$tmp/session.conf" --dbus-daemon="$daemon" -- sh -c "$inner" ci-env "$@"
rc=$?
set -e
exit "$rc"
