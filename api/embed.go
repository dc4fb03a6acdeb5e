// Package api holds the OpenAPI description of the MIOSA cloud REST API.
package api

import _ "embed"

// OpenAPI is openapi.yaml, embedded so that packages outside this directory
// (the offline mock, tests) can load the spec without a file path: go:embed
// cannot reach files above a package's own directory.
//
//go:embed openapi.yaml
var OpenAPI []byte
