package observe_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/miosa-osa/miosa-mcp/internal/observe"
)

// collector is a recording OTLP/HTTP collector: it keeps each export
// request (headers and decoded body) and answers with the next of its
// scripted answers (the last one repeats; none: 200 and an empty body).
type collector struct {
	*httptest.Server
	mu      sync.Mutex
	got     []export
	answers []func(w http.ResponseWriter)
}

type export struct {
	path   string
	header http.Header
	req    *coltracepb.ExportTraceServiceRequest
	err    error // the body did not decode
}

func newCollector(t *testing.T, tls bool, answers ...func(w http.ResponseWriter)) *collector {
	t.Helper()
	c := &collector{answers: answers}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil && r.Header.Get("Content-Encoding") == "gzip" {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
				body, err = io.ReadAll(zr)
			}
		}
		e := export{path: r.URL.Path, header: r.Header.Clone(), req: &coltracepb.ExportTraceServiceRequest{}, err: err}
		if err == nil {
			e.err = proto.Unmarshal(body, e.req)
		}
		c.mu.Lock()
		c.got = append(c.got, e)
		answer := func(http.ResponseWriter) {}
		if n := len(c.got); len(c.answers) > 0 {
			answer = c.answers[min(n, len(c.answers))-1]
		}
		c.mu.Unlock()
		answer(w)
	})
	if tls {
		c.Server = httptest.NewTLSServer(h)
	} else {
		c.Server = httptest.NewServer(h)
	}
	t.Cleanup(c.Close)
	return c
}

func (c *collector) exports() []export {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]export(nil), c.got...)
}

func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

// testSpans are two finished spans of one resource and scope, with
// every kind of field the OTLP span message carries.
func testSpans() []sdktrace.ReadOnlySpan {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	cid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	res := resource.NewSchemaless(attribute.String("service.name", "miosa-mcp"), attribute.String("service.version", "test"))
	scope := instrumentation.Scope{Name: observe.TracerName, Version: "test"}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	call := tracetest.SpanStub{
		Name: "tools/call widget_get", SpanKind: trace.SpanKindServer, StartTime: start, EndTime: start.Add(3 * time.Millisecond),
		SpanContext: parent, Resource: res, InstrumentationScope: scope,
		Attributes: []attribute.KeyValue{attribute.String("gen_ai.tool.name", "widget_get"), attribute.Int("miosa.upstream.status_code", 200), attribute.Bool("b", true), attribute.Float64("f", 1.5), attribute.StringSlice("s", []string{"a", "b"})},
		Status:     sdktrace.Status{Code: codes.Error, Description: "upstream 500"},
		Events:     []sdktrace.Event{{Name: "retry", Time: start.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.Int("attempt", 2)}}},
	}
	up := tracetest.SpanStub{
		Name: "GET /widgets/{widget_id}", SpanKind: trace.SpanKindClient, StartTime: start.Add(time.Millisecond), EndTime: start.Add(2 * time.Millisecond),
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: cid, TraceFlags: trace.FlagsSampled}),
		Parent:      parent, Resource: res, InstrumentationScope: scope,
		Links: []sdktrace.Link{{SpanContext: parent, Attributes: []attribute.KeyValue{attribute.String("why", "test")}}},
	}
	return tracetest.SpanStubs{call, up}.Snapshots()
}

