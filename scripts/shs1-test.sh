#!/usr/bin/env bash
# Runs the shs1 conformance harness (npm shs1-test 1.1.1, GPL-3.0; used as an
# external test tool only, nothing of it is vendored) against this module's
# secret handshake in both roles. See secure/shs/internal/shs1adapter.
#
#   scripts/shs1-test.sh            # exits 0 only if both roles pass 45/45
#
# SHS1_TEST_DIR may name a folder where shs1-test@1.1.1 is already installed
# (node_modules/shs1-test); otherwise it is installed with npm into a scratch
# folder that is removed afterwards. SHS1_TIMEOUT bounds each role (default
# 300 s): the harness itself has no timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

adapter="$scratch/shs1adapter"
go build -o "$adapter" ./secure/shs/internal/shs1adapter

dir="${SHS1_TEST_DIR:-}"
if [ -z "$dir" ]; then
	dir="$scratch/npm"
	mkdir -p "$dir"
	(cd "$dir" && npm init -y >/dev/null && timeout 300 npm install --no-audit --no-fund --loglevel=error shs1-test@1.1.1)
fi
harness="$dir/node_modules/shs1-test"
version=$(node -p "require('$harness/package.json').version")
if [ "$version" != "1.1.1" ]; then
	echo "shs1-test is $version, want 1.1.1" >&2
	exit 1
fi

total=45
status=0
for role in server client; do
	log="$scratch/$role.log"
	set +e
	timeout "${SHS1_TIMEOUT:-300}" node "$harness/test-$role.js" "$adapter" "${SHS1_SEED:-}" >"$log" 2>&1
	rc=$?
	set -e
	if [ "$rc" -eq 124 ]; then
		echo "shs1 $role role: TIMED OUT"
		tail -n 20 "$log"
		status=1
		continue
	fi
	# The harness ends with "Passed the <role> test suite =)" or "Total
	# <role> test failures: N" (and exits N). Anything else is a crash.
	if grep -q "Passed the $role test suite" "$log" && [ "$rc" -eq 0 ]; then
		failed=0
	elif failed=$(grep -oE "Total $role test failures: [0-9]+" "$log" | grep -oE '[0-9]+$'); then
		:
	else
		echo "shs1 $role role: harness did not finish (exit $rc)"
		tail -n 20 "$log"
		status=1
		continue
	fi
	echo "shs1 $role role: $((total - failed))/$total passed"
	if [ "$failed" -ne 0 ]; then
		grep -E "Failed" "$log" | sort | uniq -c | head -n 20 || true
		status=1
	fi
done
exit $status
