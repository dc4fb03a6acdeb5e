# miosa-mcp — every CI step is a target here; .ci/run calls `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/miosa-mcp

.PHONY: help generate check-generate build dist npm-pack npm-test test unit race lint vet fmt-check tidy-check conformance fuzz-short fuzz bench demo docker clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

generate: ## regenerate gen/ and docs/tools.md from api/openapi.yaml and tools.yaml
	$(GO) generate ./...

check-generate: ## fail when generated code is stale or the catalog and spec disagree
	$(GO) run ./cmd/gen -check

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

lint: fmt-check vet tidy-check ## gofmt, go vet, go mod tidy -diff

race: ## all Go tests with the race detector
	$(GO) test -race -count=1 -timeout 20m ./...

fuzz-short: ## run every fuzz target briefly
	./scripts/fuzz.sh 10s

fuzz: ## run every fuzz target for longer (FUZZTIME=5m)
	./scripts/fuzz.sh $${FUZZTIME:-2m}

conformance: build ## official MCP conformance suite against the HTTP server (installs Node 22 + the suite from npm)
	./scripts/conformance.sh

test: lint check-generate race fuzz-short conformance npm-test ## everything CI runs

bench: build ## benchmarks: tools/list size, cold start, per-call overhead, HTTP throughput, memory
	./scripts/bench.sh

demo: build ## drive a real MCP session against the offline mock
	$(GO) run ./cmd/demo --bin $(BIN)

docker: ## build the container image
	docker build -t miosa-mcp .

clean:
	rm -rf bin dist .tools