// exportWith sends testSpans through the SDK's exporter over client.
func exportWith(t *testing.T, client otlptrace.Client) error {
	t.Helper()
	exp, err := otlptrace.New(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	return exp.ExportSpans(context.Background(), testSpans())
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestOTLPClientMatchesTheSDKExporter: our OTLP/HTTP client (otlp.go) and
// opentelemetry-go's own (otlptracehttp) get the same environment and
// send the same spans; the collector must receive the same thing from
// both: path, media type, encoding, headers and the decoded message.
func TestOTLPClientMatchesTheSDKExporter(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		path string
	}{
		{"shared endpoint, headers, gzip", map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS":     "x-tenant=team%20a, Authorization=Bearer%20collector-token",
			"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
			"OTEL_EXPORTER_OTLP_TIMEOUT":     "5000",
		}, "/v1/traces"},
		{"shared endpoint with a path, traces headers win", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":       "{base}/otlp/",
			"OTEL_EXPORTER_OTLP_HEADERS":        "x-all=1",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-traces=2",
		}, "/otlp/v1/traces"},
		{"traces endpoint as is", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.1:1/ignored",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "{base}/custom/traces",
		}, "/custom/traces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := newCollector(t, false)
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL}
			for k, v := range tc.env {
				env[k] = strings.ReplaceAll(v, "{base}", col.URL)
			}
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TIMEOUT"} {
				t.Setenv(k, env[k]) // the SDK's client reads the process environment
			}
			sdk, err := otlptracehttp.NewClient(), error(nil)
			if err = exportWith(t, sdk); err != nil {
				t.Fatalf("the SDK's exporter: %v", err)
			}
			ours, err := observe.NewOTLPClient(envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			if err := exportWith(t, ours); err != nil {
				t.Fatalf("our exporter: %v", err)
			}
			got := col.exports()
			if len(got) != 2 {
				t.Fatalf("%d exports, want one from each", len(got))
			}
			want, have := got[0], got[1]
			if want.err != nil || have.err != nil {
				t.Fatalf("undecodable export: SDK %v, ours %v", want.err, have.err)
			}
			if have.path != tc.path || want.path != tc.path {
				t.Errorf("paths: SDK %s, ours %s, want %s", want.path, have.path, tc.path)
			}
			for _, h := range []string{"Content-Type", "Content-Encoding", "X-Tenant", "Authorization", "X-All", "X-Traces"} {
				if w, g := want.header.Get(h), have.header.Get(h); w != g {
					t.Errorf("header %s: SDK %q, ours %q", h, w, g)
				}
			}
			if n := len(have.req.GetResourceSpans()); n != 1 {
				t.Errorf("%d resource spans, want 1", n)
			}
			if !proto.Equal(want.req, have.req) {
				t.Errorf("the export requests differ:\nSDK  %v\nours %v", want.req, have.req)
			}
		})
	}
}

// TestOTLPClientAnswers: what each kind of collector answer makes of an
// export, and how many attempts it takes.
func TestOTLPClientAnswers(t *testing.T) {
	partial, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 2, ErrorMessage: "too old"}})
	for _, tc := range []struct {
		name     string
		answers  []func(http.ResponseWriter)
		attempts int
		err      string // "": success
	}{
		{"200", nil, 1, ""},
		{"503 with Retry-After, then 200", []func(http.ResponseWriter){status(503, "Retry-After", "0"), status(200)}, 2, ""},
		{"429 without Retry-After, then 200 (backoff)", []func(http.ResponseWriter){status(429), status(200)}, 2, ""},
		{"400 is not retried", []func(http.ResponseWriter){func(w http.ResponseWriter) { w.WriteHeader(400); io.WriteString(w, "bad span") }}, 1, "400 Bad Request: bad span"},
		{"404 is not retried", []func(http.ResponseWriter){status(404)}, 1, "404 Not Found"},
		{"a partial success names the rejected spans", []func(http.ResponseWriter){func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.Write(partial)
		}}, 1, "rejected 2 spans: too old"},
		{"503 until the timeout", []func(http.ResponseWriter){status(503, "Retry-After", "0")}, -1, "context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := newCollector(t, false, tc.answers...)
			cl, err := observe.NewOTLPClient(envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL, "OTEL_EXPORTER_OTLP_TIMEOUT": "1500"}))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = exportWith(t, cl)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("the export took %v, past its 1.5 s timeout", took)
			}
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("export: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("export error %v, want one saying %q", err, tc.err)
			}
			n := len(col.exports())
			if tc.attempts > 0 && n != tc.attempts || tc.attempts < 0 && n < 2 {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
		})
	}
}

