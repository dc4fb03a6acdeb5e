#!/usr/bin/env bash
# Validates deploy/kubernetes offline (`make k8s-validate`; docs/hosting.md):
#
# 1. renders the base and every overlay with the pinned kustomize;
# 2. writes standalone strict JSON schemas for the kinds they use, made from
#    Kubernetes' own OpenAPI document and the Prometheus Operator's
#    ServiceMonitor CRD at pinned releases (Go modules, through the module
#    proxy: see deploy/kubernetes/validate/source.go);
# 3. validates the rendered objects with the pinned kubeconform -strict;
# 4. runs deploy/kubernetes/validate's tests: schema conversion, misspelt
#    fields caught, and the manifests against the real binary (flags, probe
#    paths, ports, SIGTERM) and against each other.
#
# Needs bin/miosa-mcp (the make target builds it). The rendered manifests
# are left in .tools/k8s-rendered/ (what `kubectl apply -k` would send), the
# schemas in .tools/k8s-schemas/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN=${MIOSA_MCP_BIN:-$ROOT/bin/miosa-mcp}
SCHEMAS=.tools/k8s-schemas
RENDERED=.tools/k8s-rendered
VALIDATE=deploy/kubernetes/validate

say() { printf 'k8s-validate: %s\n' "$*" >&2; }
[[ -x $BIN ]] || {
	say "FAIL: $BIN not found; run 'make build' (or 'make k8s-validate')"
	exit 1
}
tool() { go tool -modfile=tools/go.mod "$@"; }

rm -rf "$RENDERED" "$SCHEMAS"
mkdir -p "$RENDERED"
dirs=(deploy/kubernetes/base)
for k in deploy/kubernetes/overlays/*/kustomization.yaml; do
	dirs+=("$(dirname "$k")")
done
files=()
for d in "${dirs[@]}"; do
	f=$RENDERED/$(tr / _ <<<"${d#deploy/kubernetes/}").yaml
	tool kustomize build "$d" >"$f"
	files+=("$f")
	say "rendered $d: $(grep -c '^kind: ' "$f") objects"
done

version=$(go -C "$VALIDATE" run ./cmd/k8s-schemas -out "$ROOT/$SCHEMAS" "${files[@]/#/$ROOT/}")
say "kubeconform -strict -summary -kubernetes-version $version -schema-location $SCHEMAS ${files[*]}"
tool kubeconform -strict -summary -kubernetes-version "$version" -schema-location "$SCHEMAS" "${files[@]}" || {
	say "FAIL: kubeconform"
	exit 1
}

(
	cd "$VALIDATE"
	out=$(gofmt -l .)
	[[ -z $out ]] || {
		say "gofmt needed: $out"
		exit 1
	}
	go vet ./...
	go mod tidy -diff
	MIOSA_MCP_BIN=$BIN go test -count=1 ./...
)
say "ok"
