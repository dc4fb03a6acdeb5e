// Command dist builds miosa-mcp's release artifacts (internal/dist).
//
//	go run ./cmd/dist [-out dist] [-targets all|linux/amd64,…] [-version v1.2.3] [-sbom=true]
//	go run ./cmd/dist npm [-dist dist] [-out dist/npm]
//
// The first form is `make dist`: static binaries for six platforms,
// reproducible .tar.gz/.zip archives, SHA256SUMS and a CycloneDX SBOM per
// binary. The second is `make npm-pack`: the @miosa/mcp launcher and one
// platform package per built binary, packed with npm (Node on PATH).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
