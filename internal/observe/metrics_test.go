package observe_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/miosa-osa/miosa-mcp/internal/observe"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// TestMetricsAfterScriptedCalls runs a scripted mix of calls over HTTP,
// scrapes /metrics, parses it with expfmt and checks every count, then
// that no label carries a key, an id or an argument value.
func TestMetricsAfterScriptedCalls(t *testing.T) {
	f := newFixture(t, config{metrics: true, mode: runtime.ModeHTTP,
		rate: runtime.RateLimit{PerSecond: 0.001, Burst: 1},
		http: runtime.HTTPOptions{MaxBodyBytes: 4096}})
	k := 0
	next := func() string { k++; return key(k) } // one key per call: the rate limit allows one each
	steps := []struct {
		name, tool string
		args       map[string]any
		meta       map[string]any
		key        string
		isError    bool
		progress   int
	}{
		{"ok", "widget_get", map[string]any{"id": "w_ok"}, nil, next(), false, 0},
		{"upstream 401", "widget_get", map[string]any{"id": "w_401"}, nil, next(), true, 0},
		{"upstream 429, retried", "widget_get", map[string]any{"id": "w_429"}, nil, next(), true, 0},
		{"upstream 500", "widget_get", map[string]any{"id": "w_500"}, nil, next(), true, 0},
		{"tool error: an HTML 200", "widget_get", map[string]any{"id": "w_html"}, nil, next(), true, 0},
		{"transport error, retried", "widget_get", map[string]any{"id": "w_drop"}, nil, next(), true, 0},
		{"refused: a missing argument", "widget_get", map[string]any{}, nil, next(), true, 0},
		{"wait with polls and progress", "widget_create", map[string]any{"name": "arg-value-name", "wait": true}, map[string]any{"progressToken": "tok-1"}, next(), false, 4},
		{"unknown tool", "widget_nope", map[string]any{}, nil, next(), true, 0},
	}
	rateKey := next()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.tool == "widget_nope" {
				// mcp-go answers a JSON-RPC error, not a tool result.
				status, msgs := f.post(t, map[string]string{"Authorization": "Bearer " + s.key}, callBody(1, s.tool, s.args, nil))
				if status != http.StatusOK || len(msgs) != 1 || msgs[0]["error"] == nil {
					t.Fatalf("unknown tool: HTTP %d %v", status, msgs)
				}
				return
			}
			isError, progress := f.callHTTP(t, s.key, s.tool, s.args, s.meta, nil)
			if isError != s.isError || progress != s.progress {
				t.Fatalf("isError %v with %d progress notifications, want %v with %d", isError, progress, s.isError, s.progress)
			}
		})
	}
	t.Run("rate limited", func(t *testing.T) {
		f.callHTTP(t, rateKey, "widget_get", map[string]any{"id": "w_ok"}, nil, nil)
		if isError, _ := f.callHTTP(t, rateKey, "widget_get", map[string]any{"id": "w_ok"}, nil, nil); !isError {
			t.Fatal("the second call of the key passed the rate limit")
		}
	})
	t.Run("HTTP rejections", func(t *testing.T) {
		for _, r := range []struct {
			header map[string]string
			body   string
			want   int
		}{
			{nil, callBody(1, "widget_get", map[string]any{"id": "w_ok"}, nil), http.StatusUnauthorized},
			{map[string]string{"Authorization": "Bearer " + next()}, callBody(1, "widget_get", map[string]any{"id": strings.Repeat("x", 5000)}, nil), http.StatusRequestEntityTooLarge},
			{map[string]string{"Origin": "https://evil.example"}, callBody(1, "widget_get", map[string]any{"id": "w_ok"}, nil), http.StatusForbidden},
		} {
			if status, _ := f.post(t, r.header, r.body); status != r.want {
				t.Errorf("HTTP %d, want %d", status, r.want)
			}
		}
		resp, err := f.mcp.Client().Get(f.mcp.URL + "/mcp")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /mcp: %d, want 405", resp.StatusCode)
		}
	})

	fams := f.scrape(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"miosa_mcp_tool_calls_total", []string{"tool", "widget_get", "outcome", "ok"}, 2},
		{"miosa_mcp_tool_calls_total", []string{"tool", "widget_get", "outcome", "upstream_error_4xx"}, 2},
		{"miosa_mcp_tool_calls_total", []string{"tool", "widget_get", "outcome", "upstream_error_5xx"}, 1},
		{"miosa_mcp_tool_calls_total", []string{"tool", "widget_get", "outcome", "tool_error"}, 1},
		{"miosa_mcp_tool_calls_total", []string{"tool", "widget_get", "outcome", "transport_error"}, 1},
		{"miosa_mcp_tool_calls_total", []string{"tool", "widget_get", "outcome", "refused"}, 2},
		{"miosa_mcp_tool_calls_total", []string{"tool", "widget_create", "outcome", "ok"}, 1},
		{"miosa_mcp_tool_calls_total", []string{"tool", "unknown", "outcome", "refused"}, 1},
		{"miosa_mcp_tool_call_duration_seconds", []string{"tool", "widget_get"}, 9},
		{"miosa_mcp_tool_call_duration_seconds", []string{"tool", "widget_create"}, 1},
		{"miosa_mcp_tool_calls_in_flight", nil, 0},
		{"miosa_mcp_rate_limited_calls_total", []string{"tool", "widget_get"}, 1},
		{"miosa_mcp_wait_polls_total", []string{"tool", "widget_create"}, 2},
		{"miosa_mcp_progress_notifications_total", nil, 4},
		// w_ok twice, w_html, and the two polls of w_new.
		{"miosa_mcp_upstream_requests_total", []string{"operation", "getWidget", "code", "200"}, 5},
		{"miosa_mcp_upstream_requests_total", []string{"operation", "getWidget", "code", "401"}, 1},
		{"miosa_mcp_upstream_requests_total", []string{"operation", "getWidget", "code", "429"}, 3},
		{"miosa_mcp_upstream_requests_total", []string{"operation", "getWidget", "code", "500"}, 1},
		{"miosa_mcp_upstream_requests_total", []string{"operation", "getWidget", "code", "error"}, 3},
		{"miosa_mcp_upstream_requests_total", []string{"operation", "createWidget", "code", "201"}, 1},
		{"miosa_mcp_upstream_request_duration_seconds", []string{"operation", "getWidget"}, 9},
		{"miosa_mcp_upstream_retries_total", []string{"operation", "getWidget", "reason", "429"}, 2},
		{"miosa_mcp_upstream_retries_total", []string{"operation", "getWidget", "reason", "connection"}, 2},
		{"miosa_mcp_http_rejections_total", []string{"code", "401", "reason", "unauthorized"}, 1},
		{"miosa_mcp_http_rejections_total", []string{"code", "413", "reason", "body_too_large"}, 1},
		{"miosa_mcp_http_rejections_total", []string{"code", "403", "reason", "forbidden"}, 1},
		{"miosa_mcp_http_rejections_total", []string{"code", "405", "reason", "method_not_allowed"}, 1},
		{"miosa_mcp_build_info", []string{"version", "test", "go_version", goVersion(fams)}, 1},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// net/http itself sends a GET again once when a reused connection
	// closes before answering (w_drop), so the upstream may see more.
	if n := len(f.up.Requests()); n < 14 {
		t.Errorf("the upstream received %d requests, want at least the 14 upstream_requests_total counts", n)
	}
	for _, name := range []string{"miosa_mcp_received_bytes_total", "miosa_mcp_sent_bytes_total"} {
		if value(fams, name, "transport", "http") <= 0 {
			t.Errorf("%s{transport=http} is not positive", name)
		}
	}
	if value(fams, "miosa_mcp_upstream_received_bytes_total") <= 0 || value(fams, "miosa_mcp_upstream_sent_bytes_total") <= 0 {
		t.Error("upstream bytes are not counted")
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("%s is missing: the Go runtime and process collectors are not registered", name)
		}
	}
	checkLabels(t, fams, f.catalog, []string{"w_ok", "w_401", "w_new", "arg-value-name", "tok-1", "req_", keyPrefix, strings.Repeat("x", 20)})
}

