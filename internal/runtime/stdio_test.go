package runtime_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// rawStdio serves srv with ServeStdio on in-memory pipes; the test writes
// lines to in and reads lines from out. Stopping ends the input (EOF) and
// waits for ServeStdio.
type rawStdio struct {
	in   *io.PipeWriter
	out  *bufio.Scanner
	done chan error
}

func serveRaw(t *testing.T, srv *runtime.Server, o runtime.StdioOptions) *rawStdio {
	t.Helper()
	srvIn, in := io.Pipe()
	outR, srvOut := io.Pipe()
	r := &rawStdio{in: in, out: bufio.NewScanner(outR), done: make(chan error, 1)}
	r.out.Buffer(make([]byte, 64<<10), 16<<20)
	go func() { r.done <- srv.ServeStdio(context.Background(), srvIn, srvOut, o) }()
	t.Cleanup(func() {
		in.Close()
		go io.Copy(io.Discard, outR) // let the writer drain
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("ServeStdio after EOF: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("ServeStdio did not return after EOF")
		}
		srvOut.Close()
		outR.Close()
	})
	return r
}

func (r *rawStdio) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(r.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// next reads the next output line as a generic JSON-RPC message.
func (r *rawStdio) next(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	if !r.out.Scan() {
		t.Fatalf("stdout ended: %v", r.out.Err())
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.out.Bytes(), &m); err != nil {
		t.Fatalf("stdout line is not JSON: %q", r.out.Text())
	}
	return m
}

const stdioInit = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`

// TestStdioProgressPrecedesResponse: the single writer puts every progress
// notification a call sent before that call's response, the last one
// included (mcp-go's StdioServer could write it after, or drop it).
func TestStdioProgressPrecedesResponse(t *testing.T) {
	var polls atomic.Int32
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		status := "creating"
		if r.Method == http.MethodGet && polls.Add(1) >= 3 {
			status = "running"
		}
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "w9", "status": status}})
	})
	srv, _ := newRuntime(t, up.Base(), func(o *runtime.Options) { o.Mode = runtime.ModeStdio })
	r := serveRaw(t, srv, runtime.StdioOptions{Key: runtime.NewAPIKey(testKey)})
	r.send(t, stdioInit)
	r.next(t)
	r.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	for round := range 3 {
		polls.Store(0)
		r.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"widget_create","arguments":{"name":"w","wait":true,"wait_timeout_sec":10},"_meta":{"progressToken":"tok-%d"}}}`, round+1, round))
		var progress []string
		for {
			m := r.next(t)
			if string(m["method"]) == `"notifications/progress"` {
				progress = append(progress, string(m["params"]))
				continue
			}
			if string(m["id"]) != fmt.Sprint(round+1) || !strings.Contains(string(m["result"]), "Ready: w9 is running") {
				t.Fatalf("round %d: unexpected message %v", round, m)
			}
			break
		}
		// initial status, 3 polls, and the final "is running".
		if len(progress) != 5 || !strings.Contains(progress[4], "is running") || !strings.Contains(progress[0], fmt.Sprintf("tok-%d", round)) {
			t.Fatalf("round %d: %d notifications before the response %q; want 5 ending with the ready one", round, len(progress), progress)
		}
	}
}

// TestStdioNotificationPrecedesResponseUnderLoad: a notification a handler
// sends just before it returns is written before its response, also when
// workers write their responses themselves while the writer goroutine is
// busy with other calls' notifications (stdioConn.sendResponse). Many
// calls at once, each sending one notification as its last act, so that
// the writer has often just taken a notification off its channel when the
// response is ready.
func TestStdioNotificationPrecedesResponseUnderLoad(t *testing.T) {
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) { testsupport.WriteJSON(w, 200, map[string]any{}) })
	var srv *runtime.Server
	srv, _ = newRuntime(t, up.Base(), func(o *runtime.Options) {
		o.Mode = runtime.ModeStdio
		o.ExtraTools = []server.ServerTool{{
			Tool: mcp.NewToolWithRawSchema("note_then_answer", "Sends a notification, then answers (test only).", json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`)),
			Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				n := req.GetInt("n", -1)
				if err := srv.MCP().SendNotificationToClient(ctx, "notifications/message", map[string]any{"level": "info", "data": fmt.Sprint("call-", n)}); err != nil {
					return mcp.NewToolResultError(err.Error()), nil
				}
				return mcp.NewToolResultText(fmt.Sprint("answer-", n)), nil
			},
		}}
	})
	const calls = 2000
	// A queue for every call: none is refused as busy, however slowly the
	// workers go (-race, a loaded machine).
	r := serveRaw(t, srv, runtime.StdioOptions{Key: runtime.NewAPIKey(testKey), Queue: calls})
	r.send(t, stdioInit)
	r.next(t)
	r.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	go func() {
		for n := range calls {
			fmt.Fprintf(r.in, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"note_then_answer","arguments":{"n":%d}}}`+"\n", n, n)
		}
	}()
	noted := map[string]bool{}
	for answered := 0; answered < calls; {
		m := r.next(t)
		if string(m["method"]) == `"notifications/message"` {
			var p struct{ Data string }
			json.Unmarshal(m["params"], &p)
			noted[strings.TrimPrefix(p.Data, "call-")] = true
			continue
		}
		id := string(m["id"])
		if !strings.Contains(string(m["result"]), "answer-"+id) {
			t.Fatalf("unexpected message %v", m)
		}
		if !noted[id] {
			t.Fatalf("the response to call %s was written before the notification that call sent", id)
		}
		answered++
	}
}

// rootsTool asks the client for its roots through the session, as a
// local-files tool will.
func rootsTool(srv **runtime.Server) server.ServerTool {
	return server.ServerTool{
		Tool: mcp.NewToolWithRawSchema("which_roots", "Lists the client's roots (test only).", json.RawMessage(`{"type":"object","properties":{}}`)),
		Handler: func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := (*srv).MCP().RequestRoots(ctx, mcp.ListRootsRequest{})
			if err != nil {
				return mcp.NewToolResultError("roots: " + err.Error()), nil
			}
			var uris []string
			for _, r := range res.Roots {
				uris = append(uris, r.URI)
			}
			return mcp.NewToolResultText(strings.Join(uris, ",")), nil
		},
	}
}

