package testsupport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client/transport"
)

// The key scanner: an adversarial check that runs over every transcript of
// every suite that starts a server. Every API key the helpers hand to a
// server (MIOSA_API_KEY in ChildEnv, the Authorization header of
// ConnectHTTP, Post and Bearer, a key a test registers itself) is
// registered; every byte a server sends back through the helpers is
// scanned for it:
//
//   - stdout and stderr of every spawned binary (Proc, StdioClient);
//   - HTTP response status lines, headers and bodies (Post, and every
//     ConnectHTTP client, SSE streams included);
//   - every JSON-RPC message an mcp-go client receives (ScanTransport).
//
// Any MinFragment-character piece of a key's secret (the key without its
// msk_…_ prefix) counts as a leak. The scanner is written independently of
// runtime.Scrubber, so a bug there cannot hide here. Leaks are reported by
// the test that owns the transcript, in its cleanup, so a test that never
// calls the scanner is scanned all the same.

// MinFragment is the leak threshold (#10): ten characters of a secret.
const MinFragment = 10

var keyPrefixRE = regexp.MustCompile(`^msk_[a-z]+_`)

// registry holds every key handed to a server in this test binary.
var registry = struct {
	sync.Mutex
	grams map[string]string // piece -> the key it belongs to
	whole map[string]bool   // keys whose secret is too short for pieces
}{grams: map[string]string{}, whole: map[string]bool{}}

// RegisterKey adds a key (or an Authorization value) to the registry.
func RegisterKey(k string) {
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
	if len(secret) < MinFragment {
		if len(k) >= 8 {
			registry.whole[k] = true
		}
		return
	}
	for i := 0; i+MinFragment <= len(secret); i++ {
		registry.grams[secret[i:i+MinFragment]] = k
	}
}

// RegisterHeaders registers the Authorization value among h.
func RegisterHeaders(h map[string]string) {
	for k, v := range h {
		if strings.EqualFold(k, "Authorization") {
			RegisterKey(v)
		}
	}
}

// Bearer is the Authorization header for key k, registered with the
// scanner.
func Bearer(k string) map[string]string {
	RegisterKey(k)
	return map[string]string{"Authorization": "Bearer " + k}
}

// FindLeak describes the first registered key piece in data.
func FindLeak(data []byte) (string, bool) {
	registry.Lock()
	defer registry.Unlock()
	for i := 0; i+MinFragment <= len(data); i++ {
		if k, ok := registry.grams[string(data[i:i+MinFragment])]; ok {
			return describeLeak(data, i, MinFragment, k), true
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

// KeyScan collects the leaks found in one test's transcripts and reports
// them when the test ends.
type KeyScan struct {
	t     testing.TB
	mu    sync.Mutex
	leaks []string
}

// NewKeyScan registers the report as a cleanup: create it before the
// cleanups that produce the last output (process exit, client close), so
// that it runs after them.
func NewKeyScan(t testing.TB) *KeyScan {
	ks := &KeyScan{t: t}
	t.Cleanup(ks.Report)
	return ks
}

// Scan scans data that went out on channel.
func (ks *KeyScan) Scan(channel string, data []byte) {
	leak, found := FindLeak(data)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if found && len(ks.leaks) < 5 {
		ks.leaks = append(ks.leaks, channel+": "+leak)
	}
}

// ScanString is Scan for a string.
func (ks *KeyScan) ScanString(channel, s string) { ks.Scan(channel, []byte(s)) }

// scanOverlap scans p after the tail kept of what came before it on the
// channel, and returns the new tail, so that a key split across two reads
// or writes is found.
func (ks *KeyScan) scanOverlap(channel string, tail, p []byte) []byte {
	if len(p) == 0 {
		return tail
	}
	buf := append(tail, p...)
	ks.Scan(channel, buf)
	keep := min(len(buf), 256)
	return append([]byte(nil), buf[len(buf)-keep:]...)
}

// Writer passes what is written on to w (nil: nowhere) and scans it as it
// goes, a key split across two writes included.
func (ks *KeyScan) Writer(channel string, w io.Writer) io.Writer {
	return &scanningWriter{ks: ks, channel: channel, w: w}
}

type scanningWriter struct {
	ks      *KeyScan
	channel string
	w       io.Writer
	tail    []byte
}

func (s *scanningWriter) Write(b []byte) (int, error) {
	s.tail = s.ks.scanOverlap(s.channel, s.tail, b)
	if s.w == nil {
		return len(b), nil
	}
	return s.w.Write(b)
}

// Reader scans what is read from r, a key split across two reads included.
func (ks *KeyScan) Reader(channel string, r io.Reader) io.Reader {
	return &scanningReader{ks: ks, channel: channel, r: r}
}

type scanningReader struct {
	ks      *KeyScan
	channel string
	r       io.Reader
	tail    []byte
}

func (s *scanningReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.tail = s.ks.scanOverlap(s.channel, s.tail, p[:n])
	return n, err
}

// Report fails the test for the leaks found (it runs at cleanup).
func (ks *KeyScan) Report() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, l := range ks.leaks {
		ks.t.Errorf("API key leak in %s", l)
	}
}

// ScanHeader scans a response's status line and headers.
func (ks *KeyScan) ScanHeader(channel string, resp *http.Response) {
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
	ks.ScanString(channel+" headers", b.String())
}

// ScanResponse scans one HTTP answer (status, headers, body); a leak is
// reported when the test ends.
func ScanResponse(t testing.TB, channel string, resp *http.Response, body []byte) {
	ks := NewKeyScan(t)
	ks.ScanHeader(channel, resp)
	ks.Scan(channel+" body", body)
}

// ScanningRoundTripper scans every HTTP response a client gets: headers at
// once, the body as it is read (SSE streams included).
type ScanningRoundTripper struct {
	Scan *KeyScan
	Next http.RoundTripper
}

func (rt ScanningRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.Next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	rt.Scan.ScanHeader("HTTP response to "+r.Method+" "+r.URL.Path, resp)
	resp.Body = &scanningBody{ReadCloser: resp.Body, ks: rt.Scan, channel: "HTTP response body of " + r.Method + " " + r.URL.Path}
	return resp, nil
}

type scanningBody struct {
	io.ReadCloser
	ks      *KeyScan
	channel string
	tail    []byte
}

func (b *scanningBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.tail = b.ks.scanOverlap(b.channel, b.tail, p[:n])
	return n, err
}

// ScanTransport wraps an mcp-go client transport so that every message the
// client receives (responses, notifications, requests from the server) is
// scanned, whatever the wire. It is mcp-go's logging decorator, which keeps
// the transport's optional interfaces (HTTPConnection, bidirectional
// requests) so the client negotiates as it would without it, logging to a
// handler that scans.
func ScanTransport(tr transport.Interface, ks *KeyScan, channel string) transport.Interface {
	return transport.NewLogging(tr, slog.New(scanHandler{ks: ks, channel: channel}), transport.WithLoggingPayloads(true))
}

// scanHandler scans the records of incoming messages (their text starts
// with ←); what the client sends is the test's own.
type scanHandler struct {
	ks      *KeyScan
	channel string
}

func (scanHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h scanHandler) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "←") {
		return nil
	}
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, "%s=%v\n", a.Key, a.Value.Any())
		return true
	})
	h.ks.ScanString(h.channel+" "+r.Message, b.String())
	return nil
}

func (h scanHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h scanHandler) WithGroup(string) slog.Handler      { return h }