// TestOTLPClientTLS: OTEL_EXPORTER_OTLP_CERTIFICATE names the roots a
// collector's certificate is checked against; without it, a private CA's
// certificate is refused.
func TestOTLPClientTLS(t *testing.T) {
	col := newCollector(t, true)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: col.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cl, err := observe.NewOTLPClient(envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": ca}))
	if err != nil {
		t.Fatal(err)
	}
	if err := exportWith(t, cl); err != nil {
		t.Errorf("export with the collector's CA: %v", err)
	}
	// A timeout no handshake on a loaded machine reaches (300 ms was
	// reached under -race), and the refusal well before it: a certificate
	// that does not verify is not retried.
	cl, err = observe.NewOTLPClient(envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL, "OTEL_EXPORTER_OTLP_TIMEOUT": "20000"}))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := exportWith(t, cl); err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "deadline") {
		t.Errorf("export without the CA: %v, want a certificate error", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the refused export took %v: it was retried", took)
	}
	if n := len(col.exports()); n != 1 {
		t.Errorf("the collector got %d exports, want only the trusted one", n)
	}
}

// TestOTLPClientConfigErrors: a value the client cannot use stops the
// start with an error naming the variable (and never a secret).
func TestOTLPClientConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"not a URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "not an http:// or https:// URL"},
		{"a password is not echoed", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://user:s3cret-pass@collector/v1/traces"}, "ftp://user:xxxxx@collector/v1/traces"},
		{"timeout", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT=\"10s\": want a positive number of milliseconds"},
		{"traces timeout", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "-1"}, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"},
		{"compression", map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "want gzip or none"},
		{"headers", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-a=1,broken"}, "OTEL_EXPORTER_OTLP_HEADERS: \"broken\" is not key=value"},
		{"header value", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%zz-secret"}, "the value of authorization is not URL-encoded"},
		{"CA file missing", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": filepath.Join(dir, "none.pem")}, "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{"CA not PEM", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": notPEM}, "holds no PEM certificate"},
		{"client cert without key", map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": notPEM}, "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := observe.NewOTLPClient(envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			for _, secret := range []string{"s3cret-pass", "secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error %q carries a secret", err)
				}
			}
		})
	}
}

// TestTracerProviderExportsOverOTLP: the provider the binary uses sends a
// finished span, with its resource, to the collector the environment
// names.
func TestTracerProviderExportsOverOTLP(t *testing.T) {
	col := newCollector(t, false)
	t.Setenv("OTEL_SERVICE_NAME", "miosa-mcp-test") // the SDK's resource reads the process environment
	tr, err := observe.TracingFromEnv(envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL}))
	if err != nil || !tr.Enabled {
		t.Fatalf("TracingFromEnv: %+v, %v", tr, err)
	}
	tp, err := tr.NewTracerProvider(context.Background(), "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer(observe.TracerName).Start(context.Background(), "tools/call widget_get")
	span.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := col.exports()
	if len(got) != 1 || got[0].err != nil {
		t.Fatalf("exports %v", got)
	}
	rs := got[0].req.GetResourceSpans()
	if len(rs) != 1 || len(rs[0].GetScopeSpans()) != 1 || len(rs[0].GetScopeSpans()[0].GetSpans()) != 1 {
		t.Fatalf("export %v, want one span", got[0].req)
	}
	if name := rs[0].GetScopeSpans()[0].GetSpans()[0].GetName(); name != "tools/call widget_get" {
		t.Errorf("span %q", name)
	}
	attrs := map[string]string{}
	for _, kv := range rs[0].GetResource().GetAttributes() {
		attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	if attrs["service.name"] != "miosa-mcp-test" || attrs["service.version"] != "1.2.3" {
		t.Errorf("resource %v", attrs)
	}
}
