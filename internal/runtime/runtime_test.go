package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/tools"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

func widgetOK(w http.ResponseWriter, r *http.Request) {
	testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "w1", "status": "running"}})
}

// TestPathParamsCannotChangeThePath: an id that could become another path
// (through the client's escaping or a proxy that decodes once) is refused
// before any request; a path-like value (an object key) may hold slashes,
// sent escaped in one segment, but no dot segment or backslash as given or
// once decoded.
func TestPathParamsCannotChangeThePath(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	cases := []struct {
		tool, arg, value string
		wantPath         string // "" = refused, no request
	}{
		{"widget_get", "id", "..", ""}, {"widget_get", "id", ".", ""}, {"widget_get", "id", "...", ""},
		{"widget_get", "id", "", ""}, {"widget_get", "id", " ", ""}, {"widget_get", "id", "a\x00b", ""}, {"widget_get", "id", "a\nb", ""},
		{"widget_get", "id", "a/b", ""},
		{"widget_get", "id", `a\b`, ""},
		{"widget_get", "id", "%2e%2e", ""},
		{"widget_get", "id", "..%2f", ""},
		{"widget_get", "id", "../admin", ""},
		{"widget_get", "id", "a?x=1", ""},
		{"widget_get", "id", "a#b", ""},
		{"widget_get", "id", "c 1", ""},
		{"widget_get", "id", "ｃ１", ""},
		{"widget_get", "id", "w1", "/api/v1/widgets/w1"},
		{"widget_get", "id", "cmp_0a1b.v2-x", "/api/v1/widgets/cmp_0a1b.v2-x"},
		{"widget_get", "id", "123e4567-e89b-12d3-a456-426614174000", "/api/v1/widgets/123e4567-e89b-12d3-a456-426614174000"},
		{"blob_get", "key", "dir/file.txt", "/api/v1/blobs/dir%2Ffile.txt"},
		{"blob_get", "key", "a%2Fb", "/api/v1/blobs/a%252Fb"},
		{"blob_get", "key", "100%", "/api/v1/blobs/100%25"},
		{"blob_get", "key", "v1.../x", "/api/v1/blobs/v1...%2Fx"},
		{"blob_get", "key", "../x", ""},
		{"blob_get", "key", "a/./b", ""},
		{"blob_get", "key", "a/..", ""},
		{"blob_get", "key", "..", ""},
		{"blob_get", "key", "%2e%2e/x", ""},
		{"blob_get", "key", "%2E%2e%2Fx", ""},
		{"blob_get", "key", "..%2fx", ""},
		{"blob_get", "key", "a/%2e/b", ""},
		{"blob_get", "key", `a\b`, ""},
		{"blob_get", "key", "a%5Cb", ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%q", tc.tool, tc.value), func(t *testing.T) {
			before := len(up.Requests())
			res := testsupport.MustCall(t, c, tc.tool, map[string]any{tc.arg: tc.value})
			reqs := up.Requests()[before:]
			if tc.wantPath == "" {
				if !res.IsError || len(reqs) != 0 || !strings.Contains(testsupport.ResultText(res), "argument "+tc.arg) {
					t.Fatalf("want refusal naming the argument with no request; isError=%v requests=%d text=%s", res.IsError, len(reqs), testsupport.ResultText(res))
				}
				return
			}
			if len(reqs) != 1 || reqs[0].Path != tc.wantPath || reqs[0].RawQuery != "" {
				t.Fatalf("want exactly one request to %s, got %+v (%s)", tc.wantPath, reqs, testsupport.ResultText(res))
			}
		})
	}
}

