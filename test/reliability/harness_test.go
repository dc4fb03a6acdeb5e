package reliability_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	realclient "github.com/miosa-osa/miosa-mcp/gen/client"
	realtools "github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	goldenclient "github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/client"
	goldentools "github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/tools"
)

// The suite drives miosa-mcp the way clients do: the spawned binary over
// stdio and HTTP (real catalog), and the runtime over real streamable HTTP
// (golden fixture catalog or the real catalog) where a test needs to reach
// inside, e.g. to register a panicking tool. Upstreams are httptest servers
// that record every request they receive.

var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "miosa-mcp-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(binDir)
		os.Exit(code)
	}))
}

type binBuild struct {
	once sync.Once
	path string
	err  error
}

var raceBuild, plainBuild binBuild

// binary builds cmd/miosa-mcp once per test run (with -race when the tests
// run with -race) and returns its path.
func binary(t testing.TB) string {
	t.Helper()
	return buildBinary(t, &raceBuild, raceEnabled)
}

// plainBinary is the binary as shipped, never built with -race: what a
// memory measurement must run (the race detector multiplies memory use).
func plainBinary(t testing.TB) string {
	t.Helper()
	if !raceEnabled {
		return binary(t)
	}
	return buildBinary(t, &plainBuild, false)
}

func buildBinary(t testing.TB, b *binBuild, race bool) string {
	t.Helper()
	b.once.Do(func() {
		b.path = filepath.Join(binDir, "miosa-mcp")
		args := []string{"build", "-o"}
		if race {
			args = append(args, b.path, "-race")
		} else {
			b.path += "-plain"
			args = append(args, b.path)
		}
		args = append(args, "./cmd/miosa-mcp")
		cmd := exec.Command("go", args...)
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build ./cmd/miosa-mcp: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// ---------------------------------------------------------------------------
// Recording upstream

type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	At                     time.Time
}

type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
	h    http.HandlerFunc
}

// newUpstream starts a fake MIOSA API that records every request (its
// escaped path, query, headers and body) before h answers it.
func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	u := &upstream{h: h}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, recorded{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: b, At: time.Now()})
		u.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		u.h(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) requests() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.reqs...)
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// base is the API base the runtime is configured with.
func (u *upstream) base() *url.URL {
	b, _ := url.Parse(u.srv.URL + "/api/v1")
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// okData answers every request with a small JSON document naming the path.
func okData(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"data": map[string]any{"id": "x1", "status": "running", "path": r.URL.EscapedPath()}})
}

// ---------------------------------------------------------------------------
// In-process runtimes

type runtimeOpt func(*runtime.Options)

type built struct {
	srv     *runtime.Server
	catalog []runtime.Tool
	hc      *http.Client
	golden  bool
}

// goldenRuntime builds the runtime over the generator's golden fixture
// catalog (widget_get, widget_create, widget_port, blob_put, ...).
func goldenRuntime(t testing.TB, base *url.URL, opts ...runtimeOpt) *built {
	t.Helper()
	hc := runtime.NewHTTPClient(runtime.RetryPolicy{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond})
	cl, err := goldenclient.NewClient(base.String(), goldenclient.WithHTTPClient(hc), goldenclient.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		t.Fatal(err)
	}
	cat := goldentools.All(cl)
	return finish(t, &built{catalog: cat, hc: hc, golden: true}, runtime.Options{
		Name: "reliability", Version: "0", Tools: cat, Toolsets: goldentools.Toolsets, Instructions: goldentools.Instructions,
		BaseURL: base, Timeout: 2 * time.Second, Mode: runtime.ModeHTTP, PollInterval: 10 * time.Millisecond,
		Defaults: map[string]string{"MIOSA_DEFAULT_TEMPLATE": "tmpl-default"},
		Settings: httpSettings,
	}, opts)
}

// realRuntime builds the runtime over the real 151-tool catalog, as
// internal/app does.
func realRuntime(t testing.TB, base *url.URL, opts ...runtimeOpt) *built {
	t.Helper()
	hc := runtime.NewHTTPClient(runtime.RetryPolicy{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond})
	cl, err := realclient.NewClient(base.String(), realclient.WithHTTPClient(hc), realclient.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		t.Fatal(err)
	}
	cat := realtools.All(cl)
	return finish(t, &built{catalog: cat, hc: hc}, runtime.Options{
		Name: "reliability", Version: "0", Tools: cat, Toolsets: realtools.Toolsets, Instructions: realtools.Instructions,
		BaseURL: base, Timeout: 2 * time.Second, Mode: runtime.ModeHTTP, PollInterval: 10 * time.Millisecond,
		Defaults: map[string]string{"MIOSA_DEFAULT_TEMPLATE": "miosa-sandbox"},
		Settings: httpSettings, Hints: realtools.Hints,
	}, opts)
}

