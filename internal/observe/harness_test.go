package observe_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/miosa-osa/miosa-mcp/internal/observe"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/client"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/tools"
)

// The observer is tested on the runtime serving the generator's golden
// catalog (internal/toolgen/testdata/golden) over real streamable HTTP and
// in-process stdio, against a recording upstream.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Keys and ids the scripted calls use: none may appear in a label, a span
// or a log line.
const (
	keyPrefix = "msk_u_obs_secret_"
	reqIDKey  = "req-" // + the caller's key: the API echoes it in X-Request-ID
)

func key(i int) string { return fmt.Sprintf("%s%04d_9f8e7d6c", keyPrefix, i) }

// upstream is a fake MIOSA API whose answer depends on the widget id:
//
//	w_ok     200, running          w_401   401 with the key echoed
//	w_429    429 (retried)          w_500   500
//	w_html   200 with an HTML page  w_drop  the connection closes (retried)
//	w_block  waits for release      POST /widgets creates w_new, pending;
//	                                its second poll answers running
type upstream struct {
	*testsupport.Upstream // records every request
	mu                    sync.Mutex
	polls                 int
	blocked               chan struct{} // a request for w_block arrived
	release               chan struct{}
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{blocked: make(chan struct{}, 16), release: make(chan struct{})}
	u.Upstream = testsupport.NewUpstream(t, u.serve)
	// Runs before the upstream closes: a blocked request is let go first.
	t.Cleanup(func() {
		u.mu.Lock()
		select {
		case <-u.release:
		default:
			close(u.release)
		}
		u.mu.Unlock()
	})
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	n := testsupport.RecordOf(r).Seq
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	w.Header().Set("X-Request-ID", fmt.Sprintf("req_%d", n))
	data := func(id, status string) {
		w.Header().Set("Content-Type", "application/json")
		code := http.StatusOK
		if r.Method == http.MethodPost {
			code = http.StatusCreated
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"data":{"id":%q,"status":%q}}`, id, status)
	}
	switch id := strings.TrimPrefix(r.URL.Path, "/api/v1/widgets/"); {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/widgets":
		data("w_new", "pending")
	case id == "w_new":
		u.mu.Lock()
		u.polls++
		n := u.polls
		u.mu.Unlock()
		if n >= 2 {
			data("w_new", "running")
		} else {
			data("w_new", "pending")
		}
	case id == "w_ok":
		data("w_ok", "running")
	case id == "w_401":
		w.Header().Set("X-Request-ID", reqIDKey+auth)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"code":"UNAUTHORIZED","message":"key %s is revoked"}}`, auth)
	case id == "w_429":
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
	case id == "w_500":
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":"boom"}`)
	case id == "w_html":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>portal</html>")
	case id == "w_drop":
		if hj, ok := w.(http.Hijacker); ok {
			c, _, _ := hj.Hijack()
			c.Close()
		}
	case id == "w_block":
		u.blocked <- struct{}{}
		<-u.release
		data("w_block", "running")
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

type config struct {
	metrics, tracing bool
	rate             runtime.RateLimit
	http             runtime.HTTPOptions
	mode             runtime.Mode
}

// fixture is the runtime with an Observer, as internal/app assembles it.
type fixture struct {
	up      *upstream
	catalog []runtime.Tool
	obs     *observe.Observer
	metrics *observe.Metrics
	spans   *tracetest.InMemoryExporter
	logs    *testsupport.Buffer
	srv     *runtime.Server
	mcp     *httptest.Server // over HTTP: the wrapped handler
}

func newFixture(t *testing.T, c config) *fixture {
	t.Helper()
	f := &fixture{up: newUpstream(t), logs: &testsupport.Buffer{}}
	base := f.up.Base()
	cl, err := client.NewClient(base.String(),
		client.WithHTTPClient(observe.WrapClient(runtime.NewHTTPClient(runtime.RetryPolicy{Base: time.Millisecond, OnRetry: observe.OnRetry}))),
		client.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		t.Fatal(err)
	}
	f.catalog = tools.All(cl)
	o := observe.Options{Catalog: f.catalog, Mode: c.mode,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if c.metrics {
		f.metrics = observe.NewMetrics("test")
		o.Metrics = f.metrics
	}
	if c.tracing {
		f.spans = tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(f.spans))
		t.Cleanup(func() { tp.Shutdown(context.Background()) })
		o.Tracer = tp.Tracer(observe.TracerName)
	}
	f.obs = observe.New(o)
	f.srv = runtime.NewServer(runtime.Options{
		Name: "test", Version: "0", Tools: f.catalog, Toolsets: tools.Toolsets, Instructions: tools.Instructions,
		BaseURL: base, Timeout: 5 * time.Second, Mode: c.mode, PollInterval: 5 * time.Millisecond,
		RateLimit: c.rate, Observer: f.obs,
	})
	if c.mode == runtime.ModeHTTP {
		ho := c.http
		ho.Catalog, ho.Toolsets, ho.Profiles = f.catalog, tools.Toolsets, tools.Profiles
		f.mcp = httptest.NewServer(f.obs.HTTP(f.srv.HTTPHandler(ho)))
		t.Cleanup(f.mcp.Close)
	}
	return f
}

// post sends one JSON-RPC message over HTTP and returns the status and the
// JSON-RPC messages of the answer (a JSON body or an event stream).
func (f *fixture) post(t *testing.T, header map[string]string, body string) (int, []map[string]json.RawMessage) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.mcp.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.mcp.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var msgs []map[string]json.RawMessage
	lines := []string{string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		lines = nil
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				lines = append(lines, d)
			}
		}
	}
	for _, l := range lines {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(l), &m) == nil {
			msgs = append(msgs, m)
		}
	}
	return resp.StatusCode, msgs
}

