package observe_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// TestCallLogLine checks the one line per call: JSON that parses line by
// line, with the tool, outcome, duration, upstream status, request id and
// trace id, and no key fragment even when the API echoes the key.
func TestCallLogLine(t *testing.T) {
	f := newFixture(t, config{tracing: true, mode: runtime.ModeHTTP})
	header := map[string]string{"traceparent": traceparent(callerTrace, callerSpan)}
	f.callHTTP(t, key(1), "widget_get", map[string]any{"id": "w_ok"}, nil, header)
	f.callHTTP(t, key(2), "widget_get", map[string]any{"id": "w_401"}, nil, header)
	f.callHTTP(t, key(3), "widget_get", map[string]any{}, nil, nil)
	f.callHTTP(t, key(4), "widget_create", map[string]any{"name": "arg-value-name", "wait": true}, nil, nil)

	type line struct {
		Level, Msg, Tool, Outcome string
		DurationMS                *float64 `json:"duration_ms"`
		UpstreamStatus            *int     `json:"upstream_status"`
		UpstreamRequests          int      `json:"upstream_requests"`
		WaitPolls                 int      `json:"wait_polls"`
		RequestID                 string   `json:"request_id"`
		TraceID                   string   `json:"trace_id"`
	}
	var calls []line
	for i, raw := range bytes.Split(bytes.TrimSpace([]byte(f.logs.String())), []byte("\n")) {
		var l line
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("log line %d is not JSON: %v\n%s", i+1, err, raw)
		}
		if l.Msg == "tool call" {
			calls = append(calls, l)
		}
	}
	if len(calls) != 4 {
		t.Fatalf("%d call lines, want 4:\n%s", len(calls), f.logs.String())
	}
	for i, want := range []struct {
		outcome      string
		status, reqs int
		polls        int
		traced       bool
	}{
		{"ok", 200, 1, 0, true},
		{"upstream_error_4xx", 401, 1, 0, true},
		{"refused", 0, 0, 0, true},
		{"ok", 200, 3, 2, true},
	} {
		l := calls[i]
		if l.Level != "INFO" || l.Outcome != want.outcome || l.UpstreamStatus == nil || *l.UpstreamStatus != want.status ||
			l.UpstreamRequests != want.reqs || l.WaitPolls != want.polls || l.DurationMS == nil || *l.DurationMS <= 0 {
			t.Errorf("line %d: %+v, want %+v", i, l, want)
		}
		if (l.TraceID != "") != want.traced || len(l.TraceID) != 0 && len(l.TraceID) != 32 {
			t.Errorf("line %d: trace_id %q", i, l.TraceID)
		}
		if want.reqs > 0 && !strings.HasPrefix(l.RequestID, "req") {
			t.Errorf("line %d: request_id %q", i, l.RequestID)
		}
	}
	if calls[0].TraceID != callerTrace {
		t.Errorf("trace_id %q, want the caller's %s", calls[0].TraceID, callerTrace)
	}
	if calls[1].RequestID != "req-[redacted]" {
		t.Errorf("the key echoed in X-Request-ID was logged as %q", calls[1].RequestID)
	}
	logs := f.logs.String()
	for _, secret := range []string{keyPrefix, "9f8e7d6c", "w_401", "arg-value-name"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries %q:\n%s", secret, logs)
		}
	}
}