func goVersion(fams map[string]*dto.MetricFamily) string {
	for _, m := range fams["miosa_mcp_build_info"].GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "go_version" {
				return l.GetValue()
			}
		}
	}
	return ""
}

// checkLabels asserts every label of every series is one of the bounded
// values: tool and operation names from the catalog, a fixed outcome,
// code, reason or transport, a bucket bound; and that none carries any of
// the secrets.
func checkLabels(t *testing.T, fams map[string]*dto.MetricFamily, catalog []runtime.Tool, secrets []string) {
	t.Helper()
	tools, ops := []string{"unknown"}, []string{"unknown"}
	for _, tl := range catalog {
		tools = append(tools, tl.Name)
		ops = append(ops, tl.Operation)
	}
	outcomes := []string{observe.OutcomeOK, observe.OutcomeToolError, observe.OutcomeRefused, observe.OutcomeUpstream3xx,
		observe.OutcomeUpstream4xx, observe.OutcomeUpstream5xx, observe.OutcomeTransportError, observe.OutcomeCancelled, observe.OutcomeInternalError}
	code := regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]xx|error|other|connection)$`)
	reasons := regexp.MustCompile(`^[a-z_]+$`)
	number := regexp.MustCompile(`^([0-9.e+-]+|\+Inf)$`)
	seen := 0
	for name, fam := range fams {
		for _, m := range fam.Metric {
			for _, l := range m.Label {
				seen++
				v := l.GetValue()
				for _, s := range secrets {
					if strings.Contains(v, s) {
						t.Errorf("%s{%s=%q} carries %q", name, l.GetName(), v, s)
					}
				}
				ok := true
				switch l.GetName() {
				case "tool":
					ok = slices.Contains(tools, v)
				case "operation":
					ok = slices.Contains(ops, v)
				case "outcome":
					ok = slices.Contains(outcomes, v)
				case "code":
					ok = code.MatchString(v)
				case "reason":
					ok = code.MatchString(v) || reasons.MatchString(v) && len(v) <= 32
				case "transport":
					ok = v == "http" || v == "stdio"
				case "le", "quantile":
					ok = number.MatchString(v)
				case "cause":
					ok = name == "promhttp_metric_handler_errors_total" && (v == "encoding" || v == "gathering")
				case "version", "go_version":
					ok = name == "miosa_mcp_build_info" || strings.HasPrefix(name, "go_")
				default:
					ok = strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
				}
				if !ok {
					t.Errorf("%s has the unbounded label %s=%q", name, l.GetName(), v)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no labels at all: the scrape is empty")
	}
}

// TestMetricsOverStdio counts the same calls over the stdio transport:
// the bytes of stdin and stdout, and a call refused because the one
// worker and the one queue slot are taken.
func TestMetricsOverStdio(t *testing.T) {
	f := newFixture(t, config{metrics: true, mode: runtime.ModeStdio})
	s := startStdio(t, f, runtime.StdioOptions{Key: runtime.NewAPIKey(key(1)), Workers: 1, Queue: 1})
	s.call(t, 1, "widget_get", `{"id":"w_ok"}`)
	s.send(t, 2, "widget_get", `{"id":"w_block"}`)
	<-f.up.blocked // the worker is busy
	s.send(t, 3, "widget_get", `{"id":"w_ok"}`)
	busy := s.call(t, 4, "widget_get", `{"id":"w_ok"}`) // the queue holds 3
	if !strings.Contains(busy, "miosa-mcp is busy") {
		t.Fatalf("the call beyond the queue was not refused as busy: %s", busy)
	}
	close(f.up.release)
	s.await(t, 2)
	s.await(t, 3)
	fams := f.scrape(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"miosa_mcp_tool_calls_total", []string{"tool", "widget_get", "outcome", "ok"}, 3},
		{"miosa_mcp_busy_rejections_total", []string{"transport", "stdio"}, 1},
		{"miosa_mcp_upstream_requests_total", []string{"operation", "getWidget", "code", "200"}, 3},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	in, out := value(fams, "miosa_mcp_received_bytes_total", "transport", "stdio"), value(fams, "miosa_mcp_sent_bytes_total", "transport", "stdio")
	if in != float64(s.written) || out < float64(s.read) || out == 0 {
		t.Errorf("stdio bytes: received %v (wrote %d), sent %v (read %d)", in, s.written, out, s.read)
	}
	checkLabels(t, fams, f.catalog, []string{"w_ok", "w_block", keyPrefix})
}

func TestMetricsAddr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{":9090", "127.0.0.1:9090"},
		{"9090", "127.0.0.1:9090"},
		{"0.0.0.0:9090", "0.0.0.0:9090"},
		{"[::]:9090", "[::]:9090"},
		{"localhost:0", "localhost:0"},
		{"10.0.0.1:9090", "10.0.0.1:9090"},
	} {
		got, err := observe.MetricsAddr(c.in)
		if err != nil || got != c.want {
			t.Errorf("MetricsAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "host-without-port", "1.2.3.4"} {
		if got, err := observe.MetricsAddr(bad); err == nil {
			t.Errorf("MetricsAddr(%q) = %q, want an error", bad, got)
		}
	}
}
