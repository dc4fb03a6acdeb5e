package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/goleak"

	"github.com/miosa-osa/miosa-mcp/bench"
	"github.com/miosa-osa/miosa-mcp/bench/floor"
	"github.com/miosa-osa/miosa-mcp/gen/client"
	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// The shared runtime HTTP client keeps idle keep-alive connections to the
// httptest upstreams; those are the only goroutines allowed to outlive a test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// fixture is the real 151-tool catalog served in-process against an
// httptest upstream that answers bench.ComputerBody.
type fixture struct {
	up     *httptest.Server
	srv    *runtime.Server
	cat    []runtime.Tool
	ctx    context.Context
	direct *http.Client
}

func newFixture(tb testing.TB, mode runtime.Mode) *fixture {
	tb.Helper()
	up := httptest.NewServer(bench.UpstreamHandler())
	tb.Cleanup(up.Close)
	base, _ := url.Parse(up.URL + "/api/v1")
	cl, err := client.NewClient(base.String(),
		client.WithHTTPClient(runtime.NewHTTPClient(runtime.RetryPolicy{})),
		client.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		tb.Fatal(err)
	}
	cat := tools.All(cl)
	srv := runtime.NewServer(runtime.Options{
		Name: "miosa-mcp", Version: "bench", Tools: cat, Toolsets: tools.Toolsets, Instructions: tools.Instructions,
		BaseURL: base, Mode: mode,
	})
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	tb.Cleanup(direct.CloseIdleConnections)
	return &fixture{up: up, srv: srv, cat: cat, direct: direct,
		ctx: runtime.WithAPIKey(context.Background(), runtime.NewAPIKey(bench.Key(0)))}
}

