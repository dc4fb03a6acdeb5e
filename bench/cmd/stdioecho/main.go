// Command stdioecho is the floor for any Go stdio server, with no work at
// all: it answers each JSON-RPC line on stdin with an empty result carrying
// the same id, until stdin closes. `make bench` uses it for the stdio hop
// alone (a pipe round trip) and as the cold-start floor of a Go binary.
// (The stdio→HTTP and HTTP→HTTP proxies it once also played are
// bench/cmd/rawproxy.)
package main

import (
	"bufio"
	"encoding/json"
	"os"
)

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			var m struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal(line, &m) == nil && len(m.ID) > 0 {
				os.Stdout.Write([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":{}}` + "\n"))
			}
		}
		if err != nil {
			return
		}
	}
}
