// Package observe is what a platform team sees of a running miosa-mcp
// (issue #14): Prometheus metrics, OpenTelemetry traces and one structured
// log line per tool call. It implements runtime.Observer, the narrow set of
// hooks the runtime calls, and wraps the pieces around the runtime that it
// does not need to know about: the HTTP client's transport (upstream
// requests, retries), the HTTP handler (MCP bytes, refused requests) and
// stdin/stdout (MCP bytes over stdio).
//
// Everything here follows two rules:
//   - No label, span attribute or log field carries the API key, an
//     argument value or a resource id. Labels are tool and operation names
//     from the catalog, outcomes and status codes from fixed sets; the
//     upstream request's path template is named, never its path.
//   - What is off costs (almost) nothing: without metrics, tracing and an
//     info-level logger, StartCall returns at once and the wrappers pass
//     requests straight through.
package observe

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// Options configure an Observer. The zero value observes nothing but the
// log line (which Logger's level may drop).
type Options struct {
	// Catalog is the tool catalog: its names and operations are the only
	// label values for tool and operation.
	Catalog []runtime.Tool
	// Metrics is the registry the metrics live in (NewMetrics); nil: off.
	Metrics *Metrics
	// Tracer starts the spans (Tracing.Tracer); nil: tracing off.
	Tracer trace.Tracer
	// Logger receives the per-call line at info level (nil: none).
	Logger *slog.Logger
	// Mode is the transport served: stdio or HTTP.
	Mode runtime.Mode
}

// Observer implements runtime.Observer.
type Observer struct {
	m      *Metrics
	tracer trace.Tracer
	prop   propagation.TraceContext
	log    *slog.Logger
	mode   runtime.Mode
	tools  map[string]bool
	ops    map[string]opInfo
}

// opInfo is what a span says of an operation: its method and path
// template (the path with {placeholders}, never a value).
type opInfo struct{ method, path string }

var _ runtime.Observer = (*Observer)(nil)

// New returns an Observer.
func New(o Options) *Observer {
	obs := &Observer{m: o.Metrics, tracer: o.Tracer, log: o.Logger, mode: o.Mode,
		tools: map[string]bool{}, ops: map[string]opInfo{}}
	if obs.log == nil {
		obs.log = slog.New(slog.DiscardHandler)
	}
	for _, t := range o.Catalog {
		obs.tools[t.Name] = true
		// A GET names the operation best (the wait loop polls GETs).
		if cur, ok := obs.ops[t.Operation]; !ok || (t.Method == "GET" && cur.method != "GET") {
			obs.ops[t.Operation] = opInfo{method: t.Method, path: t.Path}
		}
	}
	return obs
}

// unknown is the label value of a tool or operation not in the catalog.
const unknown = "unknown"

func (o *Observer) toolLabel(name string) string {
	if o.tools[name] {
		return name
	}
	return unknown
}

func (o *Observer) opLabel(op string) string {
	if _, ok := o.ops[op]; ok {
		return op
	}
	return unknown
}

// Outcomes of a tool call: the tool_calls_total outcome label, the log
// line's outcome and the call span's error.type.
const (
	OutcomeOK             = "ok"
	OutcomeToolError      = "tool_error" // an isError result the API's status does not explain (a failed wait, an unusable body)
	OutcomeRefused        = "refused"    // refused before anything was sent (arguments, key, rate limit, narrowing, unknown tool)
	OutcomeUpstream3xx    = "upstream_error_3xx"
	OutcomeUpstream4xx    = "upstream_error_4xx"
	OutcomeUpstream5xx    = "upstream_error_5xx"
	OutcomeTransportError = "transport_error" // no answer: timeout, connection refused or reset, a body cut short
	OutcomeCancelled      = "cancelled"       // the caller went away
	OutcomeInternalError  = "internal_error"  // the handler panicked (a bug; the stack is logged)
)

type callKey struct{}

// call is one tool call's state, shared with its upstream requests through
// the context.
type call struct {
	o       *Observer
	ctx     context.Context
	tool    string // a catalog name
	op      string // its operation
	method  string
	path    string
	start   time.Time
	key     runtime.APIKey // to scrub upstream-controlled text; never logged
	span    trace.Span     // nil when tracing is off
	traceID string

	mu        sync.Mutex
	status    int    // the last upstream status
	requestID string // the last upstream X-Request-ID, scrubbed
	transport bool   // an upstream request failed without an answer
	sent      int    // upstream requests that reached the transport
	polls     int
}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// StartCall implements runtime.Observer.
func (o *Observer) StartCall(ctx context.Context, t *runtime.Tool, req mcp.CallToolRequest) (context.Context, func(*mcp.CallToolResult)) {
	if o.m == nil && o.tracer == nil && !o.log.Enabled(ctx, slog.LevelInfo) {
		return ctx, func(*mcp.CallToolResult) {}
	}
	c := &call{o: o, tool: o.toolLabel(t.Name), op: o.opLabel(t.Operation), method: t.Method, path: t.Path,
		start: time.Now(), key: runtime.APIKeyFrom(ctx)}
	if o.m != nil {
		o.m.inFlight.Inc()
	}
	if o.tracer != nil {
		ctx = o.startCallSpan(ctx, c, req)
	}
	ctx = context.WithValue(ctx, callKey{}, c)
	c.ctx = ctx
	return ctx, c.end
}

