#!/usr/bin/env bash
# bench-hooks.sh — what the git-vsync hooks add to `git checkout` (and what the
# pre-push check costs) when every vault is up to date, on the file store and on
# versitygw, beside the SPEC §12 budget: one small request (GET of `latest`) plus
# at most 15 ms of local work, and no key derivation.
#
#   scripts/bench-hooks.sh [RUNS]          # default 30 checkouts per measurement
#   BIN=bin/git-vsync scripts/bench-hooks.sh
#
# It builds the product binary (no test hooks) unless BIN names one, and runs
# itself inside scripts/ci-env.sh so a throw-away keychain holds the key (the
# hooks look the key up, as on a developer machine). Uses hyperfine when it is
# installed, else a loop timed with `date +%s%N` (median and p90 of RUNS).
# Performance is reported here, never asserted in tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs="${1:-30}"

if [ -z "${VSYNC_BENCH_INNER:-}" ]; then
	export VSYNC_BENCH_INNER=1
	exec scripts/ci-env.sh "$0" "$@"
fi
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
	echo "bench-hooks: no Secret Service (scripts/ci-env.sh needs dbus and gnome-keyring)" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vsync-bench-hooks.XXXXXX")
gw_pid=""
cleanup() {
	[ -z "$gw_pid" ] || kill "$gw_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

bin="${BIN:-}"
if [ -z "$bin" ]; then
	bin="$work/bin/git-vsync"
	go build -trimpath -o "$bin" ./cmd/git-vsync
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
mkdir -p "$work/path"
ln -sf "$bin" "$work/path/git-vsync"
export PATH="$work/path:$(go env GOPATH)/bin:$PATH"
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b GIT_CONFIG_NOSYSTEM=1
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data"
unset VSYNC_SKIP_HOOKS VSYNC_TEST_PBKDF2_ITERATIONS

now_ns() { date +%s%N; }

# measure LABEL CMD… — runs CMD $runs times (after 3 warm-ups); sets med and p90 (ms).
measure() {
	local label=$1
	shift
	if command -v hyperfine >/dev/null 2>&1; then
		local json="$work/hf.json"
		hyperfine -N --warmup 3 --runs "$runs" --export-json "$json" "$*" >/dev/null 2>&1
		med=$(python3 -c 'import json,sys;r=json.load(open(sys.argv[1]))["results"][0];print("%.1f"%(r["median"]*1000))' "$json")
		p90=$(python3 -c 'import json,sys;t=sorted(json.load(open(sys.argv[1]))["results"][0]["times"]);print("%.1f"%(t[int(len(t)*0.9)-1]*1000))' "$json")
		return
	fi
	local i t0 t1 times=()
	for i in 1 2 3; do "$@" >/dev/null 2>&1; done
	for ((i = 0; i < runs; i++)); do
		t0=$(now_ns)
		"$@" >/dev/null 2>&1
		t1=$(now_ns)
		times+=($(((t1 - t0) / 1000)))
	done
	local sorted
	sorted=$(printf '%s\n' "${times[@]}" | sort -n)
	med=$(echo "$sorted" | awk -v n="$runs" 'NR==int((n+1)/2){printf "%.1f", $1/1000}')
	p90=$(echo "$sorted" | awk -v n="$runs" 'NR==int(n*0.9){printf "%.1f", $1/1000}')
}

# checkout_pair: one checkout each way between the two branches (2 checkouts).
checkout_pair() { git checkout -q b && git checkout -q a; }

rows=()
row() { rows+=("$1|$2|$3|$4|$5"); }

bench_backend() {
	local backend=$1 store=$2
	local dir="$work/$backend"
	mkdir -p "$dir"
	cd "$dir"
	git init -q -b a repo
	cd repo
	for i in $(seq 1 50); do echo "a $i" >"f$i.txt"; done
	git add . && git commit -qm a
	git checkout -q -b b
	for i in $(seq 1 50); do echo "b $i" >"f$i.txt"; done
	git commit -qam b
	git checkout -q a
	git vsync init dev --store "$store" --repo "bench_hooks_${backend}_$$" --no-hooks >/dev/null 2>&1
	printf 'API_KEY=bench\nDB_URL=postgres://bench\n' >infra/vault/dev/.env.dev
	git vsync push dev >/dev/null 2>&1

	measure "checkout" checkout_pair
	local base_med=$med base_p90=$p90
	row "$backend" "git checkout, no hooks" "$(half "$base_med")" "$(half "$base_p90")" ""

	git vsync install >/dev/null 2>&1
	measure "checkout+hooks" checkout_pair
	local hook_med=$med hook_p90=$p90
	row "$backend" "git checkout, hooks, up to date" "$(half "$hook_med")" "$(half "$hook_p90")" ""
	row "$backend" "  added by the hooks (sh, git, process start, work)" "$(diff_half "$hook_med" "$base_med")" "" ""

	measure "version" git-vsync --version
	local start_med=$med start_p90=$p90
	measure "post-checkout" git vsync hook post-checkout "$(git rev-parse a)" "$(git rev-parse b)" 1
	row "$backend" "git vsync hook post-checkout (alone)" "$med" "$p90" ""
	row "$backend" "  minus process start (git-vsync --version)" "$(awk -v a="$med" -v b="$start_med" 'BEGIN{printf "%.1f", a-b}')" "" "<= 15 ms local + 1 small request"
	local sha
	sha=$(git rev-parse a)
	printf 'refs/heads/a %s refs/heads/a %s\n' "$sha" 0000000000000000000000000000000000000000 >"$work/refs"
	measure "pre-push" sh -c 'git vsync hook pre-push origin url <"$1"' sh "$work/refs"
	row "$backend" "git vsync hook pre-push (alone)" "$med" "$p90" ""
	row "$backend" "  minus process start (git-vsync --version)" "$(awk -v a="$med" -v b="$start_med" 'BEGIN{printf "%.1f", a-b}')" "" "<= 15 ms local + 1 small request"
	row "$backend" "git-vsync --version (process start)" "$start_med" "$start_p90" ""
	cd "$root"
}

half() { awk -v x="$1" 'BEGIN{printf "%.1f", x/2}'; }
diff_half() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (a-b)/2}'; }

