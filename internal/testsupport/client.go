package testsupport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// ProtocolVersion is the MCP version the helpers' clients speak.
const ProtocolVersion = "2025-11-25"

// ConnectHTTP opens an mcp-go client over streamable HTTP and initializes
// it at ProtocolVersion (HTTPClient, Initialize).
func ConnectHTTP(t testing.TB, endpoint string, headers map[string]string, opts ...client.ClientOption) *client.Client {
	t.Helper()
	c := HTTPClient(t, endpoint, headers, opts...)
	Initialize(t, c, ProtocolVersion)
	return c
}

// HTTPClient is an mcp-go client over streamable HTTP, not yet started.
// Its HTTP responses (headers and bodies) and every message it receives
// are scanned for keys; the Authorization among headers is registered.
func HTTPClient(t testing.TB, endpoint string, headers map[string]string, opts ...client.ClientOption) *client.Client {
	t.Helper()
	RegisterHeaders(headers)
	ks := NewKeyScan(t)
	hc := &http.Client{Transport: ScanningRoundTripper{Scan: ks, Next: http.DefaultTransport.(*http.Transport).Clone()}, Timeout: 60 * time.Second}
	tr, err := transport.NewStreamableHTTP(endpoint, transport.WithHTTPHeaders(headers), transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	return client.NewClient(ScanTransport(tr, ks, "HTTP client"), opts...)
}

// Initialize starts c and initializes it, asking for version ("": the
// client's own choice, e.g. client.WithProtocolVersion); c is closed when
// the test ends.
func Initialize(t testing.TB, c *client.Client, version string) *mcp.InitializeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Start's context bounds a stdio subprocess's life: not the timeout.
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	init := InitRequest("miosa-mcp-tests")
	init.Params.ProtocolVersion = version
	res, err := c.Initialize(ctx, init)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return res
}

// CallTool calls a tool.
func CallTool(ctx context.Context, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

// MustCall calls a tool within 30 s and fails the test when the call gets
// no result.
func MustCall(t testing.TB, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := CallTool(ctx, c, name, args)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// ResultText joins the text content of a tool result, one line a part.
func ResultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// Post sends body to an MCP endpoint as a client would (Do), with one value
// for each header.
func Post(t testing.TB, method, url string, header map[string]string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	h := http.Header{}
	for k, v := range header {
		h[k] = []string{v}
	}
	return Do(t, method, url, h, body)
}

// Do sends a request to an MCP endpoint as a client would (JSON, accepting
// SSE, the helpers' protocol version; header replaces those, with every
// value it holds, and a "Host" entry sets the request's host) and returns
// the response with its body read. The Authorization values sent are
// registered with the key scanner, and the answer is scanned.
func Do(t testing.TB, method, url string, header http.Header, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", ProtocolVersion)
	for k, vs := range header {
		if k == "Host" {
			req.Host = vs[0]
			continue
		}
		req.Header.Del(k)
		for _, v := range vs {
			if strings.EqualFold(k, "Authorization") {
				RegisterKey(v)
			}
			req.Header.Add(k, v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The shared client keeps connections alive, as clients do: a server
	// refusing a large body early then drains it instead of resetting the
	// connection under the client's write.
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ScanResponse(t, method+" "+url, resp, b)
	return resp, b
}

// PostJSON is Post of a body held in memory.
func PostJSON(t testing.TB, url string, header map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return Post(t, http.MethodPost, url, header, bytes.NewReader(body))
}

// PipeClient serves an MCP server in-process, as a stdio transport would,
// over pipes: serve reads requests from in and writes responses to out
// until its context ends. It returns an mcp-go client connected to it, not
// yet started (Initialize); every message the client receives is scanned
// for keys. The server is stopped when the test ends.
func PipeClient(t testing.TB, serve func(ctx context.Context, in io.Reader, out io.Writer) error, opts ...client.ClientOption) *client.Client {
	t.Helper()
	srvIn, cliOut := io.Pipe()
	cliIn, srvOut := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, srvIn, srvOut) }()
	t.Cleanup(func() {
		cliOut.Close()
		cancel()
		<-done
		srvOut.Close()
		srvIn.Close()
	})
	tr := ScanTransport(transport.NewIO(cliIn, cliOut, io.NopCloser(strings.NewReader(""))), NewKeyScan(t), "in-process stdio")
	return client.NewClient(tr, opts...)
}
