package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

func TestParseLogFormat(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"", "text", ""}, {"text", "text", ""}, {"JSON", "json", ""}, {" json ", "json", ""},
		{"logfmt", "", "MIOSA_LOG_FORMAT"},
	} {
		got, err := app.ParseLogFormat(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "text or json") {
				t.Errorf("%q: err %v", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseLogFormat(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	env := map[string]string{"MIOSA_LOG_FORMAT": "xml"}
	if _, err := app.LoadConfig(func(k string) string { return env[k] }); err == nil {
		t.Error("LoadConfig accepted MIOSA_LOG_FORMAT=xml")
	}
}

// TestHTTPMetricsAndJSONLogs serves `miosa-mcp http --mock --metrics-listen`
// with MIOSA_LOG_FORMAT=json in-process: every stderr line is a JSON
// object, the metrics listener serves the call just made, and SIGTERM-like
// cancellation stops both.
func TestHTTPMetricsAndJSONLogs(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := map[string]string{"MIOSA_LOG_FORMAT": "json", "MIOSA_LOG_LEVEL": "info"}
	exited := make(chan int, 1)
	go func() {
		exited <- app.Run(ctx, []string{"http", "--mock", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"}, app.Env{
			Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: pw,
		})
		pw.Close()
	}()
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var all []string
	wait := func(re *regexp.Regexp) string {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stderr ended before %s:\n%s", re, strings.Join(all, "\n"))
				}
				all = append(all, l)
				if m := re.FindStringSubmatch(l); m != nil {
					return m[1]
				}
			case <-timeout:
				t.Fatalf("no %s in:\n%s", re, strings.Join(all, "\n"))
			}
		}
	}
	metricsAddr := wait(regexp.MustCompile(`serving Prometheus metrics at http://([^/ ]+)/metrics`))
	mcpAddr := wait(regexp.MustCompile(`serving MCP over HTTP at http://([^/ ]+)/mcp`))
	if !strings.HasPrefix(metricsAddr, "127.0.0.1:") {
		t.Errorf("metrics on %s", metricsAddr)
	}

	req, _ := http.NewRequest(http.MethodPost, "http://"+mcpAddr+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"computer_list","arguments":{}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+fakeKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	wait(regexp.MustCompile(`"msg":"(tool call)".*"tool":"computer_list","outcome":"ok"`))

	mresp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{
		`miosa_mcp_tool_calls_total{outcome="ok",tool="computer_list"} 1`,
		`miosa_mcp_upstream_requests_total{code="200",operation="listComputers"} 1`,
		"go_goroutines ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// expvar and golang.org/x/net/trace (linked in through the OTLP
	// exporter's gRPC dependency) register debug pages on
	// http.DefaultServeMux; neither listener may serve them.
	for _, u := range []string{"http://" + mcpAddr + "/debug/vars", "http://" + mcpAddr + "/debug/requests", "http://" + metricsAddr + "/debug/vars", "http://" + metricsAddr + "/debug/events"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d, want 404", u, resp.StatusCode)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	cancel()
	if code := <-exited; code != 0 {
		t.Errorf("exit %d", code)
	}
	for l := range lines {
		all = append(all, l)
	}
	for i, l := range all {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Errorf("stderr line %d is not JSON: %s", i+1, l)
		}
		if strings.Contains(l, fakeKey) {
			t.Errorf("stderr line %d carries the key", i+1)
		}
	}
}

func TestMetricsListenRefusesABadAddress(t *testing.T) {
	var stderr bytes.Buffer
	code := app.Run(context.Background(), []string{"stdio", "--mock", "--metrics-listen", "nonsense"}, app.Env{
		Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
	})
	if code == 0 || !strings.Contains(stderr.String(), "--metrics-listen") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

// TestTracesReachAnOTLPCollector runs `miosa-mcp http --mock` with
// OTEL_EXPORTER_OTLP_ENDPOINT at a fake collector: the spans of a call are
// exported with OTLP over HTTP (protobuf) by the time the server has
// exited, name the tool and never carry the key.
func TestTracesReachAnOTLPCollector(t *testing.T) {
	type export struct {
		path, contentType string
		body              []byte
	}
	got := make(chan export, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- export{r.URL.Path, r.Header.Get("Content-Type"), b}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "miosa-mcp-test")

	var stderr testsupport.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan int, 1)
	go func() {
		exited <- app.Run(ctx, []string{"http", "--mock", "--listen", "127.0.0.1:0"}, app.Env{
			Getenv: os.Getenv, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
		})
	}()
	re := regexp.MustCompile(`serving MCP over HTTP at http://([^/ ]+)/mcp`)
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("the server did not start:\n%s", stderr.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"computer_list","arguments":{}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+fakeKey)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	cancel() // the exit flushes the batched spans
	if code := <-exited; code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	var all []byte
	for len(got) > 0 {
		e := <-got
		if e.path != "/v1/traces" || e.contentType != "application/x-protobuf" {
			t.Errorf("export to %s as %s, want /v1/traces as application/x-protobuf", e.path, e.contentType)
		}
		all = append(all, e.body...)
	}
	traceID, _ := hex.DecodeString("4bf92f3577b34da6a3ce929d0e0e4736") // the caller's, continued
	for _, want := range [][]byte{[]byte("tools/call computer_list"), []byte("GET /computers"), []byte("miosa-mcp-test"), traceID} {
		if !bytes.Contains(all, want) {
			t.Errorf("the exported spans lack %q (%d bytes exported)", want, len(all))
		}
	}
	if bytes.Contains(all, []byte(fakeKey)) || bytes.Contains(all, []byte("msk_u_")) {
		t.Error("the exported spans carry the key")
	}
}
