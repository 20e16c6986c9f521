#!/usr/bin/env bash
# Runs every fuzz target (func FuzzXxx) of the module, one after another.
#
#   scripts/fuzz.sh                      # each target for FUZZTIME (default 5s; CI)
#   FUZZTIME=10m scripts/fuzz.sh         # the long run
#   FUZZTIME=1m scripts/fuzz.sh shs      # only targets whose "package.FuzzName" matches the regexp
#
# FUZZTIME takes what go test -fuzztime takes (10m, 30s, 100000x).
# FUZZPARALLEL sets the fuzzing workers per target (go test -parallel;
# default GOMAXPROCS).
#
# Targets are found with `go test -list` in every package of this module
# whose tests define one, so a new target is picked up without editing this
# file. The script exits non-zero if any target fails. A failing input is
# written by go test to <package>/testdata/fuzz/<FuzzName>/<hash>; once the
# bug is fixed, commit that file: plain `go test` then runs it as a
# regression test for ever.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-5s}"
filter="${1:-.}"
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

targets=()
while read -r pkg dir; do
	# Only packages whose test files define a fuzz target need compiling.
	if ! grep -qs '^func Fuzz' "$dir"/*_test.go; then
		continue
	fi
	while read -r name; do
		case "$name" in Fuzz*) ;; *) continue ;; esac
		if printf '%s.%s\n' "$pkg" "$name" | grep -qE -- "$filter"; then
			targets+=("$pkg $name")
		fi
	done < <(go test -list '^Fuzz' "$pkg")
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ./...)

if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz.sh: no fuzz target matches '$filter'" >&2
	exit 1
fi

# fuzz_one runs one target. Go 1.26's fuzz coordinator can fail a target
# with a bare "context deadline exceeded" when -fuzztime ends while a worker
# is busy (golang/go#75804, fixed in Go 1.27): no input is written and
# nothing was found. Such a run is repeated (twice at most); a run that
# writes a failing input, or fails any other way, fails at once.
fuzz_one() {
	local pkg=$1 name=$2 dir log try
	dir=$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name
	log=$(mktemp)
	for try in 1 2 3; do
		local before
		before=$(ls "$dir" 2>/dev/null | wc -l)
		if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
			rm -f "$log"
			return 0
		fi
		if [ "$(ls "$dir" 2>/dev/null | wc -l)" -ne "$before" ] ||
			! grep -A1 -- "^--- FAIL: $name " "$log" | grep -q '^    context deadline exceeded$'; then
			rm -f "$log"
			return 1
		fi
		[ "$try" -lt 3 ] && echo "fuzz.sh: $name stopped with the Go 1.26 fuzz-coordinator race (golang/go#75804), no input written; running it again"
	done
	rm -f "$log"
	return 1
}

echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each"
failed=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	printf '\n== %s %s (%s)\n' "$pkg" "$name" "$(date -u +%T)"
	if ! fuzz_one "$pkg" "$name"; then
		failed+=("$pkg $name")
	fi
done

if [ "${#failed[@]}" -gt 0 ]; then
	printf '\nfuzz.sh: %d of %d targets FAILED:\n' "${#failed[@]}" "${#targets[@]}"
	printf '  %s\n' "${failed[@]}"
	echo "New failing inputs (commit them with the fix as regression tests):"
	git status --porcelain --untracked-files=all -- '*/testdata/fuzz/*' 'testdata/fuzz/*' | sed 's/^/  /'
	exit 1
fi
printf '\nfuzz.sh: all %d targets passed\n' "${#targets[@]}"
