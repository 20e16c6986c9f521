#!/usr/bin/env bash
# CPU time per byte of the secure/shs stream benchmarks (issue 21): the
# whole test process's task-clock (user + system, every thread) from
# perf stat, divided by the bytes the benchmark moved, with its read and
# write system calls, and the machine's CPU steal meanwhile.
#
#   scripts/cpu-per-byte.sh [ROUNDS] [BENCH...]
#   # default: 3 rounds of TCPEcho BoxStreamEcho TLSEcho XSalsa4K Secretbox4K
#
# Needs perf (linux-perf) with access to the syscalls tracepoints. The
# process start-up and the handshake are counted too: under 1 % of an
# op of 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
shift || true
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(TCPEcho BoxStreamEcho TLSEcho XSalsa4K Secretbox4K)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/shs.test" ./secure/shs

steal() { awk '/^cpu /{print $9}' /proc/stat; }
for _ in $(seq "$rounds"); do
	for b in "${benches[@]}"; do
		s0=$(steal)
		t0=$(date +%s%N)
		perf stat -x, -o "$tmp/stat" -e task-clock,syscalls:sys_enter_read,syscalls:sys_enter_write \
			"$tmp/shs.test" -test.run '^$' -test.benchtime 5x -test.bench "^Benchmark$b\$" >"$tmp/out"
		t1=$(date +%s%N)
		s1=$(steal)
		awk -F, -v name="$b" -v s="$((s1 - s0))" -v wall="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v cpus="$(nproc)" '
			FILENAME ~ /out$/ && /^Benchmark/ { split($0, f, " "); ops = f[2]; for (i in f) if (f[i] == "MB/s") mbs = f[i-1] }
			FILENAME ~ /stat$/ && $3 == "task-clock" { ms = $1 }
			FILENAME ~ /stat$/ && $3 ~ /sys_enter_read/ { rd = $1 }
			FILENAME ~ /stat$/ && $3 ~ /sys_enter_write/ { wr = $1 }
			END {
				bytes = ops * 64 * 1048576
				printf "%-16s %8.1f MB/s  cpu %.2f ns/B  syscalls per 32 KiB %.2f  steal %.1f%%\n",
					name, mbs, ms * 1e6 / bytes, (rd + wr) * 32768 / bytes, 100 * s / hz / (cpus * wall / 1e9)
			}' "$tmp/out" "$tmp/stat"
	done
done
