// Command miosa-mcp is the MCP server for the MIOSA cloud. See
// `miosa-mcp --help` and the README.
package main

import (
	"context"
	"os"

	"github.com/miosa-osa/miosa-mcp/internal/app"
)

func main() {
	os.Exit(app.Run(context.Background(), os.Args[1:], app.Env{
		Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}))
}
