package reliability_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The observability of issue #14 through the built binary: JSON logs that
// parse line by line and never show a fragment of the key, even when the
// API echoes it, and /metrics from --metrics-listen in both modes.

const obsKey = "msk_u_Zq8v3KpL7xWm2Ny5Tb4R"

// echoUpstream answers computer_get for cmp_echo with a 401 that echoes the
// caller's key in its body and in X-Request-ID, for cmp_boom with a 500,
// and everything else with okData.
func echoUpstream(t *testing.T) *testsupport.Upstream {
	return testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case strings.HasSuffix(r.URL.Path, "/cmp_echo"):
			w.Header().Set("X-Request-ID", "req-"+k)
			testsupport.WriteJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": "UNAUTHORIZED", "message": "key " + k + " is revoked"}})
		case strings.HasSuffix(r.URL.Path, "/cmp_boom"):
			testsupport.WriteJSON(w, http.StatusInternalServerError, map[string]any{"error": "boom"})
		default:
			okData(w, r)
		}
	})
}

// keyFragments are the 8-byte windows of the key's secret part: none may
// appear on stderr.
func keyFragments(k string) []string {
	secret := strings.TrimPrefix(k, "msk_u_")
	var out []string
	for i := 0; i+8 <= len(secret); i++ {
		out = append(out, secret[i:i+8])
	}
	return out
}

// checkJSONLog asserts every stderr line is a JSON object, that no key
// fragment appears, and returns the "tool call" records.
func checkJSONLog(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var calls []map[string]any
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) < 3 {
		t.Fatalf("only %d stderr lines:\n%s", len(lines), stderr)
	}
	for i, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("stderr line %d is not JSON: %s", i+1, l)
			continue
		}
		if rec["msg"] == "tool call" && rec["level"] == "INFO" { // the observer's; the runtime logs one at DEBUG too
			calls = append(calls, rec)
		}
	}
	for _, f := range keyFragments(obsKey) {
		if strings.Contains(stderr, f) {
			t.Errorf("stderr carries the key fragment %q:\n%s", f, stderr)
			break
		}
	}
	return calls
}

