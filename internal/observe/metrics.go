package observe

import (
	"net"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, in a registry of their own
// (nothing registers into the global one). docs/hosting.md#metrics lists
// them. Every label value comes from a fixed set or the catalog, so the
// number of series is bounded by the catalog's size whatever callers send.
type Metrics struct {
	reg *prometheus.Registry

	calls       *prometheus.CounterVec   // tool, outcome
	duration    *prometheus.HistogramVec // tool
	inFlight    prometheus.Gauge
	rateLimited *prometheus.CounterVec // tool
	polls       *prometheus.CounterVec // tool
	progress    prometheus.Counter
	busy        *prometheus.CounterVec // transport

	upstream    *prometheus.CounterVec   // operation, code
	upstreamDur *prometheus.HistogramVec // operation
	retries     *prometheus.CounterVec   // operation, reason
	upSent      prometheus.Counter
	upReceived  prometheus.Counter

	received   *prometheus.CounterVec // transport
	sent       *prometheus.CounterVec // transport
	rejections *prometheus.CounterVec // code, reason
}

// DurationBuckets are the latency histograms' buckets, in seconds: from
// 5 ms (a cached read on a near API) to 10 min (the longest wait a call may
// ask for, runtime.MaxWaitTimeoutSec).
var DurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// NewMetrics creates the metrics, the Go runtime and process collectors
// and miosa_mcp_build_info, in a new registry.
func NewMetrics(version string) *Metrics {
	const ns = "miosa_mcp"
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, Buckets: DurationBuckets}, labels)
	}
	m := &Metrics{
		reg:         prometheus.NewRegistry(),
		calls:       counter("tool_calls_total", "Tool calls by tool and outcome (ok, tool_error, refused, upstream_error_3xx/4xx/5xx, transport_error, cancelled, internal_error).", "tool", "outcome"),
		duration:    histogram("tool_call_duration_seconds", "Tool call latency, from the handler's start to its result, by tool.", "tool"),
		inFlight:    prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "tool_calls_in_flight", Help: "Tool calls running now."}),
		rateLimited: counter("rate_limited_calls_total", "Tool calls refused by the per-key rate limit (--rate-limit), by tool.", "tool"),
		polls:       counter("wait_polls_total", "Polls of the wait loop (wait=true), by the waiting tool.", "tool"),
		progress:    prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "progress_notifications_total", Help: "Progress notifications sent to clients."}),
		busy:        counter("busy_rejections_total", "Requests refused because every call slot and the queue were full (--max-concurrent-calls, --max-queued-calls), by transport.", "transport"),
		upstream:    counter("upstream_requests_total", "Requests sent to the MIOSA API, each attempt counted, by operation and status code (a class such as 5xx for uncommon codes; error: no answer).", "operation", "code"),
		upstreamDur: histogram("upstream_request_duration_seconds", "Time from sending an API request to its response headers, retries included, by operation.", "operation"),
		retries:     counter("upstream_retries_total", "API requests sent again, by operation and the reason (the status code, or connection).", "operation", "reason"),
		upSent:      prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "upstream_sent_bytes_total", Help: "Request body bytes sent to the MIOSA API."}),
		upReceived:  prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "upstream_received_bytes_total", Help: "Response body bytes read from the MIOSA API."}),
		received:    counter("received_bytes_total", "MCP bytes received from clients (request bodies over HTTP, stdin over stdio).", "transport"),
		sent:        counter("sent_bytes_total", "MCP bytes sent to clients (response bodies over HTTP, stdout over stdio).", "transport"),
		rejections:  counter("http_rejections_total", "HTTP requests to the MCP endpoint answered with an error status before or instead of a tool call, by status code and reason (connections: over --max-connections).", "code", "reason"),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "build_info", Help: "The running build: always 1."}, []string{"version", "go_version"})
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	buildInfo.WithLabelValues(version, goVersion).Set(1)
	m.reg.MustRegister(
		m.calls, m.duration, m.inFlight, m.rateLimited, m.polls, m.progress, m.busy,
		m.upstream, m.upstreamDur, m.retries, m.upSent, m.upReceived,
		m.received, m.sent, m.rejections, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is where the metrics live (for tests and a custom handler).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or OpenMetrics)
// format.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	return mux
}

// MetricsAddr is where --metrics-listen binds: a value without a host
// (":9090", "9090") binds loopback; every interface takes an explicit
// 0.0.0.0 (or [::]).
func MetricsAddr(v string) (string, error) {
	if _, err := strconv.Atoi(v); err == nil {
		v = ":" + v
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", err
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// statusLabels are the codes that keep their own label value; any other
// is reported by its class (2xx … 5xx).
var statusLabels = func() map[int]string {
	m := map[int]string{}
	for _, c := range []int{200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308,
		400, 401, 402, 403, 404, 405, 406, 408, 409, 410, 412, 413, 415, 422, 423, 425, 428, 429, 431,
		500, 501, 502, 503, 504} {
		m[c] = strconv.Itoa(c)
	}
	return m
}()

func codeLabel(code int) string {
	if s, ok := statusLabels[code]; ok {
		return s
	}
	if code >= 100 && code < 600 {
		return strconv.Itoa(code/100) + "xx"
	}
	return "other"
}

// rejectionReasons name the statuses the MCP endpoint refuses with.
var rejectionReasons = map[int]string{
	400: "bad_request",        // malformed JSON-RPC, an API key in the URL, bad X-MCP-* headers
	401: "unauthorized",       // a tools/call without a usable key, a keyless body over 64 KiB
	403: "forbidden",          // an Origin that is not allowed, a Host that fails mcp-go's DNS-rebinding check
	404: "not_found",          // mcp-go: an unknown session
	405: "method_not_allowed", // GET and other non-POST requests
	406: "not_acceptable",     // mcp-go: an Accept header without application/json
	413: "body_too_large",     // over --max-body-bytes
	415: "unsupported_media_type",
	429: "too_many_requests",
	500: "internal_error", // a panic in the transport
	503: "busy",           // the request-body budget stayed full (--max-inflight-body-bytes)
}

func rejectionReason(code int) string {
	if r, ok := rejectionReasons[code]; ok {
		return r
	}
	if code >= 500 {
		return "server_error"
	}
	return "client_error"
}
