#!/usr/bin/env bash
# Runs every fuzz target of the project for the given time each (default 10s):
#   scripts/fuzz.sh 1m
# Targets are found by name (func FuzzX in *_test.go). A finding fails the run and
# leaves its input under the package's testdata/fuzz/ for a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-10s}"
status=0
while IFS= read -r file; do
	pkg="./$(dirname "$file")"
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
		printf '%-40s %-28s ' "$pkg" "$target"
		out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 100x -parallel 1 "$pkg" 2>&1) && rc=0 || rc=$?
		# Go's fuzzer sometimes ends a timed run with a bare "context deadline
		# exceeded" and no failing input: not a finding, so run the target again.
		if [ $rc -ne 0 ] && ! grep -q 'Failing input' <<<"$out" && grep -q 'context deadline exceeded' <<<"$out"; then
			out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 100x -parallel 1 "$pkg" 2>&1) && rc=0 || rc=$?
		fi
		if [ $rc -eq 0 ]; then
			echo "$out" | grep -oE 'execs: [0-9]+' | tail -1 || echo ok
		else
			echo "FAILED"
			echo "$out" | tail -20
			status=1
		fi
	done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' internal | sort)
exit $status
