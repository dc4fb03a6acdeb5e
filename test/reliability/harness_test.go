package reliability_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	realclient "github.com/miosa-osa/miosa-mcp/gen/client"
	realtools "github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
	goldenclient "github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/client"
	goldentools "github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/tools"
)

// The suite drives miosa-mcp the way clients do: the spawned binary over
// stdio and HTTP (real catalog), and the runtime over real streamable HTTP
// (golden fixture catalog or the real catalog) where a test needs to reach
// inside, e.g. to register a panicking tool. Upstreams are httptest servers
// that record every request they receive.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ---------------------------------------------------------------------------
// Upstream answers (the recording upstream is testsupport.Upstream)

// okData answers every request with a small JSON document naming the path.
func okData(w http.ResponseWriter, r *http.Request) {
	testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "x1", "status": "running", "path": r.URL.EscapedPath()}})
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
// status and the JSON-RPC messages of the answer (JSON or SSE); the answer
// is scanned for keys (testsupport.Post).
func rawPost(t testing.TB, endpoint string, header map[string]string, body []byte) (int, []rpcMsg, string) {
	t.Helper()
	resp, raw := testsupport.PostJSON(t, endpoint, header, body)
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

// debugEnv is the environment of the suite's servers: the given values, and
// debug logs unless the test sets MIOSA_LOG_LEVEL, so the key scanner sees
// the most the server can log.
func debugEnv(kv map[string]string) []string {
	env := []string{"MIOSA_LOG_LEVEL=debug"}
	for k, v := range kv {
		env = append(env, k+"="+v)
	}
	return env
}

// startHTTP runs the binary (testsupport.Binary) as an HTTP server.
func startHTTP(t testing.TB, env map[string]string, args ...string) *testsupport.HTTPServer {
	t.Helper()
	return testsupport.StartHTTP(t, testsupport.Binary(t), testsupport.HTTPOptions{Env: debugEnv(env), Args: args})
}

// stdioProc is a raw newline-delimited JSON-RPC session with the binary in
// stdio mode. Every stdout line must be a JSON-RPC message (S1).
type stdioProc struct {
	*testsupport.Proc
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
	s.Proc = testsupport.Command(t, testsupport.Binary(t), debugEnv(env), append([]string{"stdio"}, args...)...)
	s.Cmd.Stdin, s.Cmd.Stdout = inR, outW
	s.Start()
	go s.read(outR)
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-s.Exited:
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
		s.Keys.ScanString("stdout of miosa-mcp stdio", line)
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
		s.t.Fatalf("writing to miosa-mcp: %v (stderr: %s)", err, s.Stderr.String())
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
		s.t.Fatalf("no response to %s %s within 30s (stderr: %s)", method, id, s.Stderr.String())
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
