#!/usr/bin/env bash
# `make npm-test`: the no-Go install path, from packed tarballs, offline.
#
# 1. Builds the linux/amd64 release binary and packs @miosa/mcp and
#    @miosa/mcp-linux-x64 exactly as `make dist` and `make npm-pack` do
#    (cmd/dist), into a scratch directory.
# 2. Runs test/npm with the pinned Node 22 (.tools/, scripts/pinned-node.sh):
#    an offline install from the tarball files, `npx miosa-mcp --version`,
#    MCP sessions over `npx -y @miosa/mcp --mock` (local registry, fresh
#    cache) and `npx miosa-mcp --mock`, and the launcher against the binary
#    on EOF, SIGTERM, SIGINT, SIGHUP, a bad flag and a bad environment.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
NODE_BIN=$(./scripts/pinned-node.sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/miosa-npm-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$GO" build -o "$WORK/dist-cmd" ./cmd/dist
"$WORK/dist-cmd" -targets linux/amd64 -sbom=false -out "$WORK/dist" >/dev/null
PATH=$NODE_BIN:$PATH "$WORK/dist-cmd" npm -dist "$WORK/dist" -out "$WORK/dist/npm"
MIOSA_NPM_TEST_DIST=$WORK/dist MIOSA_NODE_BIN=$NODE_BIN "$GO" test -count=1 -timeout 10m ./test/npm/