// TestRetryPolicy: one 503, then success. GET is retried, a POST carrying
// an Idempotency-Key is retried with the same key, a plain POST is sent once.
func TestRetryPolicy(t *testing.T) {
	var hits sync.Map
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.Method+r.URL.Path, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		widgetOK(w, r)
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))

	count := func(method, path string) []testsupport.Recorded {
		var out []testsupport.Recorded
		for _, r := range up.Requests() {
			if r.Method == method && r.Path == path {
				out = append(out, r)
			}
		}
		return out
	}
	if res := testsupport.MustCall(t, c, "widget_get", map[string]any{"id": "w1"}); res.IsError {
		t.Fatalf("GET not retried: %s", testsupport.ResultText(res))
	}
	if n := len(count("GET", "/api/v1/widgets/w1")); n != 2 {
		t.Errorf("GET attempts = %d, want 2", n)
	}
	if res := testsupport.MustCall(t, c, "widget_create", map[string]any{"name": "n"}); res.IsError {
		t.Fatalf("keyed POST not retried: %s", testsupport.ResultText(res))
	}
	posts := count("POST", "/api/v1/widgets")
	if len(posts) != 2 {
		t.Fatalf("keyed POST attempts = %d, want 2", len(posts))
	}
	k1, k2 := posts[0].Header.Get("Idempotency-Key"), posts[1].Header.Get("Idempotency-Key")
	if k1 == "" || k1 != k2 {
		t.Errorf("Idempotency-Key not reused across retries: %q vs %q", k1, k2)
	}
	if string(posts[0].Body) != string(posts[1].Body) || len(posts[1].Body) == 0 {
		t.Errorf("retried body differs: %q vs %q", posts[0].Body, posts[1].Body)
	}
	res := testsupport.MustCall(t, c, "widget_right_click", map[string]any{"widget_id": "w1", "x": 1, "y": 2})
	if !res.IsError || !strings.Contains(testsupport.ResultText(res), "503") {
		t.Errorf("plain POST: want the 503 reported, got %s", testsupport.ResultText(res))
	}
	if n := len(count("POST", "/api/v1/widgets/w1/click")); n != 1 {
		t.Errorf("plain POST attempts = %d, want exactly 1", n)
	}
	// A fresh call gets a fresh key.
	testsupport.MustCall(t, c, "widget_create", map[string]any{"name": "n2"})
	posts = count("POST", "/api/v1/widgets")
	if k3 := posts[len(posts)-1].Header.Get("Idempotency-Key"); k3 == k1 {
		t.Errorf("a new call reused the previous call's Idempotency-Key")
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	var n atomic.Int32
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0.3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		widgetOK(w, r)
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	if res := testsupport.MustCall(t, c, "widget_get", map[string]any{"id": "w1"}); res.IsError {
		t.Fatal(testsupport.ResultText(res))
	}
	reqs := up.Requests()
	if len(reqs) != 2 {
		t.Fatalf("attempts = %d, want 2", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 250*time.Millisecond {
		t.Errorf("retried after %v, before Retry-After (300ms)", gap)
	}
}

// TestWaitSendsProgress: wait=true polls until running; a client that sent
// a progress token receives every notification, the last one included.
func TestWaitSendsProgress(t *testing.T) {
	var polls atomic.Int32
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "w9", "status": "creating"}})
			return
		}
		status := "creating"
		if polls.Add(1) >= 3 {
			status = "running"
		}
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "w9", "status": status}})
	})
	srv, cat := newRuntime(t, up.Base())
	hs := mcpHTTP(t, srv, cat)
	for _, era := range []string{"2025-11-25", ""} {
		t.Run("era="+era, func(t *testing.T) {
			polls.Store(0)
			var opts []mcpclient.ClientOption
			if era != "" {
				opts = append(opts, mcpclient.WithProtocolVersion(era))
			}
			c := connect(t, hs, testsupport.Bearer(testKey), opts...)
			var mu sync.Mutex
			var got []string
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == string(mcp.MethodNotificationProgress) {
					mu.Lock()
					got = append(got, fmt.Sprint(n.Params.AdditionalFields["message"]))
					mu.Unlock()
				}
			})
			req := mcp.CallToolRequest{}
			req.Params.Name = "widget_create"
			req.Params.Arguments = map[string]any{"name": "w", "wait": true, "wait_timeout_sec": 10}
			req.Params.Meta = &mcp.Meta{ProgressToken: "tok-1"}
			res, err := c.CallTool(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError || !strings.Contains(testsupport.ResultText(res), "Ready: w9 is running") {
				t.Fatalf("result: %s", testsupport.ResultText(res))
			}
			mu.Lock()
			defer mu.Unlock()
			// initial status, 3 polls, and the final "is running".
			if len(got) != 5 || !strings.Contains(got[len(got)-1], "is running") {
				t.Fatalf("progress notifications = %d %q; want 5 ending with the ready one", len(got), got)
			}
		})
	}
}

