package observe_test

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/miosa-osa/miosa-mcp/internal/observe"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
	metaTrace   = "0af7651916cd43dd8448eb211c80319c"
	metaSpan    = "b7ad6b7169203331"
)

func traceparent(traceID, spanID string) string { return "00-" + traceID + "-" + spanID + "-01" }

// byName returns the spans called name.
func byName(spans tracetest.SpanStubs, name string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func attr(s tracetest.SpanStub, k string) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if string(a.Key) == k {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestTracing checks the spans of a tool call: one server span per call,
// continuing the caller's trace (the HTTP traceparent header, or
// params._meta.traceparent, which wins); a client span per upstream request
// and per wait poll, its child; traceparent sent on to the API naming the
// upstream span; retries as events; and no key or argument value anywhere.
func TestTracing(t *testing.T) {
	f := newFixture(t, config{tracing: true, mode: runtime.ModeHTTP})
	header := map[string]string{"traceparent": traceparent(callerTrace, callerSpan)}

	t.Run("HTTP traceparent continued, and sent on", func(t *testing.T) {
		f.spans.Reset()
		before := len(f.up.Requests())
		f.callHTTP(t, key(1), "widget_get", map[string]any{"id": "w_ok"}, nil, header)
		spans := f.spans.GetSpans()
		calls, ups := byName(spans, "tools/call widget_get"), byName(spans, "GET /widgets/{widget_id}")
		if len(calls) != 1 || len(ups) != 1 || len(spans) != 2 {
			t.Fatalf("spans %v, want one tools/call widget_get and one GET /widgets/{widget_id}", names(spans))
		}
		c, u := calls[0], ups[0]
		if c.SpanContext.TraceID().String() != callerTrace || c.Parent.SpanID().String() != callerSpan || !c.Parent.IsRemote() {
			t.Errorf("call span trace %s parent %s, want the caller's %s/%s", c.SpanContext.TraceID(), c.Parent.SpanID(), callerTrace, callerSpan)
		}
		if c.SpanKind != trace.SpanKindServer || u.SpanKind != trace.SpanKindClient {
			t.Errorf("kinds %v/%v, want server/client", c.SpanKind, u.SpanKind)
		}
		if u.Parent.SpanID() != c.SpanContext.SpanID() || u.SpanContext.TraceID() != c.SpanContext.TraceID() {
			t.Errorf("the upstream span is not the call span's child")
		}
		reqs := f.up.Requests()[before:]
		if len(reqs) != 1 {
			t.Fatalf("%d upstream requests", len(reqs))
		}
		if got, want := reqs[0].Header.Get("Traceparent"), traceparent(callerTrace, u.SpanContext.SpanID().String()); got != want {
			t.Errorf("the API received traceparent %q, want %q (the upstream span)", got, want)
		}
		for k, want := range map[string]string{"mcp.method.name": "tools/call", "gen_ai.tool.name": "widget_get", "gen_ai.operation.name": "execute_tool", "miosa.operation": "getWidget", "miosa.outcome": "ok", "network.transport": "tcp"} {
			if v, _ := attr(c, k); v.AsString() != want {
				t.Errorf("call span %s = %q, want %q", k, v.AsString(), want)
			}
		}
		if v, _ := attr(c, "miosa.upstream.status_code"); v.AsInt64() != 200 {
			t.Errorf("call span miosa.upstream.status_code = %v", v.AsInt64())
		}
		if v, _ := attr(c, "miosa.request_id"); v.AsString() != fmt.Sprintf("req_%d", before+1) {
			t.Errorf("call span miosa.request_id = %q", v.AsString())
		}
		rid := fmt.Sprintf("req_%d", before+1) // the upstream numbers its answers
		for k, want := range map[string]string{"http.request.method": "GET", "url.template": "/widgets/{widget_id}", "miosa.operation": "getWidget", "miosa.request_id": rid} {
			if v, _ := attr(u, k); v.AsString() != want {
				t.Errorf("upstream span %s = %q, want %q", k, v.AsString(), want)
			}
		}
		if v, _ := attr(u, "http.response.status_code"); v.AsInt64() != 200 {
			t.Errorf("upstream span http.response.status_code = %v", v.AsInt64())
		}
	})

	t.Run("_meta traceparent is the parent; the header a link", func(t *testing.T) {
		f.spans.Reset()
		meta := map[string]any{"traceparent": traceparent(metaTrace, metaSpan)}
		f.callHTTP(t, key(2), "widget_get", map[string]any{"id": "w_ok"}, meta, header)
		calls := byName(f.spans.GetSpans(), "tools/call widget_get")
		if len(calls) != 1 {
			t.Fatalf("spans %v", names(f.spans.GetSpans()))
		}
		c := calls[0]
		if c.SpanContext.TraceID().String() != metaTrace || c.Parent.SpanID().String() != metaSpan {
			t.Errorf("call span in trace %s under %s, want the _meta context %s/%s", c.SpanContext.TraceID(), c.Parent.SpanID(), metaTrace, metaSpan)
		}
		if len(c.Links) != 1 || c.Links[0].SpanContext.TraceID().String() != callerTrace {
			t.Errorf("links %v, want one to the HTTP traceparent's trace", c.Links)
		}
	})

	t.Run("no incoming context: a new trace, still sent on", func(t *testing.T) {
		f.spans.Reset()
		before := len(f.up.Requests())
		f.callHTTP(t, key(3), "widget_get", map[string]any{"id": "w_ok"}, nil, nil)
		calls := byName(f.spans.GetSpans(), "tools/call widget_get")
		if len(calls) != 1 || calls[0].Parent.IsValid() {
			t.Fatalf("want one root call span, got %v", names(f.spans.GetSpans()))
		}
		if tp := f.up.Requests()[before].Header.Get("Traceparent"); !strings.Contains(tp, calls[0].SpanContext.TraceID().String()) {
			t.Errorf("the API received traceparent %q, not in trace %s", tp, calls[0].SpanContext.TraceID())
		}
	})

	t.Run("a wait: a span per poll", func(t *testing.T) {
		f.spans.Reset()
		f.callHTTP(t, key(4), "widget_create", map[string]any{"name": "arg-value-name", "wait": true}, nil, header)
		spans := f.spans.GetSpans()
		calls := byName(spans, "tools/call widget_create")
		posts := byName(spans, "POST /widgets")
		polls := byName(spans, "wait poll GET /widgets/{widget_id}")
		if len(calls) != 1 || len(posts) != 1 || len(polls) != 2 {
			t.Fatalf("spans %v, want the call, its POST and two polls", names(spans))
		}
		for i, s := range append(posts, polls...) {
			if s.Parent.SpanID() != calls[0].SpanContext.SpanID() {
				t.Errorf("span %s is not the call's child", s.Name)
			}
			if i > 0 {
				if v, _ := attr(s, "miosa.wait.poll"); v.AsInt64() != int64(i) {
					t.Errorf("poll %d has miosa.wait.poll %d", i, v.AsInt64())
				}
			}
		}
	})

	t.Run("errors and retries", func(t *testing.T) {
		f.spans.Reset()
		f.callHTTP(t, key(5), "widget_get", map[string]any{"id": "w_429"}, nil, nil)
		f.callHTTP(t, key(6), "widget_get", map[string]any{"id": "w_401"}, nil, nil)
		spans := f.spans.GetSpans()
		calls := byName(spans, "tools/call widget_get")
		ups := byName(spans, "GET /widgets/{widget_id}")
		if len(calls) != 2 || len(ups) != 2 {
			t.Fatalf("spans %v", names(spans))
		}
		retries := 0
		for _, e := range ups[0].Events {
			if e.Name == "retry" {
				retries++
			}
		}
		if retries != 2 {
			t.Errorf("the 429 request has %d retry events, want 2", retries)
		}
		for i, want := range []string{"upstream_error_4xx", "upstream_error_4xx"} {
			if v, _ := attr(calls[i], "error.type"); v.AsString() != want || calls[i].Status.Code != codes.Error {
				t.Errorf("call %d: error.type %q status %v, want %q and Error", i, v.AsString(), calls[i].Status, want)
			}
			if calls[i].Status.Description != want {
				t.Errorf("call %d status description %q: it must name the outcome, never the result text", i, calls[i].Status.Description)
			}
		}
		if v, _ := attr(ups[1], "miosa.request_id"); v.AsString() != "req-[redacted]" {
			t.Errorf("the key echoed in X-Request-ID reached the span as %q", v.AsString())
		}
	})

	// Everything recorded: no key, id or argument value, anywhere.
	f.spans.Reset()
	f.callHTTP(t, key(7), "widget_get", map[string]any{"id": "w_401"}, map[string]any{"traceparent": traceparent(metaTrace, metaSpan), "progressToken": "tok-secret"}, header)
	f.callHTTP(t, key(8), "widget_create", map[string]any{"name": "arg-value-name", "labels": map[string]any{"team": "arg-label"}, "wait": true}, nil, nil)
	all := f.spans.GetSpans()
	if len(all) < 5 {
		t.Fatalf("only %d spans", len(all))
	}
	for _, s := range all {
		text := s.Name + " " + s.Status.Description
		for _, a := range s.Attributes {
			text += " " + string(a.Key) + "=" + a.Value.String()
		}
		for _, e := range s.Events {
			text += " " + e.Name
			for _, a := range e.Attributes {
				text += " " + a.Value.String()
			}
		}
		for _, secret := range []string{keyPrefix, "w_401", "w_new", "arg-value-name", "arg-label", "tok-secret", "revoked"} {
			if strings.Contains(text, secret) {
				t.Errorf("span %q carries %q: %s", s.Name, secret, text)
			}
		}
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s(%s)", s.Name, s.SpanContext.SpanID()))
	}
	return out
}

// TestTracingOffPassesNothing: without a tracer nothing is injected; the
// caller's traceparent does not reach the API.
func TestTracingOffPassesNothing(t *testing.T) {
	f := newFixture(t, config{metrics: true, mode: runtime.ModeHTTP})
	f.callHTTP(t, key(1), "widget_get", map[string]any{"id": "w_ok"}, nil, map[string]string{"traceparent": traceparent(callerTrace, callerSpan)})
	if tp := f.up.Requests()[0].Header.Get("Traceparent"); tp != "" {
		t.Errorf("with tracing off the API received traceparent %q", tp)
	}
}

func TestTracingFromEnv(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		on   bool
		err  string
	}{
		{"nothing set", nil, false, ""},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, ""},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true, ""},
		{"exporter otlp alone", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, ""},
		{"SDK disabled wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, false, ""},
		{"SDK disabled false", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "false"}, true, ""},
		{"exporter none wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false, ""},
		{"http/protobuf", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, true, ""},
		{"grpc refused", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, true, ""},
		{"grpc without an endpoint is off", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, ""},
		{"console exporter refused", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, false, "OTEL_TRACES_EXPORTER"},
		{"exporter setting checked at once", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, false, "OTEL_EXPORTER_OTLP_COMPRESSION"},
		{"exporter setting of tracing that is off", map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := observe.TracingFromEnv(func(k string) string { return c.env[k] })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want one naming %s", err, c.err)
				}
				return
			}
			if err != nil || got.Enabled != c.on {
				t.Fatalf("Enabled %v, err %v; want %v", got.Enabled, err, c.on)
			}
		})
	}
}
