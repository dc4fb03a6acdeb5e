package e2e_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// TestTracesReachTheCollector: the binary, with OTEL_EXPORTER_OTLP_ENDPOINT
// set, sends the span of a tool call to that collector as OTLP/HTTP
// protobuf, with its resource, by the time it exits.
func TestTracesReachTheCollector(t *testing.T) {
	var mu sync.Mutex
	var spans []string
	var service string
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(body, &req) != nil {
			t.Errorf("the collector got %s %s (%s), not an OTLP/HTTP protobuf export", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.GetResourceSpans() {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					spans = append(spans, s.GetName())
				}
			}
		}
	}))
	defer col.Close()
	c, _, _ := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{
		Args: []string{"--mock"},
		Env:  []string{"MIOSA_API_KEY=" + testKey, "OTEL_EXPORTER_OTLP_ENDPOINT=" + col.URL, "OTEL_BSP_SCHEDULE_DELAY=50"},
	})
	testsupport.MustCall(t, c, "sandbox_list", map[string]any{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got, svc := append([]string(nil), spans...), service
		mu.Unlock()
		for _, name := range got {
			if name == "tools/call sandbox_list" {
				if svc != "miosa-mcp" {
					t.Errorf("service.name %q, want miosa-mcp", svc)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tools/call sandbox_list span reached the collector in 10 s; spans: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
