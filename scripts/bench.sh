#!/usr/bin/env bash
# The benchmarks behind BENCHMARKS.md (`make bench` runs this after `make build`).
#
#   ./scripts/bench.sh                      # everything, about 3 minutes
#   ./scripts/bench.sh --only stdio,http    # driver flags pass through
#   BENCH_STRICT=1 ./scripts/bench.sh       # exit 1 when a target is missed
#   BENCH_GOTEST=0 ./scripts/bench.sh       # skip the go test -bench part
#   BENCH_PROFILE=DIR ./scripts/bench.sh    # CPU and heap profiles of the spawned
#                                           # server under the stdio and the HTTP load
#
# Two parts, one run, one machine:
#   1. go test -bench ./bench/ — the in-process per-call path (validation,
#      binding, upstream request, result shaping against httptest) beside the
#      same call through the floors of bench/floor, tools/list rendering,
#      start-up work, so regressions show up in plain `go test -bench` too.
#   2. bench/cmd/benchdriver — spawns bin/miosa-mcp and its floors (baremcp:
#      bare mcp-go with the same two calls and catalog; rawproxy: no MCP
#      library; the direct upstream call) and measures tools/list size, cold
#      start, per-call latency and CPU over stdio, HTTP throughput, p99 and
#      memory at 1/16/64 clients, interleaving the servers in rounds; prints
#      every figure beside its floors with the ratio to bare mcp-go and the
#      issue-15 target, and writes results.md / results.json to bin/bench/.
# Ratios within one run are what to compare; the driver records the load
# average and CPU pressure before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
OUT="${BENCH_OUT:-bin/bench}"
BIN="${BENCH_BIN:-bin/miosa-mcp}"
mkdir -p "$OUT"

if [ ! -x "$BIN" ]; then
	"$GO" build -trimpath -o "$BIN" ./cmd/miosa-mcp
fi
# The driver and the floors, built like the binary: baremcp (bare mcp-go),
# rawproxy (no MCP library) and stdioecho (the stdio hop alone).
"$GO" build -trimpath -o "$OUT/" ./bench/cmd/benchdriver ./bench/cmd/baremcp ./bench/cmd/rawproxy ./bench/cmd/stdioecho

if [ -n "${BENCH_PROFILE:-}" ]; then
	# bench/cmd/profmcp is miosa-mcp that writes pprof profiles on exit; one
	# driver run per load, so that the profiled server is the last to exit,
	# with more calls than a plain run for enough samples (--only comes
	# last: a --only passed to this script must not pick the load). bench/cmd/profcat
	# sorts the samples into the categories BENCHMARKS.md reports.
	"$GO" build -trimpath -o "$OUT/" ./bench/cmd/profmcp ./bench/cmd/profcat
	mkdir -p "$BENCH_PROFILE"
	for load in stdio http; do
		extra=(--calls 15000)
		if [ "$load" = http ]; then
			extra=(--levels 64 --http-rounds 3 --duration 4s)
		fi
		echo "== profiling the $load load into $BENCH_PROFILE/$load.{cpu,mem}.pprof"
		BENCH_CPUPROFILE="$BENCH_PROFILE/$load.cpu.pprof" BENCH_MEMPROFILE="$BENCH_PROFILE/$load.mem.pprof" \
			"$OUT/benchdriver" --bin "$OUT/profmcp" --out "$BENCH_PROFILE/$load" --skip-generate "${extra[@]}" "$@" --only "$load"
		{
			echo "== $load: CPU"
			"$OUT/profcat" "$OUT/profmcp" "$BENCH_PROFILE/$load.cpu.pprof"
			echo "== $load: allocated bytes"
			"$OUT/profcat" -sample alloc_space "$OUT/profmcp" "$BENCH_PROFILE/$load.mem.pprof"
		} | tee "$BENCH_PROFILE/$load.categories.txt"
	done
	exit 0
fi

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
