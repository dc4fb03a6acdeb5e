package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/miosa-osa/miosa-mcp/bench"
	"github.com/miosa-osa/miosa-mcp/gen/client"
	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/observe"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// discardExporter takes the batched spans and drops them: the cost
// measured is the SDK's (span creation, attributes, propagation, batching),
// not a collector's.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// observed is one configuration of the observer, as internal/app builds it.
type observed struct {
	name            string
	none            bool // no Observer at all: the floor
	metrics, traces bool
	infoLog         bool // the per-call log line, JSON to io.Discard
}

var observedConfigs = []observed{
	{name: "no-observer", none: true},
	{name: "off"},
	{name: "log-line", infoLog: true},
	{name: "metrics", metrics: true},
	{name: "tracing", traces: true},
	{name: "metrics+tracing+log", metrics: true, traces: true, infoLog: true},
}

// newObservedFixture is newFixture with the observer wired the way
// internal/app wires it: the API client's transport wrapped, OnRetry set,
// the HTTP handler wrapped.
func newObservedFixture(tb testing.TB, mode runtime.Mode, c observed) (*fixture, *observe.Observer) {
	tb.Helper()
	up := httptest.NewServer(bench.UpstreamHandler())
	tb.Cleanup(up.Close)
	base, _ := url.Parse(up.URL + "/api/v1")
	hc := runtime.NewHTTPClient(runtime.RetryPolicy{})
	if !c.none {
		hc = observe.WrapClient(runtime.NewHTTPClient(runtime.RetryPolicy{OnRetry: observe.OnRetry}))
	}
	cl, err := client.NewClient(base.String(), client.WithHTTPClient(hc), client.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		tb.Fatal(err)
	}
	cat := tools.All(cl)
	var obs *observe.Observer
	opts := runtime.Options{Name: "miosa-mcp", Version: "bench", Tools: cat, Toolsets: tools.Toolsets, Instructions: tools.Instructions, BaseURL: base, Mode: mode}
	if !c.none {
		level := slog.LevelWarn
		if c.infoLog {
			level = slog.LevelInfo
		}
		o := observe.Options{Catalog: cat, Mode: mode, Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level}))}
		if c.metrics {
			o.Metrics = observe.NewMetrics("bench")
		}
		if c.traces {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
			tb.Cleanup(func() { tp.Shutdown(context.Background()) })
			o.Tracer = tp.Tracer(observe.TracerName)
		}
		obs = observe.New(o)
		opts.Observer = obs
	}
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	tb.Cleanup(direct.CloseIdleConnections)
	return &fixture{up: up, srv: runtime.NewServer(opts), cat: cat, direct: direct,
		ctx: runtime.WithAPIKey(context.Background(), runtime.NewAPIKey(bench.Key(0)))}, obs
}

func TestObservedFixturesServeTheCall(t *testing.T) {
	for _, c := range observedConfigs {
		t.Run(c.name, func(t *testing.T) {
			f, _ := newObservedFixture(t, runtime.ModeStdio, c)
			out := f.handle(t, bench.CallBody(5))
			if err := bench.CheckResponse(out, 5); err != nil {
				t.Fatal(err)
			}
			var resp struct {
				Result struct {
					IsError bool `json:"isError"`
				} `json:"result"`
			}
			if json.Unmarshal(out, &resp) != nil || resp.Result.IsError {
				t.Fatalf("the call failed: %s", out)
			}
		})
	}
}

// BenchmarkObserve is what observability costs per call: the stdio path of
// BenchmarkCall (strict check, dispatch, one upstream GET, result shaping)
// with no Observer (the floor), with the Observer and everything off (the
// shipped default), with the info-level log line, with metrics, with
// tracing (the SDK batching to a discarding exporter), and with all three;
// then one stateless POST /mcp through the HTTP transport, off and with all
// three (the HTTP wrapper counts bytes and statuses too).
func BenchmarkObserve(b *testing.B) {
	msg := bench.CallBody(1)
	for _, c := range observedConfigs {
		b.Run("stdio-path/"+c.name, func(b *testing.B) {
			f, _ := newObservedFixture(b, runtime.ModeStdio, c)
			f.handle(b, msg)
			b.ReportAllocs()
			for b.Loop() {
				f.handle(b, msg)
			}
		})
	}
	for _, c := range []observed{observedConfigs[0], observedConfigs[1], observedConfigs[len(observedConfigs)-1]} {
		b.Run("http-handler/"+c.name, func(b *testing.B) {
			f, obs := newObservedFixture(b, runtime.ModeHTTP, c)
			h := f.srv.HTTPHandler(runtime.HTTPOptions{Catalog: f.cat, Toolsets: tools.Toolsets, Profiles: tools.Profiles})
			if obs != nil {
				h = obs.HTTP(h)
			}
			hs := httptest.NewServer(h)
			defer hs.Close()
			cl := &http.Client{Transport: &http.Transport{}}
			defer cl.CloseIdleConnections()
			postMCP(b, cl, hs.URL+"/mcp", msg)
			b.ReportAllocs()
			for b.Loop() {
				postMCP(b, cl, hs.URL+"/mcp", msg)
			}
		})
	}
}

// stubTransport answers every request at once with the benchmark's body:
// what remains of a call is the observer's own work.
type stubTransport struct{}

func (stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_0123456789"}},
		Body: io.NopCloser(bytes.NewReader(bench.ComputerBody)), ContentLength: int64(len(bench.ComputerBody)), Request: r}, nil
}

// BenchmarkObserverPerCall isolates the observer's cost for one tool call
// with one upstream request: StartCall, the wrapped transport (span,
// traceparent, status, bytes) over a stub that answers at once, reading and
// closing the body, and end (outcome, metrics, span, log line). "bare" is
// the same request through the stub without the wrapper or the hooks.
func BenchmarkObserverPerCall(b *testing.B) {
	base, _ := url.Parse("http://127.0.0.1:9/api/v1")
	cl, _ := client.NewClient(base.String())
	cat := tools.All(cl)
	var tool *runtime.Tool
	for i := range cat {
		if cat[i].Name == "computer_get" {
			tool = &cat[i]
		}
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = tool.Name
	req.Header = http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	ctx := runtime.WithAPIKey(context.Background(), runtime.NewAPIKey(bench.Key(0)))
	upstream := base.String() + "/computers/cmp_bench_0001"
	roundTrip := func(b *testing.B, hc *http.Client, ctx context.Context) {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstream, nil)
		resp, err := hc.Transport.RoundTrip(r)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.Run("bare", func(b *testing.B) {
		hc := &http.Client{Transport: stubTransport{}}
		b.ReportAllocs()
		for b.Loop() {
			roundTrip(b, hc, ctx)
		}
	})
	for _, c := range observedConfigs[1:] {
		b.Run(c.name, func(b *testing.B) {
			level := slog.LevelWarn
			if c.infoLog {
				level = slog.LevelInfo
			}
			o := observe.Options{Catalog: cat, Mode: runtime.ModeHTTP, Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level}))}
			if c.metrics {
				o.Metrics = observe.NewMetrics("bench")
			}
			if c.traces {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
				b.Cleanup(func() { tp.Shutdown(context.Background()) })
				o.Tracer = tp.Tracer(observe.TracerName)
			}
			obs := observe.New(o)
			hc := observe.WrapClient(&http.Client{Transport: stubTransport{}})
			res := mcp.NewToolResultText("ok")
			b.ReportAllocs()
			for b.Loop() {
				cctx, end := obs.StartCall(ctx, tool, req)
				roundTrip(b, hc, cctx)
				end(res)
			}
		})
	}
}