// callBody is a tools/call message; meta, when set, is params._meta.
func callBody(id int, tool string, args map[string]any, meta map[string]any) string {
	params := map[string]any{"name": tool, "arguments": args}
	if meta != nil {
		params["_meta"] = meta
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
	return string(b)
}

// callHTTP calls a tool with key k (none when empty) and returns the
// tool result's isError and the number of progress notifications.
func (f *fixture) callHTTP(t *testing.T, k, tool string, args map[string]any, meta map[string]any, header map[string]string) (isError bool, progress int) {
	t.Helper()
	h := map[string]string{}
	for name, v := range header {
		h[name] = v
	}
	if k != "" {
		h["Authorization"] = "Bearer " + k
	}
	status, msgs := f.post(t, h, callBody(1, tool, args, meta))
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP %d %v", tool, status, msgs)
	}
	var got bool
	for _, m := range msgs {
		if _, ok := m["method"]; ok {
			progress++
			continue
		}
		var res struct {
			IsError bool `json:"isError"`
		}
		if r, ok := m["result"]; ok && json.Unmarshal(r, &res) == nil {
			isError, got = res.IsError, true
		}
	}
	if !got {
		t.Fatalf("%s: no tool result in %v", tool, msgs)
	}
	return isError, progress
}

// scrape GETs /metrics from the metrics handler and parses it.
func (f *fixture) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	hs := httptest.NewServer(f.metrics.Handler())
	defer hs.Close()
	resp, err := hs.Client().Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value is the counter, gauge or histogram count of the series of name
// with exactly the given labels (0 when absent).
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	fam := fams[name]
	if fam == nil {
		return 0
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range fam.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// stdioSession is the runtime's stdio loop in-process, behind the
// observer's stdin/stdout wrappers.
type stdioSession struct {
	in      *io.PipeWriter
	mu      sync.Mutex
	cond    *sync.Cond
	lines   map[string]string // by id
	written int               // bytes written to stdin
	read    int               // bytes read from stdout
}

func startStdio(t *testing.T, f *fixture, o runtime.StdioOptions) *stdioSession {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &stdioSession{in: inW, lines: map[string]string{}}
	s.cond = sync.NewCond(&s.mu)
	in, out := f.obs.Stdio(inR, outW)
	served := make(chan error, 1)
	go func() { served <- f.srv.ServeStdio(context.Background(), in, out, o) }()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var m struct {
				ID json.RawMessage `json:"id"`
			}
			json.Unmarshal(sc.Bytes(), &m)
			s.mu.Lock()
			s.read += len(sc.Bytes()) + 1
			if len(m.ID) > 0 {
				s.lines[string(m.ID)] = sc.Text()
			}
			s.cond.Broadcast()
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		if err := <-served; err != nil {
			t.Errorf("ServeStdio: %v", err)
		}
		outW.Close()
		<-readDone
	})
	s.write(t, `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"observe-test","version":"0"}}}`)
	s.awaitID(t, `"init"`)
	s.write(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return s
}

func (s *stdioSession) write(t *testing.T, line string) {
	t.Helper()
	n, err := io.WriteString(s.in, line+"\n")
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.written += n
	s.mu.Unlock()
}

func (s *stdioSession) send(t *testing.T, id int, tool, args string) {
	t.Helper()
	s.write(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, tool, args))
}

// awaitID waits (without a deadline of its own: the test's applies) for
// the response with the given raw id.
func (s *stdioSession) awaitID(t *testing.T, id string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.lines[id] == "" {
		s.cond.Wait()
	}
	return s.lines[id]
}

func (s *stdioSession) await(t *testing.T, id int) string { return s.awaitID(t, fmt.Sprint(id)) }

func (s *stdioSession) call(t *testing.T, id int, tool, args string) string {
	t.Helper()
	s.send(t, id, tool, args)
	return s.await(t, id)
}
