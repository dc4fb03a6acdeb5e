package reliability_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// Upstream faults: every fault yields an isError result that names the
// cause, within the call's deadline, and leaves no goroutine behind.

const faultKey = "msk_u_fault_Hn3Pw8Yd5KsB1m"

// leakCheck verifies, after every other cleanup of t, that the goroutines
// are back to what they were when the test started.
func leakCheck(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

type fault struct {
	name    string
	tool    string // default widget_get (GET, retried)
	args    map[string]any
	handler http.HandlerFunc
	// listener replaces the upstream entirely (raw TCP behaviour).
	listener func(t *testing.T) string
	want     []string // substrings of the isError text
	deny     []string // must not appear
	attempts int      // upstream requests expected (0: don't check)
	ok       bool     // a success is expected (not isError)
}

func status(code int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// hijack takes the raw connection and lets f write (or not) before closing.
func hijack(f func(c net.Conn, rw *bufio.ReadWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		f(c, rw)
		rw.Flush()
		c.Close()
	}
}

// reset closes the connection with a TCP RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}

func waitDone(r *http.Request, d time.Duration) {
	select {
	case <-r.Context().Done():
	case <-time.After(d):
	}
}

func faults() []fault {
	post := map[string]any{"widget_id": "w1", "x": 1, "y": 2}
	return []fault{
		// 5xx, with and without Retry-After. GET retries 502/503/504 (three
		// attempts in all); 500 and plain POSTs are sent once.
		{name: "500", handler: status(500, nil, `{"error":"internal"}`), want: []string{"HTTP 500", "server error"}, attempts: 1},
		{name: "500+Retry-After", handler: status(500, map[string]string{"Retry-After": "1"}, `{"error":"internal"}`), want: []string{"HTTP 500"}, attempts: 1},
		{name: "502", handler: status(502, nil, `{"error":"bad gateway"}`), want: []string{"HTTP 502", "bad gateway"}, attempts: 3},
		{name: "502+Retry-After", handler: status(502, map[string]string{"Retry-After": "0"}, ``), want: []string{"HTTP 502"}, attempts: 3},
		{name: "503", handler: status(503, nil, `{"message":"maintenance"}`), want: []string{"HTTP 503", "maintenance", "retry shortly"}, attempts: 3},
		{name: "503+Retry-After", handler: status(503, map[string]string{"Retry-After": "1"}, ``), want: []string{"HTTP 503"}, attempts: 3},
		{name: "503+Retry-After-date", handler: status(503, map[string]string{"Retry-After": time.Now().Add(time.Second).UTC().Format(http.TimeFormat)}, ``), want: []string{"HTTP 503"}, attempts: 3},
		{name: "504", handler: status(504, nil, ``), want: []string{"HTTP 504"}, attempts: 3},
		{name: "504+Retry-After", handler: status(504, map[string]string{"Retry-After": "0.05"}, ``), want: []string{"HTTP 504"}, attempts: 3},
		{name: "502/plain-POST", tool: "widget_right_click", args: post, handler: status(502, nil, ``), want: []string{"HTTP 502"}, attempts: 1},
		{name: "503/plain-POST", tool: "widget_right_click", args: post, handler: status(503, map[string]string{"Retry-After": "0"}, ``), want: []string{"HTTP 503"}, attempts: 1},
		{name: "503/keyed-POST", tool: "widget_create", args: map[string]any{"name": "n"}, handler: status(503, nil, ``), want: []string{"HTTP 503"}, attempts: 3},
		{name: "503-then-200", handler: flaky(1, 503), ok: true, attempts: 2},
		// 429: the retry hint comes from the header or the body.
		{name: "429+Retry-After", handler: status(429, map[string]string{"Retry-After": "7"}, `{"error":"RATE_LIMITED"}`), want: []string{"HTTP 429", "RATE_LIMITED", "retry after 7 seconds"}, attempts: 3},
		{name: "429+body-retry_after", handler: status(429, nil, `{"error":"RATE_LIMITED","retry_after":12}`), want: []string{"retry after 12 seconds"}, attempts: 3},
		{name: "429+fractional-body", tool: "widget_right_click", args: post, handler: status(429, nil, `{"error":{"code":"RATE_LIMITED","message":"slow down"},"retry_after":2.5}`), want: []string{"slow down", "retry after 3 seconds"}, attempts: 1},
		{name: "429-no-hint", tool: "widget_right_click", args: post, handler: status(429, nil, ``), want: []string{"HTTP 429", "retry after 5 seconds"}, attempts: 1},
		// Every error body shape api/README.md lists (Conventions, Errors).
		{name: "shape/error-object", handler: status(422, nil, `{"error":{"code":"VALIDATION_ERROR","message":"invalid widget","details":{"name":["is required","is too short"]}},"request_id":"req_42"}`), want: []string{"HTTP 422", "VALIDATION_ERROR", "invalid widget", "name: is required; is too short", "req_42"}},
		{name: "shape/error-object-list-details", handler: status(400, nil, `{"error":{"code":"BAD","message":"bad","details":[{"field":"size","message":"unknown"}]}}`), want: []string{"BAD", "size: unknown"}},
		{name: "shape/error-string+code", handler: status(409, nil, `{"error":"computer is not running","code":"NOT_RUNNING"}`), want: []string{"HTTP 409", "NOT_RUNNING", "computer is not running"}},
		{name: "shape/code+detail", handler: status(402, nil, `{"error":"INSUFFICIENT_CREDITS","detail":"balance is 0"}`), want: []string{"INSUFFICIENT_CREDITS", "balance is 0", "credits"}},
		{name: "shape/message", handler: status(404, nil, `{"message":"widget not found"}`), want: []string{"HTTP 404", "widget not found", "Check the id"}},
		{name: "shape/detail", handler: status(403, nil, `{"detail":"path outside allowed"}`), want: []string{"HTTP 403", "path outside allowed", "scope"}},
		{name: "shape/reason", handler: status(403, nil, `{"reason":"EGRESS_HOST_NOT_ALLOWED"}`), want: []string{"EGRESS_HOST_NOT_ALLOWED"}},
		{name: "shape/errors-list", handler: status(400, nil, `{"errors":["name too long","size invalid"]}`), want: []string{"name too long; size invalid"}},
		{name: "shape/request-id-header", handler: status(401, map[string]string{"X-Request-ID": "req_hdr_1"}, `{"error":{"code":"UNAUTHORIZED","message":"bad key"}}`), want: []string{"HTTP 401", "UNAUTHORIZED", "req_hdr_1", "Bearer msk_u_"}},
		{name: "shape/415", handler: status(415, nil, `{"error":"unsupported content type"}`), want: []string{"HTTP 415", "application/octet-stream"}},
		{name: "shape/428", handler: status(428, nil, `{"error":"USER_AUTHORIZATION_REQUIRED"}`), want: []string{"HTTP 428", "USER_AUTHORIZATION_REQUIRED"}},
		{name: "shape/error-echoes-key", handler: status(401, nil, `{"error":"key `+faultKey+` is revoked"}`), want: []string{"HTTP 401", "[redacted]"}, deny: []string{faultKey}},
		{name: "shape/huge-message", handler: status(400, nil, `{"message":"`+strings.Repeat("m", 1<<20)+`"}`), want: []string{"HTTP 400", "mmmm"}},
		{name: "html-error-page", handler: status(502, map[string]string{"Content-Type": "text/html", "X-Request-ID": "req_html"}, `<!DOCTYPE html><html><head><title>502 Bad Gateway</title><script>alert(1)</script></head><body><h1>Bad Gateway</h1></body></html>`), want: []string{"HTTP 502", "req_html"}, deny: []string{"<html", "<script", "alert("}, attempts: 3},
		{name: "plain-text-error", handler: status(503, map[string]string{"Content-Type": "text/plain"}, "upstream connect error or disconnect/reset before headers"), want: []string{"HTTP 503", "upstream connect error"}},
		{name: "invalid-json-error-body", handler: status(400, nil, `{"error":`), want: []string{"HTTP 400"}},
		// Bad success bodies.
		{name: "invalid-json-200", handler: status(200, nil, `{"data":{"id":"w1",`), want: []string{"not valid JSON"}},
		{name: "html-200", handler: status(200, map[string]string{"Content-Type": "text/html"}, `<html><body>Please log in to the captive portal</body></html>`), want: []string{"not valid JSON", "HTML"}, deny: []string{"<html"}},
		{name: "empty-200", handler: status(200, nil, ``), want: []string{"empty body"}},
		{name: "empty-204-delete-ok", tool: "widget_delete", args: map[string]any{"id": "w1"}, handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, ok: true},
		{name: "body-over-cap-50MB", handler: huge(50 << 20), want: []string{"exceeded", "bytes"}},
		// Timeouts and broken connections.
		{name: "slow-headers", handler: func(w http.ResponseWriter, r *http.Request) { waitDone(r, 10*time.Second) }, want: []string{"no answer from the MIOSA API", "within 1s"}, attempts: 1},
		{name: "slow-headers/POST", tool: "widget_right_click", args: post, handler: func(w http.ResponseWriter, r *http.Request) { waitDone(r, 10*time.Second) }, want: []string{"no answer from the MIOSA API"}, attempts: 1},
		{name: "body-stalls", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			io.WriteString(w, `{"data":{"id":"w1","name":"`)
			http.NewResponseController(w).Flush()
			waitDone(r, 10*time.Second)
		}, want: []string{"no answer from the MIOSA API", "HTTP 200 but the body could not be read"}, attempts: 1},
		{name: "reset-mid-body", handler: hijack(func(c net.Conn, rw *bufio.ReadWriter) {
			io.WriteString(rw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"data\":{\"id\":")
			rw.Flush()
			reset(c)
		}), want: []string{"HTTP 200 but the body could not be read"}, attempts: 1},
		{name: "eof-mid-body", handler: hijack(func(c net.Conn, rw *bufio.ReadWriter) {
			io.WriteString(rw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"data\":{\"id\":")
		}), want: []string{"HTTP 200 but the body could not be read", "unexpected EOF"}, attempts: 1},
		{name: "reset-before-headers", handler: hijack(func(c net.Conn, rw *bufio.ReadWriter) { reset(c) }), want: []string{"closed the connection"}, attempts: 3},
		{name: "close-before-headers/POST", tool: "widget_right_click", args: post, handler: hijack(func(c net.Conn, rw *bufio.ReadWriter) {}), want: []string{"closed the connection"}, attempts: 1},
		{name: "garbage-response", handler: hijack(func(c net.Conn, rw *bufio.ReadWriter) { io.WriteString(rw, "SSH-2.0-OpenSSH_9.6\r\n") }), want: []string{"malformed HTTP"}},
		{name: "server-closes-immediately", listener: closingListener, want: []string{"closed the connection"}},
		{name: "connection-refused", listener: refusedAddr, want: []string{"connection refused"}},
		{name: "redirect-same-host", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/api/v1/widgets/other", http.StatusTemporaryRedirect)
		}, want: []string{"HTTP 307", "redirect", "not followed"}, attempts: 1},
	}
}

