#!/usr/bin/env bash
# Echo of 50 MB through the CLI next to the library and JS<->JS, one run,
# interleaved, so the ratios hold on a shared machine (issue 21):
#
#   scripts/cli-bench.sh [COUNT]     # COUNT rounds, default 6
#
# Each round prints, in go test's format (benchstat reads it):
#   CLIEcho50MB      ms listen --echo + ms dial < 50 MB file > file, the
#                    dialling process timed whole (start-up, handshake,
#                    transfer, goodbye)
#   JSEcho50MB       node interop/js/server.js + interop/js/client.js with
#                    the same 50 MB, the client process timed whole
#   BoxStreamEcho,   the library figures (secure/shs), one go test each
#   XSalsa4K, Secretbox4K
# Needs interop's npm packages (cd interop && npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-6}"
size=50000000
appkey='1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

tmp=$(mktemp -d)
pids=()
cleanup() {
	exec 3>&- 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/ms" ./cmd/ms
go test -c -o "$tmp/shs.test" ./secure/shs
head -c "$size" /dev/urandom >"$tmp/in"

firstline() { # wait up to 10 s for a first line in $1
	for _ in $(seq 100); do
		if [ -s "$1" ] && head -1 "$1" | grep -q .; then head -1 "$1"; return; fi
		sleep 0.1
	done
	echo "no address in $1" >&2
	exit 1
}

"$tmp/ms" listen --echo 'net:127.0.0.1:0~shs' >"$tmp/ms.addr" 2>"$tmp/ms.log" &
pids+=($!)
msaddr=$(firstline "$tmp/ms.addr")

mkfifo "$tmp/js.in"
node interop/js/server.js --stacks net --seed cli-bench --appkey "$appkey" <"$tmp/js.in" >"$tmp/js.addr" 2>"$tmp/js.log" &
pids+=($!)
exec 3>"$tmp/js.in"
jsaddr=$(firstline "$tmp/js.addr")

now() { date +%s%N; }
report() { # name start end
	awk -v n="$1" -v s="$2" -v e="$3" -v b="$size" \
		'BEGIN { printf "Benchmark%s 1 %.0f ns/op %.2f MB/s\n", n, e - s, b / ((e - s) / 1e3) }'
}

for _ in $(seq "$count"); do
	s=$(now)
	"$tmp/ms" dial "$msaddr" <"$tmp/in" >"$tmp/out" 2>>"$tmp/dial.log"
	e=$(now)
	cmp -s "$tmp/in" "$tmp/out" || { echo "ms dial: the echo differs" >&2; exit 1; }
	report CLIEcho50MB "$s" "$e"

	s=$(now)
	node interop/js/client.js "$jsaddr" "$size" --seed cli-bench-client --appkey "$appkey" --deadline 300000 >"$tmp/js.out"
	e=$(now)
	report JSEcho50MB "$s" "$e"

	"$tmp/shs.test" -test.run '^$' -test.count 1 -test.benchtime 5x \
		-test.bench '^Benchmark(BoxStreamEcho|XSalsa4K|Secretbox4K)$' | grep '^Benchmark'
done
