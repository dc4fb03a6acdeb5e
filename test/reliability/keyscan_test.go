package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// The key scanner: an adversarial check that runs over every transcript of
// this suite. Every API key the harness hands to a server (MIOSA_API_KEY of
// a spawned binary, the Authorization header of any request, the key of an
// in-process stdio session) is registered; every byte a server sends back
// through the harness is scanned for it:
//
//   - stdout of every stdio binary (each JSON-RPC line: results, progress,
//     structuredContent) and of `miosa-mcp call`;
//   - stderr of every spawned binary (the suite runs them at
//     MIOSA_LOG_LEVEL=debug unless a test sets a level);
//   - HTTP response status lines, headers and bodies of rawPost,
//     rawRequest and every mcp-go HTTP client;
//   - every JSON-RPC response and notification an mcp-go client receives.
//
// Any MinFragment-character piece of a key's secret (the key without its
// msk_…_ prefix) counts as a leak. The scanner is written independently of
// runtime.Scrubber, so a bug there cannot hide here. Leaks are reported by
// the test that owns the transcript, in its cleanup, so a test that never
// calls the scanner is scanned all the same.

// minFragment is the leak threshold the issue sets (#10): ten characters.
const minFragment = 10

var keyPrefixRE = regexp.MustCompile(`^msk_[a-z]+_`)

// registry holds every key handed to a server in this test binary.
var registry = struct {
	sync.Mutex
	grams map[string]string // piece -> the key it belongs to
	whole map[string]bool   // keys whose secret is too short for pieces
}{grams: map[string]string{}, whole: map[string]bool{}}

// registerKey adds a key (or an Authorization value) to the registry.
func registerKey(k string) {
	k = strings.TrimSpace(k)
	if s, ok := strings.CutPrefix(k, "Bearer "); ok {
		k = strings.TrimSpace(s)
	}
	if k == "" {
		return
	}
	secret := k[len(keyPrefixRE.FindString(k)):]
	registry.Lock()
	defer registry.Unlock()
	if len(secret) < minFragment {
		if len(k) >= 8 {
			registry.whole[k] = true
		}
		return
	}
	for i := 0; i+minFragment <= len(secret); i++ {
		registry.grams[secret[i:i+minFragment]] = k
	}
}

func registerHeaders(h map[string]string) {
	for k, v := range h {
		if strings.EqualFold(k, "Authorization") {
			registerKey(v)
		}
	}
}

// findLeak returns a description of the first registered key piece in data.
func findLeak(data []byte) (string, bool) {
	registry.Lock()
	defer registry.Unlock()
	for i := 0; i+minFragment <= len(data); i++ {
		if k, ok := registry.grams[string(data[i:i+minFragment])]; ok {
			return describeLeak(data, i, minFragment, k), true
		}
	}
	for k := range registry.whole {
		if i := bytes.Index(data, []byte(k)); i >= 0 {
			return describeLeak(data, i, len(k), k), true
		}
	}
	return "", false
}

func describeLeak(data []byte, at, n int, key string) string {
	from, to := max(0, at-60), min(len(data), at+n+60)
	return fmt.Sprintf("%d characters of key %s…%s at byte %d: …%q…", n, key[:min(8, len(key))], key[len(key)-2:], at, data[from:to])
}

// keyScan collects the leaks found in one test's transcripts and reports
// them when the test ends.
type keyScan struct {
	t     testing.TB
	mu    sync.Mutex
	leaks []string
	n     int // bytes scanned
}

// newKeyScan registers the report as a cleanup: create it before the
// cleanups that produce the last output (process exit, client close), so
// that it runs after them.
func newKeyScan(t testing.TB) *keyScan {
	ks := &keyScan{t: t}
	t.Cleanup(ks.report)
	return ks
}

func (ks *keyScan) scan(channel string, data []byte) {
	leak, found := findLeak(data)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.n += len(data)
	if found && len(ks.leaks) < 5 {
		ks.leaks = append(ks.leaks, channel+": "+leak)
	}
}

func (ks *keyScan) scanString(channel, s string) { ks.scan(channel, []byte(s)) }

func (ks *keyScan) report() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, l := range ks.leaks {
		ks.t.Errorf("API key leak in %s", l)
	}
}

// scanHeader scans a response's status line and headers.
func (ks *keyScan) scanHeader(channel string, resp *http.Response) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", resp.Status)
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(resp.Header[k], ", "))
	}
	ks.scanString(channel+" headers", b.String())
}

// scanningRoundTripper scans every HTTP response an mcp-go client gets:
// headers at once, the body as it is read (SSE streams included), with an
// overlap so that a key split across two reads is still found.
type scanningRoundTripper struct {
	ks   *keyScan
	next http.RoundTripper
}

func (rt scanningRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	rt.ks.scanHeader("HTTP response to "+r.Method+" "+r.URL.Path, resp)
	resp.Body = &scanningBody{ReadCloser: resp.Body, ks: rt.ks, channel: "HTTP response body of " + r.Method + " " + r.URL.Path}
	return resp, nil
}

type scanningBody struct {
	io.ReadCloser
	ks      *keyScan
	channel string
	tail    []byte
}

func (b *scanningBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		buf := append(b.tail, p[:n]...)
		b.ks.scan(b.channel, buf)
		keep := min(len(buf), 256)
		b.tail = append([]byte(nil), buf[len(buf)-keep:]...)
	}
	return n, err
}

// scanningTransport wraps an mcp-go client transport: every response and
// notification is scanned as JSON, whatever the wire.
type scanningTransport struct {
	transport.Interface
	ks      *keyScan
	channel string
}

func (s *scanningTransport) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := s.Interface.SendRequest(ctx, req)
	if resp != nil {
		b, _ := json.Marshal(resp)
		s.ks.scan(s.channel+" response to "+req.Method, b)
	}
	return resp, err
}

func (s *scanningTransport) SetNotificationHandler(h func(mcp.JSONRPCNotification)) {
	s.Interface.SetNotificationHandler(func(n mcp.JSONRPCNotification) {
		b, _ := json.Marshal(n)
		s.ks.scan(s.channel+" notification "+n.Method, b)
		h(n)
	})
}

// TestKeyScannerFindsFragments pins the scanner itself: a scanner that
// could not fail would make every transcript look clean.
func TestKeyScannerFindsFragments(t *testing.T) {
	const key = "msk_u_scanner_selftest_Qx7pL2vK9m"
	registerKey("Bearer " + key)
	secret := key[len("msk_u_"):]
	cases := []struct {
		name string
		out  string
		leak bool
	}{
		{"whole key", `{"text":"` + key + `"}`, true},
		{"secret only", "x" + secret + "y", true},
		{"ten from the end", "…" + secret[len(secret)-10:], true},
		{"ten from the middle", secret[7:17], true},
		{"nine characters", secret[3:12], false},
		{"prefix only", "msk_u_", false},
		{"redacted", "Bearer msk_u_[redacted]", false},
	}
	for _, c := range cases {
		if _, got := findLeak([]byte(c.out)); got != c.leak {
			t.Errorf("%s: findLeak(%q) = %v, want %v", c.name, c.out, got, c.leak)
		}
	}
	// And a keyScan reports what it finds through the test.
	ft := &fakeTB{TB: t}
	ks := &keyScan{t: ft}
	ks.scan("stdout", []byte("line "+secret[2:14]+"\n"))
	ks.report()
	if !ft.failed {
		t.Errorf("keyScan did not report a leak")
	}
}

type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Errorf(string, ...any) { f.failed = true }
