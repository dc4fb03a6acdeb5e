package main

import (
	"strings"
	"testing"
)

const traces = `File: profmcp
Type: cpu
-----------+-------------------------------------------------------
      10ms   internal/runtime/syscall/linux.Syscall6
             net/http.(*persistConn).writeLoop
-----------+-------------------------------------------------------
      20ms   encoding/json.checkValid
             encoding/json.Unmarshal
             github.com/mark3labs/mcp-go/server.(*MCPServer).HandleMessage
             github.com/miosa-osa/miosa-mcp/internal/runtime.(*stdioConn).handle
-----------+-------------------------------------------------------
     1.50s   runtime.scanObject
             runtime.gcDrain
             runtime.gcBgMarkWorker.func2
-----------+-------------------------------------------------------
      30ms   github.com/go-json-experiment/json/jsontext.(*Decoder).ReadValue
             github.com/miosa-osa/miosa-mcp/internal/runtime.(*scanner).scan
             github.com/miosa-osa/miosa-mcp/internal/runtime.checkMessage
             github.com/miosa-osa/miosa-mcp/internal/runtime.(*stdioConn).handleLine
-----------+-------------------------------------------------------
     bytes:  512B
   64.25kB   runtime.findRunnable (inline)
             runtime.schedule
`

// TestCategorize: each sample goes to the innermost frame that names a
// category, GC stacks to GC, the rest to the Go runtime; values keep their
// units.
func TestCategorize(t *testing.T) {
	samples, _, err := parseTraces([]byte(traces))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		value float64
		cat   string
	}{
		{10, "upstream path"}, {20, "mcp-go"}, {1500, "GC"}, {30, "strict check"}, {0.06425, "Go runtime"},
	}
	if len(samples) != len(want) {
		t.Fatalf("%d samples, want %d: %v", len(samples), len(want), samples)
	}
	for i, w := range want {
		if c := classify(samples[i].stack); !strings.HasPrefix(c, w.cat) || samples[i].value != w.value {
			t.Errorf("sample %d: %v in %q, want %v in %q…", i, samples[i].value, c, w.value, w.cat)
		}
	}
}