func TestWaitTimeoutNamesTheID(t *testing.T) {
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "w5", "status": "creating"}})
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	res := testsupport.MustCall(t, c, "widget_create", map[string]any{"name": "w", "wait": true, "wait_timeout_sec": 1})
	if res.IsError || !strings.Contains(testsupport.ResultText(res), `poll widget_get with id="w5"`) {
		t.Fatalf("timeout result: %s", testsupport.ResultText(res))
	}
}

func TestArgumentBinding(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	// Renamed argument, env default, hidden argument never sent.
	testsupport.MustCall(t, c, "widget_create", map[string]any{"name": "n", "size": "xs"})
	testsupport.MustCall(t, c, "widget_create", map[string]any{"name": "n", "template": "t2", "labels": map[string]any{"a": "b"}})
	// Fixed argument.
	testsupport.MustCall(t, c, "widget_right_click", map[string]any{"widget_id": "w1", "x": 3, "y": 4})
	// Query array (csv) and integer path parameter.
	testsupport.MustCall(t, c, "widget_list", map[string]any{"tags": []any{"a b", "c,d"}, "limit": 5})
	testsupport.MustCall(t, c, "widget_port", map[string]any{"widget_id": "w1", "port": 8080})
	reqs := up.Requests()
	want := []struct{ method, path, query, body string }{
		{"POST", "/api/v1/widgets", "", `{"name":"n","size":"xs","template_type":"tmpl-default"}`},
		{"POST", "/api/v1/widgets", "", `{"labels":{"a":"b"},"name":"n","template_type":"t2"}`},
		{"POST", "/api/v1/widgets/w1/click", "", `{"button":"right","x":3,"y":4}`},
		{"GET", "/api/v1/widgets", "tags=a+b,c%2Cd&limit=5", ""},
		{"GET", "/api/v1/widgets/w1/ports/8080", "", ""},
	}
	if len(reqs) != len(want) {
		t.Fatalf("requests = %d, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		r := reqs[i]
		if r.Method != w.method || r.Path != w.path || r.RawQuery != w.query || canonJSON(r.Body) != canonJSON([]byte(w.body)) {
			t.Errorf("request %d = %s %s ?%s %s; want %s %s ?%s %s", i, r.Method, r.Path, r.RawQuery, r.Body, w.method, w.path, w.query, w.body)
		}
		if r.Header.Get("Authorization") != "Bearer "+testKey {
			t.Errorf("request %d Authorization = %q", i, r.Header.Get("Authorization"))
		}
	}
}

// TestArgumentNumbersAreSentAsDecoded: the body is built from the bytes
// the client sent, except that numbers are spelt as a float64 encodes them
// (an API reading an integer field may refuse 3.0), wherever they sit.
func TestArgumentNumbersAreSentAsDecoded(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	tests := []struct {
		name string
		tool string
		args map[string]any
		want string
	}{
		{"integers", "widget_right_click", map[string]any{"widget_id": "w1", "x": json.Number("3"), "y": json.Number("-4")}, `{"button":"right","x":3,"y":-4}`},
		{"a fraction of zero", "widget_right_click", map[string]any{"widget_id": "w1", "x": json.Number("3.0"), "y": json.Number("4")}, `{"button":"right","x":3,"y":4}`},
		{"an exponent", "widget_right_click", map[string]any{"widget_id": "w1", "x": json.Number("1e2"), "y": json.Number("4E0")}, `{"button":"right","x":100,"y":4}`},
		{"digits and dots in strings only", "widget_create", map[string]any{"name": "v1.2e3", "labels": map[string]any{"n": "-1.5E2"}}, `{"labels":{"n":"-1.5E2"},"name":"v1.2e3","template_type":"tmpl-default"}`},
		{"escaped quotes and backslashes in strings", "widget_create", map[string]any{"name": "n", "labels": map[string]any{"a": "\\\"2.50\\", "b": "x"}}, `{"labels":{"a":"\\\"2.50\\","b":"x"},"name":"n","template_type":"tmpl-default"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := testsupport.MustCall(t, c, tc.tool, tc.args)
			if res.IsError {
				t.Fatalf("refused: %s", testsupport.ResultText(res))
			}
			reqs := up.Requests()
			if got := string(reqs[len(reqs)-1].Body); got != tc.want {
				t.Errorf("body %s, want %s", got, tc.want)
			}
		})
	}
}

func canonJSON(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"widget_delete", map[string]any{}, "missing required argument id (widget_delete never picks a widget for you"},
		{"widget_get", map[string]any{"id": 5}, "argument id"},
		{"widget_get", map[string]any{"id": "w", "extra": 1}, "unknown argument(s) extra"},
		{"widget_create", map[string]any{"name": "n", "size": "huge"}, "argument size"},
		{"widget_create", map[string]any{"name": "n", "internal": true}, "unknown argument(s) internal"},
		{"widget_right_click", map[string]any{"widget_id": "w", "x": 1.5, "y": 1}, "argument x"},
		{"widget_right_click", map[string]any{"widget_id": "w", "x": 1, "y": 1, "button": "left"}, "unknown argument(s) button"},
		{"widget_port", map[string]any{"widget_id": "w", "port": 70000}, "argument port"},
		{"widget_logs", map[string]any{"widget_id": "w", "lines": 5000}, "argument lines"},
		{"widget_list", map[string]any{"limit": 0}, "argument limit"},
	}
	for _, tc := range cases {
		res := testsupport.MustCall(t, c, tc.tool, tc.args)
		if !res.IsError || !strings.Contains(testsupport.ResultText(res), tc.want) {
			t.Errorf("%s %v: want error mentioning %q, got %s", tc.tool, tc.args, tc.want, testsupport.ResultText(res))
		}
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("%d requests reached the upstream for invalid arguments", n)
	}
}

func TestUpstreamErrorsAreActionable(t *testing.T) {
	cases := []struct {
		status int
		header map[string]string
		body   string
		want   []string
	}{
		{401, nil, `{"error":{"code":"UNAUTHORIZED","message":"bad key"},"request_id":"req_1"}`, []string{"HTTP 401", "UNAUTHORIZED", "bad key", "req_1", "Bearer msk_u_"}},
		{402, nil, `{"error":"INSUFFICIENT_CREDITS","detail":"balance 0"}`, []string{"INSUFFICIENT_CREDITS", "balance 0", "credits"}},
		{403, nil, `{"error":"forbidden","code":"SCOPE_NOT_ALLOWED"}`, []string{"SCOPE_NOT_ALLOWED", "lacks the scope widget_get needs"}},
		{404, nil, `{"message":"not found"}`, []string{"HTTP 404", "not found", "Check the id"}},
		{422, nil, `{"error":{"code":"VALIDATION_ERROR","message":"invalid","details":{"name":["is required"]}}}`, []string{"VALIDATION_ERROR", "name: is required"}},
		{429, map[string]string{"Retry-After": "7"}, `{"error":"RATE_LIMITED"}`, []string{"retry after 7 seconds"}},
		{429, nil, `{"error":"RATE_LIMITED","retry_after":12}`, []string{"retry after 12 seconds"}},
		{500, map[string]string{"X-Request-ID": "req_9"}, `<html><body>oops</body></html>`, []string{"HTTP 500", "req_9", "server error"}},
		{400, nil, `{"errors":["name too long","size invalid"]}`, []string{"name too long; size invalid"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			srv, cat := newRuntime(t, up.Base(), func(o *runtime.Options) { o.Timeout = 500 * time.Millisecond })
			c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
			res := testsupport.MustCall(t, c, "widget_get", map[string]any{"id": "w1"})
			if !res.IsError {
				t.Fatal("want isError")
			}
			for _, w := range tc.want {
				if !strings.Contains(testsupport.ResultText(res), w) {
					t.Errorf("missing %q in %s", w, testsupport.ResultText(res))
				}
			}
		})
	}
}

// TestAdviceComesFromTheCatalogAndTheApp: the runtime names no tool and no
// setting of its own. Advice that points at another tool comes from the
// catalog (tools.yaml hints:, here the fixture's), and the settings a person
// changes are named by the app (Options.Settings); without them the texts
// say what to check in general terms.
func TestAdviceComesFromTheCatalogAndTheApp(t *testing.T) {
	app := runtime.Settings{APIURL: "FIXTURE_API_URL", Timeout: "FIXTURE_TIMEOUT_MS"}
	cases := []struct {
		name     string
		settings runtime.Settings
		tool     string
		args     map[string]any
		answer   http.HandlerFunc
		want     []string
	}{
		{"402 with the catalog's hint", app, "widget_get", map[string]any{"id": "w1"}, func(w http.ResponseWriter, r *http.Request) {
			testsupport.WriteJSON(w, 402, map[string]any{"error": "INSUFFICIENT_CREDITS"})
		}, []string{"The account has insufficient credits. " + tools.Hints.PaymentRequired}},
		{"a cut text file with the catalog's hint", app, "blob_get", map[string]any{"key": "big.txt"}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, strings.Repeat("line of text\n", 10_000))
		}, []string{"[truncated: showing the first", tools.Hints.FileTooLong}},
		{"an HTML page names the app's setting", app, "widget_get", map[string]any{"id": "w1"}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>portal</html>")
		}, []string{"wrong FIXTURE_API_URL may be in the way"}},
		{"a timeout names the app's setting", app, "widget_get", map[string]any{"id": "w1"}, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, []string{"(FIXTURE_TIMEOUT_MS=300)", "Raise FIXTURE_TIMEOUT_MS"}},
		{"without the app's settings", runtime.Settings{}, "widget_get", map[string]any{"id": "w1"}, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, []string{"within 300ms.", "Raise the timeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := testsupport.NewUpstream(t, tc.answer)
			srv, cat := newRuntime(t, up.Base(), func(o *runtime.Options) {
				o.Settings, o.Timeout = tc.settings, 300*time.Millisecond
				o.Limits.TextBytes = 1000
			})
			c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
			got := testsupport.ResultText(testsupport.MustCall(t, c, tc.tool, tc.args))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in %s", w, got)
				}
			}
			if strings.Contains(got, "MIOSA_") {
				t.Errorf("the runtime named a setting of the app: %s", got)
			}
		})
	}
}

func TestToolErrorHint(t *testing.T) {
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		testsupport.WriteJSON(w, 409, map[string]any{"error": "BUSY"})
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	res := testsupport.MustCall(t, c, "widget_right_click", map[string]any{"widget_id": "w1", "x": 1, "y": 1})
	if !res.IsError || strings.TrimSpace(testsupport.ResultText(res)) != "The widget is busy; retry in a moment." {
		t.Fatalf("got %s", testsupport.ResultText(res))
	}
}

func TestLargeResultsAreCut(t *testing.T) {
	big := strings.Repeat("x", 200_000)
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		testsupport.WriteJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "w", "name": big}}, "cursor": "c2"})
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	res := testsupport.MustCall(t, c, "widget_list", nil)
	txt := testsupport.ResultText(res)
	if res.IsError || len(txt) > 90_000 || !strings.Contains(txt, "[truncated: showing the first") || !strings.Contains(txt, "limit/cursor") {
		t.Fatalf("len=%d isError=%v tail=%q", len(txt), res.IsError, txt[max(0, len(txt)-300):])
	}
	if !strings.Contains(txt, `cursor="c2"`) {
		t.Errorf("paging note missing")
	}
}

func TestLogsAreBoundedSnapshots(t *testing.T) {
	var lines []string
	for i := range 5000 {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"lines": lines}})
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	res := testsupport.MustCall(t, c, "widget_logs", map[string]any{"widget_id": "w1", "lines": 10})
	txt := testsupport.ResultText(res)
	if !strings.Contains(txt, "Last 10 of 5000") || !strings.Contains(txt, "line 4999") || strings.Contains(txt, "line 4989\n") {
		t.Fatalf("got %s", txt)
	}
	res = testsupport.MustCall(t, c, "widget_logs", map[string]any{"widget_id": "w1"})
	if !strings.Contains(testsupport.ResultText(res), "Last 100 of 5000") {
		t.Fatalf("default: %s", testsupport.ResultText(res)[:80])
	}
	if q := up.Requests()[0].RawQuery; q != "lines=10" {
		t.Errorf("lines not passed upstream: %q", q)
	}
}

func TestImageAndFileResults(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/screenshot"):
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		case strings.HasSuffix(r.URL.Path, "/text.txt"):
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("héllo\n"))
		default:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0, 1, 2, 0xff})
		}
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	res := testsupport.MustCall(t, c, "widget_screenshot", map[string]any{"widget_id": "w1"})
	img, ok := res.Content[0].(mcp.ImageContent)
	if !ok || img.MIMEType != "image/png" || img.Data == "" {
		t.Fatalf("screenshot: %#v", res.Content)
	}
	res = testsupport.MustCall(t, c, "blob_get", map[string]any{"key": "dir/text.txt"})
	if strings.TrimSpace(testsupport.ResultText(res)) != "héllo" {
		t.Errorf("text file: %q", testsupport.ResultText(res))
	}
	res = testsupport.MustCall(t, c, "blob_get", map[string]any{"key": "bin"})
	if len(res.Content) != 2 {
		t.Fatalf("binary: %#v", res.Content)
	}
	if _, ok := res.Content[1].(mcp.EmbeddedResource); !ok {
		t.Errorf("binary content is not a blob: %#v", res.Content[1])
	}
}

func TestRawUpload(t *testing.T) {
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"size": 3}})
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	testsupport.MustCall(t, c, "blob_put", map[string]any{"key": "a/b c.bin", "content": "AAEC", "encoding": "base64", "content_type": "application/x-test"})
	r := up.Requests()[0]
	if r.Method != "PUT" || r.Path != "/api/v1/blobs/a%2Fb%20c.bin" || string(r.Body) != "\x00\x01\x02" || r.Header.Get("Content-Type") != "application/x-test" {
		t.Fatalf("got %s %s %q %q", r.Method, r.Path, r.Body, r.Header.Get("Content-Type"))
	}
	res := testsupport.MustCall(t, c, "blob_put", map[string]any{"key": "k", "content": "%%%", "encoding": "base64"})
	if !res.IsError || len(up.Requests()) != 1 {
		t.Errorf("invalid base64 should be refused without a request: %s", testsupport.ResultText(res))
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the key followed the redirect")
		}
	}))
	defer other.Close()
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	res := testsupport.MustCall(t, c, "widget_get", map[string]any{"id": "w1"})
	if !res.IsError || !strings.Contains(testsupport.ResultText(res), "redirect") || elsewhere.Load() != 0 {
		t.Fatalf("redirect: %s (other host hits %d)", testsupport.ResultText(res), elsewhere.Load())
	}
}

func TestHTTPAuth(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	srv, cat := newRuntime(t, up.Base())
	hs := mcpHTTP(t, srv, cat)
	for _, tc := range []struct {
		name, header, want string
	}{
		{"missing", "", "Authorization: Bearer msk_u_"},
		{"bare key", testKey, "must start with `Bearer msk_u_`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.header != "" {
				h["Authorization"] = tc.header
			}
			c := connect(t, hs, h) // initialize works without a key
			ctx := context.Background()
			if tl, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil || len(tl.Tools) == 0 {
				t.Fatalf("tools/list without a key: %v", err)
			}
			req := mcp.CallToolRequest{}
			req.Params.Name = "widget_get"
			req.Params.Arguments = map[string]any{"id": "w1"}
			if _, err := c.CallTool(ctx, req); err == nil {
				t.Fatal("tools/call without a usable key succeeded")
			}
			raw, body := rawPostBody(t, hs.URL+"/mcp", tc.header, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"widget_get","arguments":{"id":"w1"}}}`)
			if raw.StatusCode != http.StatusUnauthorized || !strings.Contains(body, tc.want) || !strings.Contains(body, `"id":7`) {
				t.Errorf("status = %d body = %s; want 401 with %q", raw.StatusCode, body, tc.want)
			}
		})
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("%d requests reached the upstream without a key", n)
	}
}

