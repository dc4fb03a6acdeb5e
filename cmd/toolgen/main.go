// Command toolgen regenerates gen/client, gen/tools and docs/tools.md from
// api/openapi.yaml and tools.yaml. With -check it writes nothing and exits 1
// when the committed files are stale or the catalog and spec disagree.
package main

import (
	"os"

	"github.com/miosa-osa/miosa-mcp/internal/toolgen/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) }
