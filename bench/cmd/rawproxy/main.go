// Command rawproxy is the no-MCP-library floor of `make bench`
// (bench/floor.RawProxy): JSON-RPC lines or POST bodies in, the same
// upstream request as miosa-mcp's computer_get or env_set, the upstream
// body out as a tool result.
//
//	rawproxy [stdio]               one line at a time; key from MIOSA_API_KEY
//	rawproxy http --listen ADDR    one POST /mcp at a time per connection; key per request
//
// In HTTP mode it prints "listening on HOST:PORT" to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/miosa-osa/miosa-mcp/bench/floor"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	mode := "stdio"
	if len(args) > 0 && (args[0] == "stdio" || args[0] == "http") {
		mode, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("rawproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "http: address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p := &floor.RawProxy{API: floor.NewAPI(os.Getenv("MIOSA_API_URL"))}
	if mode == "stdio" {
		if err := p.ServeStdio(context.Background(), os.Stdin, os.Stdout, os.Getenv("MIOSA_API_KEY")); err != nil {
			fmt.Fprintln(stderr, "rawproxy:", err)
			return 1
		}
		return 0
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "rawproxy:", err)
		return 1
	}
	fmt.Fprintf(stderr, "listening on %s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.Handle("/mcp", p)
	fmt.Fprintln(stderr, "rawproxy:", http.Serve(ln, mux))
	return 1
}
