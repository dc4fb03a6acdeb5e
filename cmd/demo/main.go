// Command demo drives a real MCP session against `miosa-mcp --mock` over
// stdio and prints each step: initialize, tools/list, a sandbox (create with
// wait and progress, exec, write and read a file), a computer (create with
// wait, screenshot saved as a PNG), then destroys what it created.
//
//	go run ./cmd/demo --bin bin/miosa-mcp [--out-dir demo-output]
//
// `make demo` builds the binary and runs this. Nothing leaves the machine:
// the binary serves the offline mock of the MIOSA API on a loopback port.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