func TestJSONLogsRedactTheKey(t *testing.T) {
	env := func(up *testsupport.Upstream) map[string]string {
		return map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_LOG_FORMAT": "json", "MIOSA_LOG_LEVEL": "debug", "MIOSA_TIMEOUT_MS": "5000"}
	}
	wantCalls := func(t *testing.T, calls []map[string]any) {
		t.Helper()
		var outcomes []string
		for _, c := range calls {
			outcomes = append(outcomes, fmt.Sprint(c["outcome"]))
			if c["outcome"] == "upstream_error_4xx" && c["request_id"] != "req-[redacted]" {
				t.Errorf("the echoed request id was logged as %v", c["request_id"])
			}
		}
		if strings.Join(outcomes, ",") != "ok,upstream_error_4xx" {
			t.Errorf("call lines with outcomes %v, want ok then upstream_error_4xx", outcomes)
		}
	}
	t.Run("http", func(t *testing.T) {
		up := echoUpstream(t)
		h := startHTTP(t, env(up))
		for _, id := range []string{"cmp_ok", "cmp_echo"} {
			status, msgs, raw := rawPost(t, h.URL+"/mcp", testsupport.Bearer(obsKey), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"`+id+`"}}}`))
			if status != http.StatusOK || len(msgs) != 1 || strings.Contains(raw, obsKey) {
				t.Fatalf("%s: HTTP %d %s", id, status, raw)
			}
		}
		logged(t, h.Proc, `"outcome":"upstream_error_4xx"`)
		wantCalls(t, checkJSONLog(t, h.Stderr.String()))
	})
	t.Run("stdio", func(t *testing.T) {
		up := echoUpstream(t)
		e := env(up)
		e["MIOSA_API_KEY"] = obsKey
		s := startStdio(t, e)
		for i, id := range []string{"cmp_ok", "cmp_echo"} {
			m := s.request(fmt.Sprint(i+1), "tools/call", `{"name":"computer_get","arguments":{"id":"`+id+`"}}`)
			if strings.Contains(m.Raw, obsKey) {
				t.Fatalf("the result carries the key: %s", m.Raw)
			}
		}
		logged(t, s.Proc, `"outcome":"upstream_error_4xx"`)
		wantCalls(t, checkJSONLog(t, s.Stderr.String()))
	})
}

// logged waits until stderr shows s: a call's log line is written as its
// result is returned, so it may trail the response by a moment.
func logged(t *testing.T, p *testsupport.Proc, s string) {
	t.Helper()
	waitFor(t, 20*time.Second, "stderr shows "+s, func() bool { return strings.Contains(p.Stderr.String(), s) })
}

var metricsRE = regexp.MustCompile(`serving Prometheus metrics at (http://[^/\s"]+)/metrics`)

func scrapeBinary(t *testing.T, p *testsupport.Proc) map[string]*dto.MetricFamily {
	t.Helper()
	m := metricsRE.FindStringSubmatch(p.Stderr.String())
	if m == nil {
		t.Fatalf("no metrics listener announced:\n%s", p.Stderr.String())
	}
	resp, err := http.Get(m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p2 := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p2.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		match := len(got) == len(labels)/2
		for i := 0; match && i+1 < len(labels); i += 2 {
			match = got[labels[i]] == labels[i+1]
		}
		if match {
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return -1
}

func TestMetricsFromTheBinary(t *testing.T) {
	check := func(t *testing.T, fams map[string]*dto.MetricFamily, transport string, want map[string]float64) {
		t.Helper()
		for k, v := range want {
			name, rest, _ := strings.Cut(k, " ")
			if got := sample(fams, name, strings.Fields(rest)...); got != v {
				t.Errorf("%s = %v, want %v", k, got, v)
			}
		}
		if sample(fams, "miosa_mcp_received_bytes_total", "transport", transport) <= 0 || sample(fams, "miosa_mcp_sent_bytes_total", "transport", transport) <= 0 {
			t.Errorf("MCP bytes over %s are not counted", transport)
		}
		if fams["go_goroutines"] == nil || fams["process_resident_memory_bytes"] == nil {
			t.Error("no Go runtime or process metrics")
		}
		for name, fam := range fams {
			for _, m := range fam.Metric {
				for _, l := range m.Label {
					if v := l.GetValue(); strings.Contains(v, "cmp_") || strings.Contains(v, "msk_") {
						t.Errorf("%s{%s=%q} carries an id or a key", name, l.GetName(), v)
					}
				}
			}
		}
	}
	t.Run("http", func(t *testing.T) {
		up := echoUpstream(t)
		h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_TIMEOUT_MS": "5000"}, "--metrics-listen", "127.0.0.1:0")
		for _, c := range []struct {
			header map[string]string
			id     string
			status int
		}{{testsupport.Bearer(obsKey), "cmp_ok", 200}, {testsupport.Bearer(obsKey), "cmp_boom", 200}, {nil, "cmp_ok", 401}} {
			if status, _, raw := rawPost(t, h.URL+"/mcp", c.header, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"`+c.id+`"}}}`)); status != c.status {
				t.Fatalf("%s: HTTP %d %s", c.id, status, raw)
			}
		}
		check(t, scrapeBinary(t, h.Proc), "http", map[string]float64{
			"miosa_mcp_tool_calls_total tool computer_get outcome ok":                 1,
			"miosa_mcp_tool_calls_total tool computer_get outcome upstream_error_5xx": 1,
			"miosa_mcp_upstream_requests_total operation getComputer code 200":        1,
			"miosa_mcp_upstream_requests_total operation getComputer code 500":        1,
			"miosa_mcp_http_rejections_total code 401 reason unauthorized":            1,
			"miosa_mcp_tool_calls_in_flight":                                          0,
		})
	})
	t.Run("stdio", func(t *testing.T) {
		up := echoUpstream(t)
		s := startStdio(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_API_KEY": obsKey, "MIOSA_TIMEOUT_MS": "5000"}, "--metrics-listen", "127.0.0.1:0")
		s.request("1", "tools/call", `{"name":"computer_get","arguments":{"id":"cmp_ok"}}`)
		check(t, scrapeBinary(t, s.Proc), "stdio", map[string]float64{
			"miosa_mcp_tool_calls_total tool computer_get outcome ok":          1,
			"miosa_mcp_upstream_requests_total operation getComputer code 200": 1,
		})
	})
}