// httpSettings are the advice texts internal/app gives an HTTP server
// (runtime.Settings).
var httpSettings = runtime.Settings{
	KeyRejected: "Send `Authorization: Bearer msk_u_…` (the word Bearer, then the key).",
	APIURL:      "MIOSA_API_URL",
	Timeout:     "MIOSA_TIMEOUT_MS",
}

func finish(t testing.TB, b *built, o runtime.Options, opts []runtimeOpt) *built {
	for _, f := range opts {
		f(&o)
	}
	b.srv = runtime.NewServer(o)
	t.Cleanup(b.hc.CloseIdleConnections)
	return b
}

// serve exposes the runtime over real streamable HTTP.
func (b *built) serve(t testing.TB, o runtime.HTTPOptions) *httptest.Server {
	t.Helper()
	o.Catalog = b.catalog
	if b.golden {
		o.Toolsets, o.Profiles = goldentools.Toolsets, goldentools.Profiles
	} else {
		o.Toolsets, o.Profiles = realtools.Toolsets, realtools.Profiles
	}
	hs := httptest.NewServer(b.srv.HTTPHandler(o))
	t.Cleanup(hs.Close)
	return hs
}

// ---------------------------------------------------------------------------
// MCP clients

// bearer is the Authorization header for key k; the key is registered
// with the key scanner (keyscan_test.go).
func bearer(k string) map[string]string {
	registerKey(k)
	return map[string]string{"Authorization": "Bearer " + k}
}

