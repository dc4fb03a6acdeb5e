# miosa-mcp — every CI step is a target here; .ci/run calls `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/miosa-mcp

# Go developer tools are pinned in tools/go.mod; the versions of the others
# (the Go toolchain, Node, the npm suites, the vulnerability database) in
# scripts/versions.env.
include scripts/versions.env
# Every recipe, script and test below builds with the pinned toolchain,
# unless GOTOOLCHAIN is set in the environment.
export GOTOOLCHAIN ?= $(GO_TOOLCHAIN)
TOOL := $(GO) tool -modfile=tools/go.mod

.PHONY: help generate check-generate update-golden build dist npm-pack npm-test test race lint vet fmt-check tidy-check staticcheck unparam vuln conformance clients k8s-validate fuzz-short fuzz bench demo docker clean

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*##' $(firstword $(MAKEFILE_LIST)) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

generate: ## regenerate gen/ and docs/tools.md from api/openapi.yaml and tools.yaml
	$(GO) generate ./...

check-generate: ## fail when generated code is stale or the catalog and spec disagree
	$(GO) run ./cmd/toolgen -check

update-golden: ## rewrite the golden files of every test with an -update flag (review the diff)
	$(GO) test -count=1 $$(git grep -l 'flag.Bool("update"' -- '*_test.go' | xargs -n1 dirname | sort -u | sed 's|^|./|') -update

build: ## build bin/miosa-mcp
	$(GO) build -trimpath -o $(BIN) ./cmd/miosa-mcp

dist: ## release archives for linux, darwin, windows × amd64, arm64 in dist/: .tar.gz/.zip, SHA256SUMS, CycloneDX SBOMs (reproducible)
	rm -rf dist
	$(GO) run ./cmd/dist -out dist

npm-pack: dist ## the @miosa/mcp npm launcher and six platform packages in dist/npm/, from the dist/ binaries (pinned Node 22)
	PATH="$$(./scripts/pinned-node.sh):$$PATH" $(GO) run ./cmd/dist npm -dist dist -out dist/npm

npm-test: ## install the packed npm tarballs offline and prove npx runs the server like the binary (pinned Node 22)
	./scripts/npm-test.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

tidy-check:
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff

staticcheck:
	$(TOOL) staticcheck ./...

unparam: ## unused parameters and results that are always the same
	$(TOOL) unparam ./...

lint: fmt-check vet tidy-check staticcheck unparam ## gofmt, go vet, go mod tidy -diff, staticcheck, unparam

vuln: ## govulncheck against the pinned vulnerability database, offline (VULNDB=https://vuln.go.dev for the live one)
	./scripts/vuln.sh

race: ## all Go tests with the race detector
	$(GO) test -race -count=1 -timeout 20m ./...

fuzz-short: ## run every fuzz target briefly
	./scripts/fuzz.sh 10s

fuzz: ## run every fuzz target for longer (FUZZTIME=5m)
	./scripts/fuzz.sh $${FUZZTIME:-2m}

conformance: build ## official MCP conformance suite against the HTTP server (installs Node 22 + the suite from npm)
	./scripts/conformance.sh

k8s-validate: build ## render deploy/kubernetes with kustomize, validate it with kubeconform (offline schemas) and against the binary
	./scripts/k8s-validate.sh

clients: build ## Claude Code, Gemini CLI and Codex headless against the mock with a fake model (installs them from npm)
	./scripts/clients.sh

test: lint check-generate race fuzz-short conformance clients k8s-validate npm-test ## everything CI runs

bench: build ## benchmarks: tools/list size, cold start, per-call overhead, HTTP throughput, memory
	./scripts/bench.sh

demo: build ## drive a real MCP session against the offline mock
	$(GO) run ./cmd/demo --bin $(BIN)

docker: ## build the container image
	docker build -t miosa-mcp .

clean:
	rm -rf bin dist .tools