type fakeRoots struct {
	calls atomic.Int32
	fail  bool
}

func (f *fakeRoots) ListRoots(ctx context.Context, _ mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	n := f.calls.Add(1)
	if f.fail {
		return nil, errors.New("no roots here")
	}
	return &mcp.ListRootsResult{Roots: []mcp.Root{{URI: "file:///work/a", Name: "a"}, {URI: fmt.Sprintf("file:///work/call-%d", n)}}}, nil
}

// TestStdioServerToClientRequest: a handler's roots/list request reaches the
// client, and the client's answer (or error) is routed back to the handler
// that asked, also with several asking at once.
func TestStdioServerToClientRequest(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprint("client-fails=", fail), func(t *testing.T) {
			up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) { testsupport.WriteJSON(w, 200, map[string]any{}) })
			var srv *runtime.Server
			srv, _ = newRuntime(t, up.Base(), func(o *runtime.Options) {
				o.Mode = runtime.ModeStdio
				o.ExtraTools = []server.ServerTool{rootsTool(&srv)}
			})
			roots := &fakeRoots{fail: fail}
			srvIn, cliOut := io.Pipe()
			cliIn, srvOut := io.Pipe()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.ServeStdio(ctx, srvIn, srvOut, runtime.StdioOptions{}) }()
			c := mcpclient.NewClient(transport.NewIO(cliIn, cliOut, io.NopCloser(strings.NewReader(""))), mcpclient.WithRootsHandler(roots))
			t.Cleanup(func() {
				c.Close()
				cliOut.Close()
				cancel()
				<-done
				srvOut.Close()
				srvIn.Close()
			})
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = "2025-11-25"
			init.Params.ClientInfo = mcp.Implementation{Name: "roots-client", Version: "0"}
			init.Params.Capabilities.Roots = &struct {
				ListChanged bool `json:"listChanged,omitempty"`
			}{}
			if _, err := c.Initialize(context.Background(), init); err != nil {
				t.Fatal(err)
			}
			const n = 8
			results := make(chan string, n)
			for range n {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					req := mcp.CallToolRequest{}
					req.Params.Name = "which_roots"
					res, err := c.CallTool(ctx, req)
					if err != nil {
						results <- "error " + err.Error()
						return
					}
					results <- fmt.Sprint(res.IsError, " ", testsupport.ResultText(res))
				}()
			}
			seen := map[string]bool{}
			for range n {
				got := <-results
				if fail {
					if !strings.HasPrefix(got, "true") || !strings.Contains(got, "no roots here") {
						t.Errorf("a client error: %q, want it reported to the handler", got)
					}
					continue
				}
				if !strings.HasPrefix(got, "false file:///work/a,file:///work/call-") {
					t.Errorf("roots: %q", got)
				}
				seen[got] = true
			}
			if !fail && len(seen) != n {
				t.Errorf("%d distinct answers for %d requests: answers were not routed to their own request", len(seen), n)
			}
			if got := roots.calls.Load(); got != n {
				t.Errorf("client asked %d times, want %d", got, n)
			}
		})
	}
}

// TestStdioNeverWritesOrLogsTheKey: what the stdio loop writes and logs by
// itself, not only what tool handlers return, carries no piece of the
// session's key: mcp-go's error for an unknown tool quotes the name the
// client sent (here the key), and a response to no pending request is
// logged with its id (here the key).
func TestStdioNeverWritesOrLogsTheKey(t *testing.T) {
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) { testsupport.WriteJSON(w, 200, map[string]any{}) })
	var logs testsupport.Buffer
	srv, _ := newRuntime(t, up.Base(), func(o *runtime.Options) {
		o.Mode = runtime.ModeStdio
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	r := serveRaw(t, srv, runtime.StdioOptions{Key: runtime.NewAPIKey(scrubKey)})
	r.send(t, stdioInit)
	r.next(t)
	r.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	r.send(t, `{"jsonrpc":"2.0","id":"`+scrubKey+`","result":{}}`) // answers nothing the server asked
	r.send(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+scrubKey+`","arguments":{}}}`)
	if !r.out.Scan() {
		t.Fatalf("no answer to the call: %v", r.out.Err())
	}
	line := r.out.Text()
	if !json.Valid([]byte(line)) || !strings.Contains(line, `"id":1`) || !strings.Contains(line, runtime.Redacted) {
		t.Errorf("the answer naming the key: %s, want it valid JSON-RPC with the key redacted", line)
	}
	if leaks(line, scrubSecret) {
		t.Errorf("stdout leaks the key: %s", line)
	}
	if !strings.Contains(logs.String(), "dropped a response") {
		t.Fatalf("the stray response was not logged:\n%s", logs.String())
	}
	if leaks(logs.String(), scrubSecret) {
		t.Errorf("the log leaks the key:\n%s", logs.String())
	}
}