// connectHTTP opens an initialized mcp-go client over streamable HTTP. Its
// HTTP responses (headers and bodies) and every message it receives are
// scanned for keys.
func connectHTTP(t testing.TB, endpoint string, headers map[string]string, opts ...mcpclient.ClientOption) *mcpclient.Client {
	t.Helper()
	registerHeaders(headers)
	ks := newKeyScan(t)
	hc := &http.Client{Transport: scanningRoundTripper{ks: ks, next: http.DefaultTransport}}
	tr, err := transport.NewStreamableHTTP(endpoint, transport.WithHTTPHeaders(headers), transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return initClient(t, mcpclient.NewClient(&scanningTransport{Interface: tr, ks: ks, channel: "HTTP client"}, opts...))
}

// scannedClient wraps an mcp-go transport so that every message the
// client receives is scanned for keys, and initializes the client.
func scannedClient(t testing.TB, tr transport.Interface, channel string, opts ...mcpclient.ClientOption) *mcpclient.Client {
	t.Helper()
	ks := newKeyScan(t)
	return initClient(t, mcpclient.NewClient(&scanningTransport{Interface: tr, ks: ks, channel: channel}, opts...))
}

func initClient(t testing.TB, c *mcpclient.Client) *mcpclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Start's context bounds the stdio subprocess's life: not the timeout.
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "reliability-test", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func callTool(ctx context.Context, c *mcpclient.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

func mustCall(t testing.TB, c *mcpclient.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := callTool(ctx, c, name, args)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func resultText(res *mcp.CallToolResult) string {
	var s []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			s = append(s, tc.Text)
		}
	}
	return strings.Join(s, "\n")
}

// ---------------------------------------------------------------------------
// Raw JSON-RPC

// rpcMsg is one JSON-RPC message as received.
type rpcMsg struct {
	Raw    string
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// toolResult decodes a tools/call result.
func (m rpcMsg) toolResult() (isError bool, text string, ok bool) {
	var r struct {
		IsError bool `json:"isError"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if len(m.Result) == 0 || json.Unmarshal(m.Result, &r) != nil || len(r.Content) == 0 {
		return false, "", false
	}
	var parts []string
	for _, c := range r.Content {
		parts = append(parts, c.Text)
	}
	return r.IsError, strings.Join(parts, "\n"), true
}

func canonID(id json.RawMessage) string {
	if len(bytes.TrimSpace(id)) == 0 {
		return "null"
	}
	var b bytes.Buffer
	if json.Compact(&b, id) != nil {
		return string(id)
	}
	return b.String()
}

// rawPost sends body to an MCP endpoint as a client would and returns the
// status and the JSON-RPC messages of the answer (JSON or SSE).
func rawPost(t testing.TB, endpoint string, header map[string]string, body []byte) (int, []rpcMsg, string) {
	t.Helper()
	registerHeaders(header)
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	scanResponse(t, "POST "+endpoint, resp, raw)
	return resp.StatusCode, parseMessages(resp.Header.Get("Content-Type"), raw), string(raw)
}

func parseMessages(contentType string, raw []byte) []rpcMsg {
	var chunks [][]byte
	if strings.HasPrefix(contentType, "text/event-stream") {
		for _, line := range bytes.Split(raw, []byte("\n")) {
			if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				chunks = append(chunks, bytes.TrimSpace(d))
			}
		}
	} else if len(bytes.TrimSpace(raw)) > 0 {
		chunks = append(chunks, raw)
	}
	var out []rpcMsg
	for _, c := range chunks {
		var m rpcMsg
		if json.Unmarshal(c, &m) == nil {
			m.Raw = string(c)
			out = append(out, m)
		} else {
			out = append(out, rpcMsg{Raw: string(c)})
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Spawned binary

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// binEnv is a clean environment for the binary: no MIOSA_* from the
// developer's shell, plus the given values. The binary logs at debug level
// unless the test sets MIOSA_LOG_LEVEL, so the key scanner sees the most
// the server can log; its MIOSA_API_KEY is registered with the scanner.
func binEnv(kv map[string]string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "MIOSA_") {
			env = append(env, e)
		}
	}
	if _, set := kv["MIOSA_LOG_LEVEL"]; !set {
		env = append(env, "MIOSA_LOG_LEVEL=debug")
	}
	for k, v := range kv {
		if k == "MIOSA_API_KEY" {
			registerKey(v)
		}
		env = append(env, k+"="+v)
	}
	return env
}

// scanResponse scans one HTTP answer (status, headers, body) for keys; the
// leak is reported when the test ends.
func scanResponse(t testing.TB, channel string, resp *http.Response, body []byte) {
	ks := newKeyScan(t)
	ks.scanHeader(channel, resp)
	ks.scan(channel+" body", body)
}

type proc struct {
	cmd     *exec.Cmd
	stderr  *lockedBuffer
	exited  chan struct{}
	waitErr error
	keys    *keyScan // scans stdout lines as they arrive and stderr at exit
}

// startProc starts the binary. stdin and stdout may be nil or the child's
// ends of os.Pipes (closed here once the child holds them).
func startProc(t testing.TB, env map[string]string, stdin, stdout *os.File, args ...string) *proc {
	t.Helper()
	return startProcBin(t, binary(t), env, stdin, stdout, args...)
}

// startProcBin is startProc for a given binary (plainBinary for the
// memory test). Every process it starts is scanned for keys: stderr at exit
// here, stdout lines by the stdio reader.
func startProcBin(t testing.TB, bin string, env map[string]string, stdin, stdout *os.File, args ...string) *proc {
	t.Helper()
	// Created first, so its report runs after the process has exited.
	p := &proc{cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}, exited: make(chan struct{}), keys: newKeyScan(t)}
	p.cmd.Env = binEnv(env)
	if stdin != nil {
		p.cmd.Stdin = stdin
	}
	if stdout != nil {
		p.cmd.Stdout = stdout
	}
	p.cmd.Stderr = p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	err := p.cmd.Start()
	for _, f := range []*os.File{stdin, stdout} {
		if f != nil {
			f.Close()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		p.keys.scanString("stderr of miosa-mcp "+strings.Join(args, " "), p.stderr.String())
		if s := p.stderr.String(); strings.Contains(s, "WARNING: DATA RACE") || strings.Contains(s, "panic:") {
			t.Errorf("miosa-mcp stderr reports a race or crash:\n%s", s)
		}
	})
	return p
}

// stdioProc is a raw newline-delimited JSON-RPC session with the binary in
// stdio mode. Every stdout line must be a JSON-RPC message (S1).
type stdioProc struct {
	*proc
	t        testing.TB
	stdin    io.WriteCloser
	stdout   *os.File // the reading end of the child's stdout
	mu       sync.Mutex
	waiters  map[string]chan rpcMsg
	loose    []rpcMsg // messages no waiter claimed (id-null errors, notifications)
	bad      []string // stdout lines that are not JSON-RPC
	readDone chan struct{}
}

func startStdio(t testing.TB, env map[string]string, args ...string) *stdioProc {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &stdioProc{t: t, stdin: inW, stdout: outR, waiters: map[string]chan rpcMsg{}, readDone: make(chan struct{})}
	s.proc = startProc(t, env, inR, outW, append([]string{"stdio"}, args...)...)
	go s.read(outR)
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("miosa-mcp did not exit after stdin closed")
		}
		<-s.readDone
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.bad) > 0 {
			t.Errorf("stdout carried %d non-JSON-RPC lines, e.g. %q", len(s.bad), s.bad[0])
		}
	})
	s.initialize()
	return s
}

func (s *stdioProc) read(r io.Reader) {
	defer close(s.readDone)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		s.keys.scanString("stdout of miosa-mcp stdio", line)
		var m rpcMsg
		if err := json.Unmarshal([]byte(line), &m); err != nil || !strings.Contains(line, `"jsonrpc":"2.0"`) {
			s.mu.Lock()
			s.bad = append(s.bad, line)
			s.mu.Unlock()
			continue
		}
		m.Raw = line
		s.mu.Lock()
		key := canonID(m.ID)
		if ch, ok := s.waiters[key]; ok && m.Method == "" {
			delete(s.waiters, key)
			ch <- m
		} else {
			s.loose = append(s.loose, m)
		}
		s.mu.Unlock()
	}
	io.Copy(io.Discard, r)
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

func (s *stdioProc) write(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, line+"\n"); err != nil {
		s.t.Fatalf("writing to miosa-mcp: %v (stderr: %s)", err, s.stderr.String())
	}
}

func (s *stdioProc) expect(id string) chan rpcMsg {
	ch := make(chan rpcMsg, 1)
	s.mu.Lock()
	s.waiters[id] = ch
	s.mu.Unlock()
	return ch
}

// await waits for the response to id.
func (s *stdioProc) await(ch chan rpcMsg, id string, d time.Duration) (rpcMsg, bool) {
	select {
	case m := <-ch:
		return m, true
	case <-time.After(d):
		s.mu.Lock()
		delete(s.waiters, id)
		s.mu.Unlock()
		return rpcMsg{}, false
	}
}

// request sends a well-formed request and waits for its response.
func (s *stdioProc) request(id, method, params string) rpcMsg {
	s.t.Helper()
	ch := s.expect(id)
	msg := `{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `"`
	if params != "" {
		msg += `,"params":` + params
	}
	s.write(msg + "}")
	m, ok := s.await(ch, id, 30*time.Second)
	if !ok {
		s.t.Fatalf("no response to %s %s within 30s (stderr: %s)", method, id, s.stderr.String())
	}
	return m
}

// takeLoose returns and clears the unclaimed messages.
func (s *stdioProc) takeLoose() []rpcMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.loose
	s.loose = nil
	return out
}

func (s *stdioProc) initialize() {
	s.t.Helper()
	m := s.request(`"init"`, "initialize", `{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"reliability","version":"0"}}`)
	if m.Error != nil {
		s.t.Fatalf("initialize: %s", m.Raw)
	}
	s.write(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

// httpProc is the binary serving HTTP on a loopback port.
type httpProc struct {
	*proc
	URL string // http://127.0.0.1:PORT
}

var listenRE = regexp.MustCompile(`serving MCP over HTTP at (http://[^/\s]+)/mcp`)

func startHTTP(t testing.TB, env map[string]string, args ...string) *httpProc {
	t.Helper()
	return startHTTPBin(t, binary(t), env, args...)
}

func startHTTPBin(t testing.TB, bin string, env map[string]string, args ...string) *httpProc {
	t.Helper()
	p := startProcBin(t, bin, env, nil, nil, append([]string{"http", "--listen", "127.0.0.1:0"}, args...)...)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(p.stderr.String()); m != nil {
			return &httpProc{proc: p, URL: m[1]}
		}
		select {
		case <-p.exited:
			t.Fatalf("miosa-mcp http exited: %v\n%s", p.waitErr, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("miosa-mcp http did not start:\n%s", p.stderr.String())
	return nil
}
