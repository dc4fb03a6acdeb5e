package observe

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// Tracing is OpenTelemetry tracing as the standard OTEL_* environment
// configures it (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
// It is off unless an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER=otlp asks for
// the default one; OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none
// turn it off whatever else is set. Spans are exported with OTLP over HTTP
// (http/protobuf) only: the gRPC exporter would double the binary's
// dependencies for the same data. The exporter's client (otlp.go) reads
// the rest of the OTEL_EXPORTER_OTLP_* variables (headers, timeout, TLS,
// compression), the SDK reads OTEL_TRACES_SAMPLER(_ARG) and OTEL_BSP_*,
// and the resource OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
type Tracing struct {
	Enabled bool
	client  *otlpClient // the exporter's client, as the same environment configured it
}

// TracingFromEnv reads what the environment asks for. An exporter or
// protocol this build cannot honour is an error, so that a misconfigured
// deployment fails at start instead of silently sending nothing.
func TracingFromEnv(getenv func(string) string) (Tracing, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return Tracing{}, nil
	}
	on := env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	if v := env("OTEL_TRACES_EXPORTER"); v != "" {
		for _, e := range strings.Split(v, ",") {
			switch strings.TrimSpace(strings.ToLower(e)) {
			case "none":
				return Tracing{}, nil
			case "otlp":
				on = true
			default:
				return Tracing{}, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: miosa-mcp exports traces with otlp only (or none)", v)
			}
		}
	}
	if !on {
		return Tracing{}, nil
	}
	proto := env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	name := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	if proto == "" {
		proto, name = env("OTEL_EXPORTER_OTLP_PROTOCOL"), "OTEL_EXPORTER_OTLP_PROTOCOL"
	}
	if proto != "" && proto != "http/protobuf" {
		return Tracing{}, fmt.Errorf("%s=%q: miosa-mcp exports OTLP over HTTP only; use http/protobuf (the default)", name, proto)
	}
	cl, err := newOTLPClient(getenv) // the exporter's own variables, checked as early
	if err != nil {
		return Tracing{}, err
	}
	return Tracing{Enabled: true, client: cl}, nil
}

// NewTracerProvider returns the SDK provider that batches spans to the
// OTLP/HTTP exporter tr was configured with, for service.name miosa-mcp
// (OTEL_SERVICE_NAME overrides it). Shut it down at exit to flush what is
// buffered.
func (tr Tracing) NewTracerProvider(ctx context.Context, version string) (*sdktrace.TracerProvider, error) {
	if !tr.Enabled || tr.client == nil {
		return nil, fmt.Errorf("tracing is off (TracingFromEnv)")
	}
	exp, err := otlptrace.New(ctx, tr.client)
	if err != nil {
		return nil, fmt.Errorf("the OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "miosa-mcp"), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: last, so they win
	)
	if err != nil {
		return nil, fmt.Errorf("the OpenTelemetry resource: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// TracerName is the instrumentation scope of every span.
const TracerName = "github.com/miosa-osa/miosa-mcp"

// metaCarrier reads W3C Trace Context from an MCP request's params._meta:
// SEP-414 (https://modelcontextprotocol.io/community/seps/414-request-meta)
// reserves the unprefixed keys traceparent, tracestate and baggage there.
type metaCarrier map[string]any

func (m metaCarrier) Get(k string) string { s, _ := m[k].(string); return s }
func (m metaCarrier) Set(string, string)  {}
func (m metaCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// parentContext is the remote parent of a tool call's span. The OTel MCP
// conventions (semantic-conventions-genai, docs/gen-ai/mcp.md, "Context
// propagation") make the context in params._meta the parent; the HTTP
// request's traceparent header, when it names another trace, becomes a
// link. Without _meta context the header is the parent.
func (o *Observer) parentContext(ctx context.Context, req mcp.CallToolRequest) (context.Context, []trace.Link) {
	var meta, hdr trace.SpanContext
	if m := req.Params.Meta; m != nil && len(m.AdditionalFields) > 0 {
		meta = trace.SpanContextFromContext(o.prop.Extract(context.Background(), metaCarrier(m.AdditionalFields)))
	}
	h := req.Header
	if len(h) == 0 {
		h = runtime.RequestHeader(ctx) // a call route answered itself
	}
	if h.Get("Traceparent") != "" {
		hdr = trace.SpanContextFromContext(o.prop.Extract(context.Background(), propagation.HeaderCarrier(h)))
	}
	switch {
	case meta.IsValid():
		var links []trace.Link
		if hdr.IsValid() && hdr.TraceID() != meta.TraceID() {
			links = append(links, trace.Link{SpanContext: hdr})
		}
		return trace.ContextWithRemoteSpanContext(ctx, meta), links
	case hdr.IsValid():
		return trace.ContextWithRemoteSpanContext(ctx, hdr), nil
	}
	return ctx, nil
}

// startCallSpan starts the tool call's span (kind server), named and
// attributed as the OTel MCP conventions say: "tools/call <tool>",
// mcp.method.name, gen_ai.tool.name, gen_ai.operation.name, plus the API
// operation. Never the arguments or the result.
func (o *Observer) startCallSpan(ctx context.Context, c *call, req mcp.CallToolRequest) context.Context {
	ctx, links := o.parentContext(ctx, req)
	transport := "pipe"
	if o.mode == runtime.ModeHTTP {
		transport = "tcp"
	}
	ctx, c.span = o.tracer.Start(ctx, "tools/call "+c.tool,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.String("mcp.method.name", "tools/call"),
			attribute.String("gen_ai.tool.name", c.tool),
			attribute.String("gen_ai.operation.name", "execute_tool"),
			attribute.String("network.transport", transport),
			attribute.String("miosa.operation", c.op),
		))
	if sc := c.span.SpanContext(); sc.IsValid() {
		c.traceID = sc.TraceID().String()
	}
	return ctx
}

func (c *call) endCallSpan(outcome string, status int, reqID string) {
	attrs := []attribute.KeyValue{attribute.String("miosa.outcome", outcome)}
	if status != 0 {
		attrs = append(attrs, attribute.Int("miosa.upstream.status_code", status))
	}
	if reqID != "" {
		attrs = append(attrs, attribute.String("miosa.request_id", reqID))
	}
	c.span.SetAttributes(attrs...)
	if outcome != OutcomeOK {
		c.span.SetAttributes(attribute.String("error.type", outcome))
		c.span.SetStatus(codes.Error, outcome)
	}
	c.span.End()
}

// startUpstreamSpan starts the span of one API request (kind client),
// named "<method> <path template>" as the OTel HTTP conventions say, and
// returns the request to send: a clone carrying traceparent (and
// tracestate) for that span.
func (c *call) startUpstreamSpan(req *http.Request, op string, p *poll) (*http.Request, trace.Span) {
	info, ok := c.o.ops[op]
	name := req.Method
	if ok && info.path != "" {
		name += " " + info.path
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", req.Method),
		attribute.String("server.address", req.URL.Hostname()),
		attribute.String("miosa.operation", op),
	}
	if ok && info.path != "" {
		attrs = append(attrs, attribute.String("url.template", info.path))
	}
	if p != nil {
		name = "wait poll " + name
		attrs = append(attrs, attribute.Int("miosa.wait.poll", p.n))
	}
	ctx, span := c.o.tracer.Start(req.Context(), name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	req = req.Clone(ctx)
	c.o.prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
	return req, span
}