// flaky fails the first n requests with code, then answers.
func flaky(n int32, code int) http.HandlerFunc {
	var c atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if c.Add(1) <= n {
			w.WriteHeader(code)
			return
		}
		okData(w, r)
	}
}

// huge streams a JSON document of n bytes (or until the reader goes away).
func huge(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(n))
		w.WriteHeader(200)
		chunk := []byte(strings.Repeat("x", 64<<10))
		io.WriteString(w, `{"data":"`)
		for written := 9; written < n-2; written += len(chunk) {
			if written+len(chunk) > n-2 {
				chunk = chunk[:n-2-written]
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(w, `"}`)
	}
}

// closingListener accepts connections and closes them at once.
func closingListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String()
}

// refusedAddr is a loopback port nothing listens on.
func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestUpstreamFaults(t *testing.T) {
	const timeout = time.Second
	for _, f := range faults() {
		t.Run(f.name, func(t *testing.T) {
			leakCheck(t)
			var up *testsupport.Upstream
			var base *url.URL
			if f.listener != nil {
				base, _ = url.Parse(f.listener(t) + "/api/v1")
			} else {
				up = testsupport.NewUpstream(t, f.handler)
				base = up.Base()
			}
			b := goldenRuntime(t, base, func(o *runtime.Options) { o.Timeout = timeout })
			c := testsupport.ConnectHTTP(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp", testsupport.Bearer(faultKey))
			tool, args := f.tool, f.args
			if tool == "" {
				tool, args = "widget_get", map[string]any{"id": "w1"}
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			res, err := testsupport.CallTool(ctx, c, tool, args)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("the call failed at the protocol level instead of an isError result: %v", err)
			}
			txt := testsupport.ResultText(res)
			// Three attempts with capped backoff, or one timeout, plus slack.
			if limit := 3*timeout + 2*time.Second; elapsed > limit {
				t.Errorf("answered after %v, over the %v deadline", elapsed, limit)
			}
			if res.IsError == f.ok {
				t.Fatalf("isError = %v, want %v: %s", res.IsError, !f.ok, clip(txt))
			}
			for _, w := range f.want {
				if !strings.Contains(txt, w) {
					t.Errorf("result does not mention %q: %s", w, clip(txt))
				}
			}
			for _, d := range f.deny {
				if strings.Contains(txt, d) {
					t.Errorf("result contains %q: %s", d, clip(txt))
				}
			}
			if len(txt) > 100_000 {
				t.Errorf("error text is %d bytes: not capped", len(txt))
			}
			if up != nil && f.attempts > 0 {
				if n := up.Count(); n != f.attempts {
					t.Errorf("upstream attempts = %d, want %d", n, f.attempts)
				}
			}
			if up != nil {
				for _, r := range up.Requests() {
					if r.Header.Get("Authorization") != "Bearer "+faultKey {
						t.Errorf("request without the caller's key")
					}
				}
			}
		})
	}
}

// TestRedirectKeepsTheKeyHome: a 302 (and 307/308) to another host is
// reported, not followed, and the other host never sees the key.
func TestRedirectKeepsTheKeyHome(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			leakCheck(t)
			var stolen atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				stolen.Add(1)
				okData(w, r)
			}))
			t.Cleanup(other.Close)
			up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/api/v1/widgets/w1", code)
			})
			b := goldenRuntime(t, up.Base())
			c := testsupport.ConnectHTTP(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp", testsupport.Bearer(faultKey))
			res := testsupport.MustCall(t, c, "widget_get", map[string]any{"id": "w1"})
			txt := testsupport.ResultText(res)
			if !res.IsError || !strings.Contains(txt, "redirect") || !strings.Contains(txt, strings.TrimPrefix(other.URL, "http://")) {
				t.Errorf("want an isError naming the redirect target, got %s", txt)
			}
			if n := stolen.Load(); n != 0 {
				t.Errorf("the redirect was followed: the other host got %d request(s)", n)
			}
		})
	}
}