echo "bench-hooks: $runs runs per measurement ($(command -v hyperfine >/dev/null && echo hyperfine || echo 'date loop')), binary $bin" >&2

bench_backend file "file://$work/store"

gw=$(command -v versitygw || true)
if [ -z "$gw" ]; then
	echo "bench-hooks: versitygw not found; only the file store was measured" >&2
else
	port=$((20000 + RANDOM % 20000))
	ak="bench$RANDOM$RANDOM"
	sk="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	mkdir -p "$work/gw"
	ROOT_ACCESS_KEY_ID=$ak ROOT_SECRET_ACCESS_KEY=$sk "$gw" --port "127.0.0.1:$port" --quiet posix "$work/gw" >"$work/gw.log" 2>&1 &
	gw_pid=$!
	for i in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.1
	done
	# versitygw wants x-amz-content-sha256 (here: of the empty body).
	e0=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
	s3curl() { curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" -H "x-amz-content-sha256: $e0" "$@"; }
	s3curl -X PUT "http://127.0.0.1:$port/benchhooks" >/dev/null
	export AWS_ACCESS_KEY_ID=$ak AWS_SECRET_ACCESS_KEY=$sk AWS_REGION=us-east-1
	bench_backend versitygw "http://127.0.0.1:$port/benchhooks"
	measure "GET" s3curl -o /dev/null "http://127.0.0.1:$port/benchhooks/bench_hooks_versitygw_$$/dev/latest"
	row versitygw "one GET of latest (curl, for scale)" "$med" "$p90" "the one small request"
fi

echo
{
	echo "BACKEND|MEASUREMENT (per checkout)|MEDIAN ms|P90 ms|SPEC §12 BUDGET"
	printf '%s\n' "${rows[@]}"
} | column -t -s '|'
