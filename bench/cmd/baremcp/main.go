// Command baremcp is the bare mark3labs/mcp-go floor of `make bench`
// (bench/floor.NewBareServer): computer_get and env_set over the API at
// MIOSA_API_URL, plus every tool of --tools (a tools/list result, which the
// driver takes from miosa-mcp) so the catalog is the same.
//
//	baremcp [stdio] [--tools FILE]                 mcp-go's stdio server; key from MIOSA_API_KEY
//	baremcp http --listen ADDR [--tools FILE]      stateless streamable HTTP at /mcp; key per request
//
// In HTTP mode it prints "listening on HOST:PORT" to stderr.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/mark3labs/mcp-go/server"

	"github.com/miosa-osa/miosa-mcp/bench/floor"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	mode := "stdio"
	if len(args) > 0 && (args[0] == "stdio" || args[0] == "http") {
		mode, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("baremcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tools := fs.String("tools", "", "a tools/list result (JSON) whose tools are served too")
	listen := fs.String("listen", "127.0.0.1:0", "http: address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var catalog []byte
	if *tools != "" {
		b, err := os.ReadFile(*tools)
		if err != nil {
			fmt.Fprintln(stderr, "baremcp:", err)
			return 1
		}
		catalog = b
	}
	s, err := floor.NewBareServer(floor.NewAPI(os.Getenv("MIOSA_API_URL")), catalog, os.Getenv("MIOSA_API_KEY"))
	if err != nil {
		fmt.Fprintln(stderr, "baremcp:", err)
		return 1
	}
	if mode == "stdio" {
		if err := server.ServeStdio(s); err != nil {
			fmt.Fprintln(stderr, "baremcp:", err)
			return 1
		}
		return 0
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "baremcp:", err)
		return 1
	}
	fmt.Fprintf(stderr, "listening on %s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.Handle("/mcp", floor.BareHTTPHandler(s))
	fmt.Fprintln(stderr, "baremcp:", http.Serve(ln, mux))
	return 1
}
