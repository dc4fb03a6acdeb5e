package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

const transportKey = "msk_u_transport_Vq7Lx2Rk9TzW4c"

// rawRequest is testsupport.Post with the body as a string.
func rawRequest(t *testing.T, method, url string, header map[string]string, body io.Reader) (*http.Response, string) {
	t.Helper()
	resp, b := testsupport.Post(t, method, url, header, body)
	return resp, string(b)
}

const callGet = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"cmp_1"}}}`

// TestOriginAndHost: against the binary bound to loopback, a present Origin
// that is neither loopback nor allow-listed gets 403 on every method, and a
// Host that is not loopback (DNS rebinding) gets 403; nothing reaches the
// upstream either way.
func TestOriginAndHost(t *testing.T) {
	t.Parallel()
	up := testsupport.NewUpstream(t, okData)
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL()}, "--allowed-origins", "https://ok.example, https://app.example:8443")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(h.URL, "http://"))
	cases := []struct {
		name   string
		header map[string]string
		want   int // for POST tools/call with a key
	}{
		{"no-origin", nil, 200},
		{"evil-origin", map[string]string{"Origin": "https://evil.example"}, 403},
		{"evil-origin-http", map[string]string{"Origin": "http://evil.example"}, 403},
		{"null-origin", map[string]string{"Origin": "null"}, 403},
		{"file-origin", map[string]string{"Origin": "file://"}, 403},
		{"lookalike-origin", map[string]string{"Origin": "https://ok.example.evil.example"}, 403},
		{"userinfo-origin", map[string]string{"Origin": "https://ok.example@evil.example"}, 403},
		{"allowed-origin", map[string]string{"Origin": "https://ok.example"}, 200},
		{"allowed-origin-case", map[string]string{"Origin": "HTTPS://OK.EXAMPLE"}, 200},
		{"allowed-origin-port", map[string]string{"Origin": "https://app.example:8443"}, 200},
		{"allowed-host-wrong-port", map[string]string{"Origin": "https://app.example:9443"}, 403},
		{"loopback-origin", map[string]string{"Origin": "http://localhost:3000"}, 200},
		{"loopback-ip-origin", map[string]string{"Origin": "http://127.0.0.1:5173"}, 200},
		{"rebinding-host", map[string]string{"Host": "evil.example"}, 403},
		{"rebinding-host-port", map[string]string{"Host": "evil.example:" + port}, 403},
		{"rebinding-host-and-origin", map[string]string{"Host": "evil.example:" + port, "Origin": "http://evil.example:" + port}, 403},
		{"localhost-host", map[string]string{"Host": "localhost:" + port}, 200},
		{"loopback-host", map[string]string{"Host": "127.0.0.1:" + port}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": "Bearer " + transportKey}
			for k, v := range tc.header {
				hdr[k] = v
			}
			before := up.Count()
			resp, body := rawRequest(t, "POST", h.URL+"/mcp", hdr, strings.NewReader(callGet))
			if resp.StatusCode != tc.want {
				t.Errorf("POST: status %d, want %d (%s)", resp.StatusCode, tc.want, clip(body))
			}
			if tc.want == 403 {
				if n := up.Count() - before; n != 0 {
					t.Errorf("a refused request reached the upstream (%d)", n)
				}
				// Every method is refused, not only POST.
				for _, m := range []string{"GET", "DELETE"} {
					if r, _ := rawRequest(t, m, h.URL+"/mcp", hdr, nil); r.StatusCode != 403 {
						t.Errorf("%s: status %d, want 403", m, r.StatusCode)
					}
				}
			}
		})
	}
}

// TestBodyLimit: bodies over --max-body-bytes get 413, whether announced
// by Content-Length or streamed chunked, with or without a key.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	up := testsupport.NewUpstream(t, okData)
	const limit = 64 << 10
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL()}, "--max-body-bytes", fmt.Sprint(limit))
	body := func(n int) string {
		// A valid tools/call padded with whitespace to n bytes.
		return callGet + strings.Repeat(" ", n-len(callGet))
	}
	cases := []struct {
		name    string
		size    int
		chunked bool
		auth    bool
		want    int
	}{
		{"at-limit", limit, false, true, 200},
		{"at-limit-chunked", limit, true, true, 200},
		{"over-by-one", limit + 1, false, true, 413},
		{"over-by-one-chunked", limit + 1, true, true, 413},
		{"6MiB", 6 << 20, false, true, 413},
		{"6MiB-chunked", 6 << 20, true, true, 413},
		{"over-chunked-no-key", 2 * limit, true, false, 413},
		{"over-no-key", 2 * limit, false, false, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.Count()
			var r io.Reader = strings.NewReader(body(tc.size))
			if tc.chunked {
				r = struct{ io.Reader }{r} // hides the length: sent chunked
			}
			hdr := map[string]string{}
			if tc.auth {
				hdr["Authorization"] = "Bearer " + transportKey
			}
			resp, out := rawRequest(t, "POST", h.URL+"/mcp", hdr, r)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.want, clip(out))
			}
			if tc.want == 413 && (!strings.Contains(out, "exceeds") || up.Count() != before) {
				t.Errorf("want a JSON-RPC error naming the limit and nothing upstream; body %s, upstream +%d", clip(out), up.Count()-before)
			}
		})
	}
}

// TestHeaderReadTimeout: a client that never finishes its headers is
// disconnected after --header-read-timeout (ReadHeaderTimeout; 1 s here,
// 10 s by default), and meanwhile others are served.
func TestHeaderReadTimeout(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	up := testsupport.NewUpstream(t, okData)
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL()}, "--header-read-timeout", timeout.String())
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n") // never ends
	start := time.Now()
	// Others are served while the slow client hangs.
	if r, _ := rawRequest(t, "POST", h.URL+"/mcp", testsupport.Bearer(transportKey), strings.NewReader(callGet)); r.StatusCode != 200 {
		t.Errorf("a concurrent request got %d", r.StatusCode)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(conn)
	elapsed := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept a header-less connection open for %v", elapsed)
	}
	if elapsed < timeout/2 || elapsed > timeout+5*time.Second {
		t.Errorf("connection closed after %v, want the %v header timeout (got %q)", elapsed, timeout, b)
	}
}

// TestGracefulShutdown: SIGTERM lets an in-flight call finish and return
// its result, refuses new connections, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		okData(w, r)
	})
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL()}, "--shutdown-grace", "10s")
	type result struct {
		status int
		body   string
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", h.URL+"/mcp", strings.NewReader(callGet))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		req.Header.Set("Authorization", "Bearer "+transportKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{0, err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{resp.StatusCode, string(b)}
	}()
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the call never reached the upstream")
	}
	if err := h.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes at once: new connections are refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(h.URL, "http://"), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-h.Exited:
		t.Fatal("the process exited before its in-flight call finished")
	default:
	}
	time.Sleep(300 * time.Millisecond)
	close(release)
	r := <-done
	if r.status != 200 || !strings.Contains(r.body, `/api/v1/computers/cmp_1`) || strings.Contains(r.body, `"isError":true`) {
		t.Fatalf("in-flight call: status %d body %s", r.status, clip(r.body))
	}
	select {
	case <-h.Exited:
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after the in-flight call finished")
	}
	if h.Cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("exit code %d after a graceful shutdown\n%s", h.Cmd.ProcessState.ExitCode(), h.Stderr.String())
	}
}

// TestShutdownGraceExpires: a call that outlives --shutdown-grace does not
// hold the process: it exits shortly after the grace period.
func TestShutdownGraceExpires(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		waitDone(r, 20*time.Second)
	})
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_TIMEOUT_MS": "30000"}, "--shutdown-grace", "500ms")
	go func() {
		req, _ := http.NewRequest("POST", h.URL+"/mcp", strings.NewReader(callGet))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		req.Header.Set("Authorization", "Bearer "+transportKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-arrived
	start := time.Now()
	h.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.Exited:
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Errorf("exited after %v, before the grace period", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM with a 500ms grace")
	}
}

// ---------------------------------------------------------------------------
// Panics

var panicking = server.ServerTool{
	Tool: mcp.NewToolWithRawSchema("explode", "Panics (test only).", json.RawMessage(`{"type":"object","properties":{}}`)),
	Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		panic("boom: handler bug")
	},
}

// panickingCatalogTool is a catalog tool whose generated call panics.
func withPanickingCatalogTool(o *runtime.Options) {
	t := o.Tools[0] // widget_create's shape, renamed
	t.Name, t.Wait = "widget_explode", nil
	t.Call = func(context.Context, *runtime.Call) (*http.Response, error) {
		panic("nil map write in a generated closure")
	}
	o.Tools = append(append([]runtime.Tool(nil), o.Tools...), t)
	o.ExtraTools = append(o.ExtraTools, panicking)
}

func checkPanicResult(t *testing.T, res *mcp.CallToolResult, err error, name string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: the panic became a protocol error, not an error result: %v", name, err)
	}
	if !res.IsError || !strings.Contains(testsupport.ResultText(res), "internal error") {
		t.Fatalf("%s: want an isError result saying it was an internal error, got %s", name, testsupport.ResultText(res))
	}
}

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func panicArgs(name string) map[string]any {
	if name == "widget_explode" {
		return map[string]any{"name": "x"}
	}
	return map[string]any{}
}

// TestPanicHTTP: a panicking handler (an extra tool, and a catalog tool
// whose generated call panics) answers with an isError result, the panic
// and its stack go to the log, and the next call succeeds.
func TestPanicHTTP(t *testing.T) {
	leakCheck(t)
	up := testsupport.NewUpstream(t, okData)
	var logs testsupport.Buffer
	b := goldenRuntime(t, up.Base(), withPanickingCatalogTool, func(o *runtime.Options) { o.Logger = newTestLogger(&logs) })
	c := testsupport.ConnectHTTP(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp", testsupport.Bearer(transportKey))
	for range 3 {
		for _, name := range []string{"explode", "widget_explode"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err := testsupport.CallTool(ctx, c, name, panicArgs(name))
			cancel()
			checkPanicResult(t, res, err, name)
			if res := testsupport.MustCall(t, c, "widget_get", map[string]any{"id": "w1"}); res.IsError {
				t.Fatalf("call after a panic failed: %s", testsupport.ResultText(res))
			}
		}
	}
	if l := logs.String(); !strings.Contains(l, "boom: handler bug") || !strings.Contains(l, "goroutine") {
		t.Errorf("the panic and its stack were not logged: %s", clip(l))
	}
}

// TestPanicStdio: the same over stdio, where tool calls run on the worker
// pool: a panic must not kill a worker or the session.
func TestPanicStdio(t *testing.T) {
	leakCheck(t)
	up := testsupport.NewUpstream(t, okData)
	b := goldenRuntime(t, up.Base(), withPanickingCatalogTool, func(o *runtime.Options) { o.Mode = runtime.ModeStdio })
	c := stdioInProcess(t, b.srv, runtime.StdioOptions{Key: runtime.NewAPIKey(transportKey), Workers: 4})
	// More panics than workers (4): a dead worker would show as a hang.
	for i := range 8 {
		name := []string{"explode", "widget_explode"}[i%2]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := testsupport.CallTool(ctx, c, name, panicArgs(name))
		cancel()
		checkPanicResult(t, res, err, name)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := testsupport.CallTool(ctx, c, "widget_get", map[string]any{"id": fmt.Sprint("w", i)})
			if err != nil || res.IsError {
				t.Errorf("call after panics: %v %v", err, res)
			}
		}()
	}
	wg.Wait()
}

// stdioInProcess serves srv over stdio exactly as `miosa-mcp stdio` does
// (runtime.ServeStdio) on in-memory pipes and returns an initialized
// mcp-go client. The session's key is registered with the key scanner and
// every message the client receives is scanned.
func stdioInProcess(t *testing.T, srv *runtime.Server, o runtime.StdioOptions, opts ...mcpclient.ClientOption) *mcpclient.Client {
	t.Helper()
	testsupport.RegisterKey(o.Key.Reveal())
	c := testsupport.PipeClient(t, func(ctx context.Context, in io.Reader, out io.Writer) error {
		return srv.ServeStdio(ctx, in, out, o)
	}, opts...)
	testsupport.Initialize(t, c, testsupport.ProtocolVersion)
	return c
}