// end classifies the result, records it and writes the log line.
func (c *call) end(res *mcp.CallToolResult) {
	d := time.Since(c.start)
	c.mu.Lock()
	status, reqID, sent, polls := c.status, c.requestID, c.sent, c.polls
	outcome := c.outcome(res)
	c.mu.Unlock()
	o := c.o
	if o.m != nil {
		o.m.inFlight.Dec()
		o.m.calls.WithLabelValues(c.tool, outcome).Inc()
		o.m.duration.WithLabelValues(c.tool).Observe(d.Seconds())
	}
	if c.span != nil {
		c.endCallSpan(outcome, status, reqID)
	}
	if o.log.Enabled(c.ctx, slog.LevelInfo) {
		attrs := []slog.Attr{
			slog.String("tool", c.tool),
			slog.String("outcome", outcome),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.Int("upstream_status", status),
			slog.Int("upstream_requests", sent),
		}
		if polls > 0 {
			attrs = append(attrs, slog.Int("wait_polls", polls))
		}
		if reqID != "" {
			attrs = append(attrs, slog.String("request_id", reqID))
		}
		if c.traceID != "" {
			attrs = append(attrs, slog.String("trace_id", c.traceID))
		}
		o.log.LogAttrs(c.ctx, slog.LevelInfo, "tool call", attrs...)
	}
}

// outcome is the call's class (c.mu held). The result says whether it
// failed; what the upstream requests did says why.
func (c *call) outcome(res *mcp.CallToolResult) string {
	switch {
	case res == nil:
		return OutcomeInternalError
	case !res.IsError:
		return OutcomeOK
	case c.ctx.Err() != nil:
		return OutcomeCancelled
	case c.transport:
		return OutcomeTransportError
	case c.status >= 500:
		return OutcomeUpstream5xx
	case c.status >= 400:
		return OutcomeUpstream4xx
	case c.status >= 300:
		return OutcomeUpstream3xx
	case c.sent == 0:
		return OutcomeRefused
	}
	return OutcomeToolError
}

// UnknownTool implements runtime.Observer.
func (o *Observer) UnknownTool(context.Context) {
	if o.m != nil {
		o.m.calls.WithLabelValues(unknown, OutcomeRefused).Inc()
	}
}

// RateLimited implements runtime.Observer.
func (o *Observer) RateLimited(ctx context.Context) {
	if o.m == nil {
		return
	}
	tool := unknown
	if c := callFrom(ctx); c != nil {
		tool = c.tool
	}
	o.m.rateLimited.WithLabelValues(tool).Inc()
}

type pollKey struct{}

// poll tags the upstream request of one wait poll.
type poll struct {
	op string
	n  int
}

// WaitPoll implements runtime.Observer.
func (o *Observer) WaitPoll(ctx context.Context, op string) context.Context {
	c := callFrom(ctx)
	if c == nil {
		return ctx
	}
	c.mu.Lock()
	c.polls++
	n := c.polls
	c.mu.Unlock()
	if o.m != nil {
		o.m.polls.WithLabelValues(c.tool).Inc()
	}
	return context.WithValue(ctx, pollKey{}, poll{op: o.opLabel(op), n: n})
}

// Progress implements runtime.Observer.
func (o *Observer) Progress(context.Context) {
	if o.m != nil {
		o.m.progress.Inc()
	}
}

// Busy implements runtime.Observer.
func (o *Observer) Busy(mode runtime.Mode) {
	if o.m != nil {
		o.m.busy.WithLabelValues(transportLabel(mode)).Inc()
	}
}

func transportLabel(m runtime.Mode) string {
	if m == runtime.ModeHTTP {
		return "http"
	}
	return "stdio"
}

// maxRequestIDBytes caps the upstream request id kept for a log line or a
// span: it is upstream-controlled text.
const maxRequestIDBytes = 128

// scrubRequestID makes an upstream X-Request-ID safe to log: the caller's
// key, should a proxy echo it, is replaced, anything but the characters of
// an identifier becomes '_', and it is capped.
func scrubRequestID(id string, key runtime.APIKey) string {
	if id == "" {
		return ""
	}
	if k := key.Reveal(); len(k) >= 8 {
		id = strings.ReplaceAll(id, k, "[redacted]")
	}
	if len(id) > maxRequestIDBytes {
		id = id[:maxRequestIDBytes]
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune("-_.:/+=[]", r):
			return r
		}
		return '_'
	}, id)
}
