#!/usr/bin/env bash
# Runs every benchmark behind BENCHMARKS.md, table by table, and keeps the
# raw output in $OUT (default bench-out/, ignored by git). Not part of CI:
# it takes about 5 minutes and wants a quiet machine (it prints the load
# average before and after). Summarise a file with benchstat, e.g.
#   benchstat bench-out/shs-streams.txt
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
run() {
	local name=$1
	shift
	printf '\n== %s: %s\n' "$name" "$*"
	"$@" 2>&1 | tee "$OUT/$name.txt"
}
uptime | tee "$OUT/load-before.txt"
go version | tee "$OUT/go-version.txt"

run shs-streams go test -run '^$' -benchmem -count=5 -benchtime=5x \
	-bench '^Benchmark(Secretbox4K|XSalsa4K|(TCP|TLS|BoxStream)(OneWay|Echo))$' ./secure/shs/
run shs-handshakes go test -run '^$' -benchmem -count=5 -benchtime=1s \
	-bench '^Benchmark(TCPConnect|TLSHandshakeTCP|HandshakeTCP|HandshakePipe|HandshakePipeUncached|HandshakeCrypto|X25519)$' ./secure/shs/
run shs-curve go test -run '^$' -count=5 -bench '^Benchmark(Curve|X25519Ladder|X25519Portable|MulPeer)$' \
	./secure/shs/internal/shake/
run shs-idle go test -run '^$' -count=3 -benchtime=1x -bench '^BenchmarkIdleConnHeap$' ./secure/shs/
run stacks go test -run '^$' -benchmem -count=5 -benchtime=5x -bench '^BenchmarkStack(OneWay|Echo)$' .
run dial-identities go test -run '^$' -count=5 -benchtime=4000x -bench '^BenchmarkDialIdentities$' .
run http go test -run '^$' -benchmem -count=5 -benchtime=2000x -bench '^BenchmarkHTTPRequest$' .
run slowloris go test -run '^$' -count=3 -benchtime=200x -bench '^BenchmarkAcceptUnderSlowloris$' .
if [ -d interop/node_modules ]; then
	run interop go test -run '^$' -count=3 -benchtime=5x -bench '^BenchmarkNetSHS$' ./interop/
	run cli-echo scripts/cli-bench.sh 6
else
	echo "interop: skipped (run: cd interop && npm ci)"
fi
run serial go test -run '^$' -count=3 -benchtime=2s -bench '^Benchmark(PTYWrite|PTYRead|SHSEchoOverSerial)$' ./serialport/
run soak-idle go run ./internal/soak -mode idle -n 10000
run soak-flood go run ./internal/soak -mode flood -clients 64 -duration 10s
uptime | tee "$OUT/load-after.txt"