// handle runs one JSON-RPC message through mcp-go and the runtime exactly as
// the stdio transport does after reading a line (strict check, dispatch,
// tool handler, result marshalling).
func (f *fixture) handle(tb testing.TB, msg []byte) []byte {
	if me := runtime.CheckMessage(msg); me != nil {
		tb.Fatalf("refused: %s", me.Message)
	}
	resp := f.srv.MCP().HandleMessage(f.ctx, msg)
	out, err := json.Marshal(resp)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestInProcessCallReturnsUpstreamBody(t *testing.T) {
	f := newFixture(t, runtime.ModeStdio)
	tests := []struct {
		name, msg string
		id        int
		want      string
	}{
		{"computer_get passes the upstream body through", string(bench.CallBody(7)), 7, `"structuredContent":` + string(bench.ComputerBody)},
		{"tools/list lists the whole catalog", string(bench.ToolsListBody(8)), 8, `"name":"computer_get"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := f.handle(t, []byte(tc.msg))
			if err := bench.CheckResponse(out, tc.id); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(out, []byte(tc.want)) {
				t.Fatalf("response lacks %s:\n%.400s", tc.want, out)
			}
		})
	}
}

func TestHTTPHandlerAcceptsStatelessCallWithoutInitialize(t *testing.T) {
	f := newFixture(t, runtime.ModeHTTP)
	hs := httptest.NewServer(f.srv.HTTPHandler(runtime.HTTPOptions{Catalog: f.cat, Toolsets: tools.Toolsets, Profiles: tools.Profiles}))
	defer hs.Close()
	cl := &http.Client{Transport: &http.Transport{}}
	defer cl.CloseIdleConnections()
	out := postMCP(t, cl, hs.URL+"/mcp", bench.CallBody(3))
	if err := bench.CheckResponse(bytes.TrimSpace(out), 3); err != nil {
		t.Fatal(err)
	}
}

// TestReadMemSplitsRSS reads this test process: its RSS is its anonymous
// memory plus its file-backed pages (plus shared memory, none here), and
// touching fresh anonymous memory shows in Anon, not in File.
func TestReadMemSplitsRSS(t *testing.T) {
	before, err := bench.ReadMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if before.Anon <= 0 || before.File <= 0 || before.Anon+before.File > before.RSS {
		t.Fatalf("ReadMem = %+v: want Anon > 0, File > 0, Anon+File <= RSS", before)
	}
	buf := make([]byte, 32<<20)
	for i := range buf {
		buf[i] = 1
	}
	after, err := bench.ReadMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if grown := after.Anon - before.Anon; grown < 24<<10 {
		t.Errorf("RssAnon grew by %d KiB after touching 32 MiB, want at least 24 MiB", grown)
	}
	if buf[len(buf)-1] != 1 {
		t.Fatal("unreachable: keeps buf alive")
	}
}

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		name          string
		in            []time.Duration
		p10, p50, p99 time.Duration
	}{
		{"empty", nil, 0, 0, 0},
		{"one", ms(5), 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
		{"unsorted ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 1 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := bench.Summarize(tc.in)
			if s.P10 != tc.p10 || s.P50 != tc.p50 || s.P99 != tc.p99 {
				t.Fatalf("p10/p50/p99 = %v/%v/%v, want %v/%v/%v", s.P10, s.P50, s.P99, tc.p10, tc.p50, tc.p99)
			}
		})
	}
	if m := bench.Median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Fatalf("median = %v, want 2.5", m)
	}
}

func postMCP(tb testing.TB, cl *http.Client, url string, body []byte) []byte {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+bench.Key(1))
	resp, err := cl.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("HTTP %d, %v: %.300s", resp.StatusCode, err, out)
	}
	return out
}

// BenchmarkCall is the per-call path in-process: "stdio-path" is what the
// stdio server does per line (strict check + mcp-go dispatch + validation +
// binding + upstream request + result shaping + marshal), for the read call
// and, "stdio-path-write", the write call (a JSON body); "direct-get" is
// the same upstream request from a plain client (the floor); "http-handler"
// is one stateless POST /mcp through the HTTP transport. The floor/ ones
// are the same through bench/floor's bare mcp-go server and raw proxy.
func BenchmarkCall(b *testing.B) {
	for _, c := range []struct {
		name string
		msg  []byte
	}{{"stdio-path", bench.CallBody(1)}, {"stdio-path-write", bench.EnvSetBody(1)}} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, runtime.ModeStdio)
			f.handle(b, c.msg)
			b.ReportAllocs()
			for b.Loop() {
				f.handle(b, c.msg)
			}
		})
	}
	b.Run("direct-get", func(b *testing.B) {
		f := newFixture(b, runtime.ModeStdio)
		u := f.up.URL + bench.UpstreamPath
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Bearer "+bench.Key(0))
			resp, err := f.direct.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("http-handler", func(b *testing.B) {
		f := newFixture(b, runtime.ModeHTTP)
		hs := httptest.NewServer(f.srv.HTTPHandler(runtime.HTTPOptions{Catalog: f.cat, Toolsets: tools.Toolsets, Profiles: tools.Profiles}))
		defer hs.Close()
		cl := &http.Client{Transport: &http.Transport{}}
		defer cl.CloseIdleConnections()
		msg := bench.CallBody(1)
		postMCP(b, cl, hs.URL+"/mcp", msg)
		b.ReportAllocs()
		for b.Loop() {
			postMCP(b, cl, hs.URL+"/mcp", msg)
		}
	})
	b.Run("floor/bare-mcp-go-path", func(b *testing.B) {
		f := newFixture(b, runtime.ModeStdio)
		fl := newFloors(b, f, nil)
		msg := bench.CallBody(1)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(fl.bare.HandleMessage(context.Background(), msg)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor/raw-proxy-path", func(b *testing.B) {
		f := newFixture(b, runtime.ModeStdio)
		fl := newFloors(b, f, nil)
		msg := bench.CallBody(1)
		b.ReportAllocs()
		for b.Loop() {
			fl.raw.Handle(context.Background(), bench.Key(0), msg)
		}
	})
	b.Run("floor/bare-http-handler", func(b *testing.B) {
		f := newFixture(b, runtime.ModeHTTP)
		fl := newFloors(b, f, nil)
		hs := httptest.NewServer(floor.BareHTTPHandler(fl.bare))
		defer hs.Close()
		cl := &http.Client{Transport: &http.Transport{}}
		defer cl.CloseIdleConnections()
		msg := bench.CallBody(1)
		b.ReportAllocs()
		for b.Loop() {
			postMCP(b, cl, hs.URL+"/mcp", msg)
		}
	})
}

// BenchmarkToolsList renders tools/list for the whole catalog.
func BenchmarkToolsList(b *testing.B) {
	f := newFixture(b, runtime.ModeStdio)
	msg := bench.ToolsListBody(1)
	b.ReportAllocs()
	for b.Loop() {
		f.handle(b, msg)
	}
}

// BenchmarkStartup is the in-process part of a cold start: the catalog and
// the MCP server for all tools.
func BenchmarkStartup(b *testing.B) {
	base, _ := url.Parse("http://127.0.0.1:9/api/v1")
	b.ReportAllocs()
	for b.Loop() {
		cl, _ := client.NewClient(base.String(), client.WithHTTPClient(runtime.NewHTTPClient(runtime.RetryPolicy{})), client.WithRequestEditorFn(runtime.Editor(base)))
		cat := tools.All(cl)
		runtime.NewServer(runtime.Options{Name: "miosa-mcp", Version: "bench", Tools: cat, Toolsets: tools.Toolsets, Instructions: tools.Instructions, BaseURL: base, Mode: runtime.ModeStdio})
	}
}

// BenchmarkStrictCheck is the strict JSON-RPC vetting of one call line.
func BenchmarkStrictCheck(b *testing.B) {
	msg := bench.CallBody(1)
	b.ReportAllocs()
	for b.Loop() {
		if me := runtime.CheckMessage(msg); me != nil {
			b.Fatal(me.Message)
		}
	}
}

// stdioApp runs the real stdio command (app.Run) in-process over OS pipes,
// so `go test -bench StdioApp -cpuprofile` profiles the binary's whole
// per-line path: strict reader, mcp-go's stdio server, the runtime, the
// upstream request and the response write.
type stdioApp struct {
	in   *os.File // the server's stdin, our write end
	out  *bufio.Reader
	done chan int
}

func startStdioApp(tb testing.TB, upstream string) *stdioApp {
	tb.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	env := map[string]string{"MIOSA_API_URL": upstream, "MIOSA_API_KEY": bench.Key(0), "MIOSA_LOG_LEVEL": "error"}
	a := &stdioApp{in: inW, out: bufio.NewReaderSize(outR, 1<<20), done: make(chan int, 1)}
	go func() {
		a.done <- app.Run(context.Background(), []string{"stdio"}, app.Env{
			Getenv: func(k string) string { return env[k] }, Stdin: inR, Stdout: outW, Stderr: io.Discard,
		})
		outW.Close()
		inR.Close()
	}()
	tb.Cleanup(func() {
		inW.Close()
		if code := <-a.done; code != 0 {
			tb.Errorf("stdio server exited with %d", code)
		}
		outR.Close()
	})
	a.roundTrip(tb, bench.InitializeBody(0), 0)
	a.in.Write(append(bench.InitializedNotification, '\n'))
	return a
}

func (a *stdioApp) roundTrip(tb testing.TB, msg []byte, id int) []byte {
	if _, err := a.in.Write(append(msg, '\n')); err != nil {
		tb.Fatal(err)
	}
	for {
		line, err := a.out.ReadBytes('\n')
		if err != nil {
			tb.Fatal(err)
		}
		err = bench.CheckResponse(bytes.TrimSpace(line), id)
		if err == nil {
			return line
		}
		if !strings.Contains(err.Error(), "not the awaited") {
			tb.Fatal(err)
		}
	}
}

func TestStdioAppCall(t *testing.T) {
	up := httptest.NewServer(bench.UpstreamHandler())
	defer up.Close()
	a := startStdioApp(t, up.URL)
	out := a.roundTrip(t, bench.CallBody(5), 5)
	if !bytes.Contains(out, bench.ComputerBody) {
		t.Fatalf("the upstream body is missing from %.400s", out)
	}
}

// BenchmarkStdioApp is one tools/call line through app.Run over OS pipes.
func BenchmarkStdioApp(b *testing.B) {
	up := httptest.NewServer(bench.UpstreamHandler())
	defer up.Close()
	a := startStdioApp(b, up.URL)
	a.roundTrip(b, bench.CallBody(1), 1)
	b.ReportAllocs()
	id := 1
	for b.Loop() {
		id++
		a.roundTrip(b, bench.CallBody(id), id)
	}
}

// floors are the same two calls served by the floors of bench/floor,
// in-process against the same upstream as the fixture.
type floors struct {
	bare *server.MCPServer
	raw  *floor.RawProxy
}

func newFloors(tb testing.TB, f *fixture, catalog []byte) floors {
	tb.Helper()
	api := floor.NewAPI(f.up.URL)
	bare, err := floor.NewBareServer(api, catalog, bench.Key(0))
	if err != nil {
		tb.Fatal(err)
	}
	return floors{bare: bare, raw: &floor.RawProxy{API: api}}
}

// TestFloorsServeTheTwoCalls: miosa-mcp, the bare mcp-go server and the
// raw proxy answer the read and the write call alike, with the upstream
// body as structuredContent, and the bare server carries miosa-mcp's
// catalog when given its tools/list.
func TestFloorsServeTheTwoCalls(t *testing.T) {
	f := newFixture(t, runtime.ModeStdio)
	list := f.handle(t, bench.ToolsListBody(1))
	var lr struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(list, &lr); err != nil {
		t.Fatal(err)
	}
	fl := newFloors(t, f, lr.Result)
	servers := []struct {
		name   string
		handle func(msg []byte) []byte
	}{
		{"miosa-mcp", func(msg []byte) []byte { return f.handle(t, msg) }},
		{"bare mcp-go", func(msg []byte) []byte {
			out, err := json.Marshal(fl.bare.HandleMessage(context.Background(), msg))
			if err != nil {
				t.Fatal(err)
			}
			return out
		}},
		{"raw proxy", func(msg []byte) []byte { return fl.raw.Handle(context.Background(), bench.Key(0), msg) }},
	}
	calls := []struct {
		name string
		msg  []byte
		body []byte
	}{
		{"read computer_get", bench.CallBody(4), bench.ComputerBody},
		{"write env_set", bench.EnvSetBody(4), bench.EnvBody},
	}
	for _, s := range servers {
		for _, c := range calls {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				out := s.handle(c.msg)
				if err := bench.CheckResponse(out, 4); err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(out, append([]byte(`"structuredContent":`), c.body...)) {
					t.Fatalf("the upstream body is not the structuredContent of %.400s", out)
				}
			})
		}
	}
	bareList, _ := json.Marshal(fl.bare.HandleMessage(context.Background(), bench.ToolsListBody(2)))
	var bl struct {
		Result struct {
			Tools []json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(bareList, &bl); err != nil || len(bl.Result.Tools) != len(f.cat) {
		t.Fatalf("the bare server lists %d tools (%v), miosa-mcp %d", len(bl.Result.Tools), err, len(f.cat))
	}
}

// TestFloorsOverHTTP: the bare server and the raw proxy answer a stateless
// POST /mcp tools/call without initialize, with the caller's key.
func TestFloorsOverHTTP(t *testing.T) {
	f := newFixture(t, runtime.ModeHTTP)
	fl := newFloors(t, f, nil)
	cl := &http.Client{Transport: &http.Transport{}}
	defer cl.CloseIdleConnections()
	for name, h := range map[string]http.Handler{"bare mcp-go": floor.BareHTTPHandler(fl.bare), "raw proxy": fl.raw} {
		t.Run(name, func(t *testing.T) {
			hs := httptest.NewServer(h)
			defer hs.Close()
			out := postMCP(t, cl, hs.URL+"/mcp", bench.CallBody(3))
			if err := bench.CheckResponse(bytes.TrimSpace(out), 3); err != nil {
				t.Fatal(err)
			}
		})
	}
}
