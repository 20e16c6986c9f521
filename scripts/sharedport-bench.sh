#!/usr/bin/env bash
# The cost of sharing a port (issue 16), measured as paired rounds so that
# drift in the machine's load cancels out:
#
#   scripts/sharedport-bench.sh [ROUNDS]     # default 30
#
# Each round runs BenchmarkSharedPortHandshake (1,000 dials) and
# BenchmarkSharedPortOneWay (5 x 64 MiB) for port=dedicated and
# port=shared back to back, alternating which goes first; the raw lines go
# to $OUT (default ./sharedport-bench.txt, benchstat reads them), then the
# median of the per-round ratios shared/dedicated with a 95 % bootstrap
# interval is printed. Needs python3 for the last step.
set -euo pipefail
rounds="${1:-30}"
out="${OUT:-$PWD/sharedport-bench.txt}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go test -c -o "$tmp/ms.test" .)
: > "$out"
for i in $(seq 1 "$rounds"); do
	order="shared dedicated"
	if [ $((i % 2)) = 0 ]; then order="dedicated shared"; fi
	for bench in Handshake:1000x OneWay:5x; do
		for port in $order; do
			"$tmp/ms.test" -test.run '^$' -test.bench "BenchmarkSharedPort${bench%%:*}/port=$port\$" \
				-test.benchtime "${bench##*:}" | grep '^Benchmark' | sed "s/^/round$i /" >> "$out"
		done
	done
done
python3 - "$out" <<'PY'
import random, statistics, sys
rounds = {}
for line in open(sys.argv[1]):
    f = line.split()
    name, port = f[1].split("/port=")
    port = port.rsplit("-", 1)[0]
    # value of the unit we compare: ns/op for handshakes, MB/s one way
    unit = "ns/op" if "Handshake" in name else "MB/s"
    vals = {f[i + 1]: float(f[i]) for i in range(3, len(f) - 1, 2)}
    rounds.setdefault((name, unit), {}).setdefault(f[0], {})[port] = vals[unit]
    if "cpu-ns/op" in vals:
        rounds.setdefault((name, "cpu-ns/op"), {}).setdefault(f[0], {})[port] = vals["cpu-ns/op"]
random.seed(1)
for (name, unit), rs in rounds.items():
    r = [v["shared"] / v["dedicated"] for v in rs.values() if len(v) == 2]
    boot = sorted(statistics.median(random.choices(r, k=len(r))) for _ in range(5000))
    med = lambda p: statistics.median(v[p] for v in rs.values())
    print(f"{name} {unit}: dedicated {med('dedicated'):.6g}, shared {med('shared'):.6g}; "
          f"shared/dedicated per round, median {statistics.median(r):.3f}, "
          f"95% interval [{boot[125]:.3f}, {boot[-126]:.3f}], n={len(r)}")
PY
