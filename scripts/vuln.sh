#!/usr/bin/env bash
# govulncheck over the whole module (`make vuln`), offline.
#
# The only network CI has is the Go proxy, so the vulnerability database is
# the golang.org/x/vulndb module at VULNDB_VERSION (scripts/versions.env),
# fetched by `go mod download` into the module cache like any module; its
# data/osv directory is a flat list of OSV entries, which govulncheck reads
# with -db file://…. VULNDB=https://vuln.go.dev (or any -db source) uses
# that instead. Extra arguments go to govulncheck (e.g. -show verbose).
#
# Exits non-zero when the code calls a known-vulnerable function, including
# in the Go standard library of the toolchain in use: the fix may be a
# newer Go, not a change here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/versions.env

db=${VULNDB:-}
if [[ -z $db ]]; then
	dir=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [[ ! -d $dir/data/osv ]]; then
		echo "vuln.sh: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv directory (got '$dir')" >&2
		exit 2
	fi
	db=file://$dir/data/osv
fi
echo "vuln.sh: govulncheck with the database $db ($(go env GOVERSION))" >&2
exec go tool -modfile=tools/go.mod govulncheck -db "$db" "$@" ./...