func rawPost(t *testing.T, url, auth, body string) *http.Response {
	t.Helper()
	r, _ := rawPostBody(t, url, auth, body)
	return r
}

func rawPostBody(t *testing.T, url, auth, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestHeadersOnlyNarrow: X-MCP-* headers remove tools; they can never add a
// tool the server's own selection disabled.
func TestHeadersOnlyNarrow(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	base := up.Base()
	_, cat := newRuntime(t, base)
	// The server itself serves only read-only tools.
	ro, err := runtime.Select(cat, nil, nil, runtime.Selection{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newRuntime(t, base, func(o *runtime.Options) { o.Tools = ro })
	hs := httptest.NewServer(srv.HTTPHandler(runtime.HTTPOptions{Catalog: cat, Toolsets: tools.Toolsets, Profiles: tools.Profiles}))
	defer hs.Close()
	names := func(c *mcpclient.Client) map[string]bool {
		tl, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, tool := range tl.Tools {
			m[tool.Name] = true
		}
		return m
	}
	all := names(connect(t, hs, testsupport.Bearer(testKey)))
	if all["widget_create"] || !all["widget_get"] {
		t.Fatalf("server read-only set wrong: %v", all)
	}
	widen := connect(t, hs, map[string]string{"Authorization": "Bearer " + testKey, "X-MCP-Tools": "widget_create,widget_get"})
	got := names(widen)
	if got["widget_create"] || !got["widget_get"] || len(got) != 1 {
		t.Errorf("X-MCP-Tools widened or failed to narrow: %v", got)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "widget_list"
	if res, err := widen.CallTool(context.Background(), req); err == nil && !res.IsError {
		t.Errorf("a tool outside the header selection was callable: %s", testsupport.ResultText(res))
	}
	media := names(connect(t, hs, map[string]string{"Authorization": "Bearer " + testKey, "X-MCP-Toolsets": "media"}))
	if media["widget_get"] || !media["widget_logs"] {
		t.Errorf("X-MCP-Toolsets: %v", media)
	}
	if r := rawPost(t, hs.URL+"/mcp", "Bearer "+testKey, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); r.StatusCode != 200 {
		t.Errorf("plain tools/list status %d", r.StatusCode)
	}
	hreq, _ := http.NewRequest("POST", hs.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	hreq.Header.Set("X-MCP-Toolsets", "nope")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown toolset header: status %d, want 400", resp.StatusCode)
	}
}

// TestKeysNeverMix: concurrent callers with distinct keys; each upstream
// request carries its own caller's key and each caller gets its own result.
func TestKeysNeverMix(t *testing.T) {
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/api/v1/widgets/"), "status": r.Header.Get("Authorization")}})
	})
	srv, cat := newRuntime(t, up.Base())
	hs := mcpHTTP(t, srv, cat)
	var wg sync.WaitGroup
	for k := range 10 {
		key := fmt.Sprintf("msk_u_caller_%02d_secret", k)
		c := connect(t, hs, testsupport.Bearer(key))
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("k%d-%d", k, i)
				res := testsupport.MustCall(t, c, "widget_get", map[string]any{"id": id})
				txt := testsupport.ResultText(res)
				if res.IsError || !strings.Contains(txt, `"id":"`+id+`"`) || strings.Contains(txt, "secret") {
					t.Errorf("caller %d got %s", k, txt)
				}
			}()
		}
	}
	wg.Wait()
	for _, r := range up.Requests() {
		id := strings.TrimPrefix(r.Path, "/api/v1/widgets/")
		var k, i int
		fmt.Sscanf(id, "k%d-%d", &k, &i)
		if want := fmt.Sprintf("Bearer msk_u_caller_%02d_secret", k); r.Header.Get("Authorization") != want {
			t.Errorf("request %s carried %q", id, r.Header.Get("Authorization"))
		}
	}
	if n := len(up.Requests()); n != 100 {
		t.Errorf("requests = %d, want 100", n)
	}
}