// TestUpstream101BoundedByTimeout: every upstream exchange ends by
// MIOSA_TIMEOUT_MS whatever the API answers: a 101 Switching Protocols
// (whose body is the raw connection, which used to hang the call until the
// upstream closed it), endless 1xx responses, and a 200 whose body trickles
// forever. Each gives an isError result naming the cause, in time.
func TestUpstream101BoundedByTimeout(t *testing.T) {
	const timeout = time.Second
	hold := func(c net.Conn) {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		io.Copy(io.Discard, c) // until the client gives up
	}
	cases := []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"101-switching-protocols", hijack(func(c net.Conn, rw *bufio.ReadWriter) {
			io.WriteString(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			hold(c)
		}), "HTTP 101"},
		{"101-then-data", hijack(func(c net.Conn, rw *bufio.ReadWriter) {
			io.WriteString(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n{\"data\":")
			rw.Flush()
			hold(c)
		}), "HTTP 101"},
		{"endless-1xx", hijack(func(c net.Conn, rw *bufio.ReadWriter) {
			for range 100 {
				if _, err := io.WriteString(rw, "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"); err != nil || rw.Flush() != nil {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}), ""},
		{"trickling-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			io.WriteString(w, `{"data":"`)
			for {
				if _, err := io.WriteString(w, "x"); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}, "no answer from the MIOSA API"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			up := testsupport.NewUpstream(t, tc.h)
			b := goldenRuntime(t, up.Base(), func(o *runtime.Options) { o.Timeout = timeout })
			c := testsupport.ConnectHTTP(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp", testsupport.Bearer(faultKey))
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := testsupport.CallTool(ctx, c, "widget_get", map[string]any{"id": "w1"})
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("protocol error instead of an isError result after %v: %v", elapsed, err)
			}
			if !res.IsError || !strings.Contains(testsupport.ResultText(res), tc.want) {
				t.Errorf("want an isError result mentioning %q, got %s", tc.want, clip(testsupport.ResultText(res)))
			}
			// Three attempts at most (GET retries), each within the timeout.
			if limit := 3*timeout + 2*time.Second; elapsed > limit {
				t.Errorf("answered after %v, over %v", elapsed, limit)
			}
			t.Logf("answered after %v: %s", elapsed.Round(time.Millisecond), clip(testsupport.ResultText(res)))
		})
	}
}

// TestErrorTextsAreCapped: an error text built from what this server does
// not control (an API error message, its field list, a text body, a
// request id, a validation violation list) is capped at
// runtime.MaxErrorTextBytes with an explicit note of what was left out
// (one such text reached 1 MB, #10), after the key is scrubbed.
func TestErrorTextsAreCapped(t *testing.T) {
	fields := map[string]any{}
	for i := range 20000 {
		fields[fmt.Sprintf("field_%05d", i)] = []string{"is invalid"}
	}
	details, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "VALIDATION_ERROR", "message": "bad", "details": fields}})
	unknown := map[string]any{"id": "w1"}
	for i := range 5000 {
		unknown[fmt.Sprintf("extra_%04d", i)] = i
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		args    map[string]any
		want    string
	}{
		{"1MB-message", status(400, nil, `{"message":"`+strings.Repeat("m", 1<<20)+`"}`), nil, "HTTP 400"},
		{"20000-fields", status(422, nil, string(details)), nil, "more]"},
		{"1MB-text-body", status(503, map[string]string{"Content-Type": "text/plain"}, strings.Repeat("upstream says no ", 60000)), nil, "HTTP 503"},
		{"huge-request-id", status(500, map[string]string{"X-Request-ID": strings.Repeat("r", 50000)}, `{"error":"boom"}`), nil, "HTTP 500"},
		{"key-at-the-cap", status(400, nil, `{"message":"`+strings.Repeat("k", 1940)+faultKey+`"}`), nil, "HTTP 400"},
		{"5000-unknown-arguments", okData, unknown, "unknown argument(s)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			up := testsupport.NewUpstream(t, tc.handler)
			b := goldenRuntime(t, up.Base())
			c := testsupport.ConnectHTTP(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp", testsupport.Bearer(faultKey))
			args := tc.args
			if args == nil {
				args = map[string]any{"id": "w1"}
			}
			res := testsupport.MustCall(t, c, "widget_get", args)
			txt := testsupport.ResultText(res)
			if !res.IsError || !strings.Contains(txt, tc.want) {
				t.Fatalf("want an isError mentioning %q, got %s", tc.want, clip(txt))
			}
			if len(txt) > runtime.MaxErrorTextBytes {
				t.Errorf("error text is %d bytes, over the %d cap", len(txt), runtime.MaxErrorTextBytes)
			}
			if !strings.Contains(txt, "[… ") {
				t.Errorf("the cut is not noted: %s", clip(txt))
			}
			if leak, found := testsupport.FindLeak([]byte(txt)); found {
				t.Errorf("the capped text leaks the key: %s", leak)
			}
		})
	}
}
