package runtime_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/client"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/tools"
)

// The runtime is tested against the generator's golden fixture catalog
// (internal/toolgen/testdata/golden): a small, real generated tool set.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorded is one request the fake upstream received.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	At                     time.Time
}

// upstream is a recording fake MIOSA API.
type upstream struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
	h    http.HandlerFunc
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	u := &upstream{t: t, h: h}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, recorded{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: b, At: time.Now()})
		u.mu.Unlock()
		r.Body = io.NopCloser(bytesReader(b))
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

func (u *upstream) base() *url.URL {
	b, _ := url.Parse(u.srv.URL + "/api/v1")
	return b
}

type serverOpt func(*runtime.Options)

func newRuntime(t *testing.T, base *url.URL, opts ...serverOpt) (*runtime.Server, []runtime.Tool) {
	t.Helper()
	cl, err := client.NewClient(base.String(),
		client.WithHTTPClient(runtime.NewHTTPClient(runtime.RetryPolicy{Base: 20 * time.Millisecond})),
		client.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		t.Fatal(err)
	}
	catalog := tools.All(cl)
	o := runtime.Options{
		Name: "test", Version: "0", Tools: catalog, Toolsets: tools.Toolsets, Instructions: tools.Instructions,
		BaseURL: base, Timeout: 2 * time.Second, Mode: runtime.ModeHTTP, PollInterval: 10 * time.Millisecond,
		Defaults: map[string]string{"MIOSA_DEFAULT_TEMPLATE": "tmpl-default"},
		// What internal/app says over HTTP (runtime.Settings).
		Settings: runtime.Settings{KeyRejected: "Send `Authorization: Bearer msk_u_…` (the word Bearer, then the key)."},
		Hints:    tools.Hints,
	}
	for _, f := range opts {
		f(&o)
	}
	return runtime.NewServer(o), catalog
}

// mcpHTTP serves the runtime over real streamable HTTP.
func mcpHTTP(t *testing.T, srv *runtime.Server, catalog []runtime.Tool) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(srv.HTTPHandler(runtime.HTTPOptions{Catalog: catalog, Toolsets: tools.Toolsets, Profiles: tools.Profiles}))
	t.Cleanup(hs.Close)
	return hs
}

// connect opens an initialized MCP client session over HTTP.
func connect(t *testing.T, hs *httptest.Server, headers map[string]string, opts ...mcpclient.ClientOption) *mcpclient.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(hs.URL+"/mcp", transport.WithHTTPHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	c := mcpclient.NewClient(tr, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "runtime-test", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func call(t *testing.T, c *mcpclient.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var s string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			s += tc.Text + "\n"
		}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

const testKey = "msk_u_test_key_0123456789"

func bearer(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }
