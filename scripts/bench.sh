#!/usr/bin/env bash
# The benchmarks behind BENCHMARKS.md (`make bench` runs this after `make build`).
#
#   ./scripts/bench.sh                      # everything, a few minutes
#   ./scripts/bench.sh --only stdio,http    # driver flags pass through
#   BENCH_STRICT=1 ./scripts/bench.sh       # exit 1 when a target is missed
#   BENCH_GOTEST=0 ./scripts/bench.sh       # skip the go test -bench part
#
# Two parts, one run, one machine:
#   1. go test -bench ./bench/ — the in-process per-call path (validation,
#      binding, upstream request, result shaping against httptest), tools/list
#      rendering, start-up work and the strict message check, so regressions
#      show up in plain `go test -bench` too.
#   2. bench/cmd/benchdriver — spawns bin/miosa-mcp and measures tools/list
#      size, cold start, per-call overhead over stdio, HTTP throughput at
#      1/16/64 clients, memory, generator wall time and local-file transfers
#      (50 MiB both ways, a 200-file tree), each next to a baseline
#      measured in the same run; prints a summary table and writes
#      results.md / results.json to bin/bench/.
# Numbers are only comparable on an otherwise idle machine: the driver records
# the load average and CPU pressure before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
OUT="${BENCH_OUT:-bin/bench}"
BIN="${BENCH_BIN:-bin/miosa-mcp}"
mkdir -p "$OUT"

if [ ! -x "$BIN" ]; then
	"$GO" build -trimpath -o "$BIN" ./cmd/miosa-mcp
fi
"$GO" build -o "$OUT/benchdriver" ./bench/cmd/benchdriver
"$GO" build -o "$OUT/stdioecho" ./bench/cmd/stdioecho

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
if [ "${BENCH_GOTEST:-1}" != 0 ]; then
	echo "== go test -bench ./bench/ (in-process)"
	"$GO" test -count=1 -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" ./bench/ | tee "$OUT/gotest-bench.txt"
fi

echo "== bench/cmd/benchdriver --bin $BIN $*"
args=(--bin "$BIN" --out "$OUT")
if [ "${BENCH_STRICT:-0}" != 0 ]; then
	args+=(--strict)
fi
"$OUT/benchdriver" "${args[@]}" "$@"
