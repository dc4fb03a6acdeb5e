// Package gen holds the generated code: gen/client (the typed MIOSA API
// client, oapi-codegen) and gen/tools (the MCP tool catalog, jennifer). Never
// edit it by hand: change api/openapi.yaml or tools.yaml and run
// `go generate ./...` (or `make generate`).
package gen

//go:generate go run ../cmd/toolgen -root ..
