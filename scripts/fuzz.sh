#!/usr/bin/env bash
# Run every Go fuzz target in the module for a while each.
#
#   ./scripts/fuzz.sh 10s     # what `make fuzz-short` (and so `make test`) runs
#   ./scripts/fuzz.sh 5m      # a longer session (`make fuzz FUZZTIME=5m`)
#
# Targets are found, not listed here: every package with a `func Fuzz…` in a
# _test.go file is asked for its targets with `go test -list '^Fuzz'`, and
# each target runs alone (go test -fuzz takes one target per run). Seed
# corpora live in <package>/testdata/fuzz/<Target>/; a failing input found
# here is written there too, so it becomes a regular test case.
set -euo pipefail

fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."

pkgs=""
while read -r importpath dir; do
	if grep -qE '^func Fuzz[A-Za-z0-9_]*\(' "$dir"/*_test.go 2>/dev/null; then
		pkgs="$pkgs $importpath"
	fi
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ./...)
if [ -z "$pkgs" ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

count=0
for pkg in $pkgs; do
	targets=$(go test -list '^Fuzz' "$pkg" | grep -E '^Fuzz' || true)
	for target in $targets; do
		echo "== $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
		count=$((count + 1))
	done
done
echo "fuzz.sh: $count target(s) fuzzed for $fuzztime each"
