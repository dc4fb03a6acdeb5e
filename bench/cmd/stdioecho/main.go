// Command stdioecho is the floor for a Go MCP-shaped server, with no MCP
// work at all:
//
//   - By default it answers each JSON-RPC line on stdin with an empty result
//     carrying the same id, until stdin closes (the stdio hop alone).
//   - With STDIOECHO_GET=URL it first GETs that URL for each line (keep-alive,
//     body read in full): the smallest stdio-to-HTTP proxy, the same process
//     hops as miosa-mcp over stdio.
//   - With STDIOECHO_HTTP=ADDR too it serves HTTP on ADDR instead: each POST
//     body is read, URL is fetched, and a fixed JSON-RPC result is returned
//     (the smallest HTTP-to-HTTP proxy). It prints "listening on HOST:PORT"
//     to stderr.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	target := os.Getenv("STDIOECHO_GET")
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	fetch := func() {
		if target == "" {
			return
		}
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+os.Getenv("MIOSA_API_KEY"))
		if resp, err := cl.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if addr := os.Getenv("STDIOECHO_HTTP"); addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "listening on %s\n", ln.Addr())
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			fetch()
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
		}))
		return
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			var m struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal(line, &m) == nil && len(m.ID) > 0 {
				fetch()
				os.Stdout.Write([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":{}}` + "\n"))
			}
		}
		if err != nil {
			return
		}
	}
}