func TestOriginCheck(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	srv, cat := newRuntime(t, up.Base())
	hs := httptest.NewServer(srv.HTTPHandler(runtime.HTTPOptions{Catalog: cat, AllowedOrigins: []string{"https://ok.example"}}))
	defer hs.Close()
	for origin, want := range map[string]int{"": 200, "https://evil.example": 403, "https://ok.example": 200, "http://localhost:3000": 200} {
		req, _ := http.NewRequest("POST", hs.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Origin %q: status %d, want %d", origin, resp.StatusCode, want)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	srv, cat := newRuntime(t, up.Base())
	hs := httptest.NewServer(srv.HTTPHandler(runtime.HTTPOptions{Catalog: cat, MaxBodyBytes: 1 << 20}))
	defer hs.Close()
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"widget_get","arguments":{"id":"` + strings.Repeat("a", 2<<20) + `"}}}`
	if r := rawPost(t, hs.URL+"/mcp", "Bearer "+testKey, body); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", r.StatusCode)
	}
}

// TestStructuredContentAlwaysConforms: when the API drifts from the spec
// (a list where an object was documented), the structured result is
// wrapped as {"result": …} so it still matches the advertised outputSchema.
func TestStructuredContentAlwaysConforms(t *testing.T) {
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		testsupport.WriteJSON(w, 200, map[string]any{"data": []any{"not", "an", "object"}})
	})
	srv, cat := newRuntime(t, up.Base())
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	res := testsupport.MustCall(t, c, "widget_get", map[string]any{"id": "w1"})
	b, _ := json.Marshal(res.StructuredContent)
	if res.IsError || !strings.HasPrefix(string(b), `{"result":{"data":[`) {
		t.Fatalf("structured = %s", b)
	}
}

// TestLogStreamIsASnapshot: a log tool given an endless event stream returns
// the lines that arrived within its window instead of hanging.
func TestLogStreamIsASnapshot(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			fmt.Fprintf(w, "data: {\"line\":\"event %d\",\"stream\":\"stdout\"}\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	srv, cat := newRuntime(t, up.Base(), func(o *runtime.Options) { o.Timeout = 10 * time.Second })
	c := connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey))
	start := time.Now()
	res := testsupport.MustCall(t, c, "widget_logs", map[string]any{"widget_id": "w1", "lines": 5})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	if txt := testsupport.ResultText(res); res.IsError || !strings.Contains(txt, "Last 5 of") || !strings.Contains(txt, "[stdout] event") {
		t.Fatalf("got %s", txt)
	}
}
