package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image/png"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// conformanceServer serves `miosa-mcp http` (with or without
// --conformance-tools) over real streamable HTTP; the API URL is a closed
// port, as in scripts/conformance.sh.
func conformanceServer(t *testing.T, conf bool) string {
	t.Helper()
	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{"MIOSA_API_URL": "http://127.0.0.1:1"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	in, err := build(cfg, serverOpts{mode: runtime.ModeHTTP, conformanceTools: conf}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(in.srv.HTTPHandler(runtime.HTTPOptions{}))
	t.Cleanup(func() { hs.Close(); in.close() })
	return hs.URL + "/mcp"
}

type notes struct {
	mu  sync.Mutex
	got []mcp.JSONRPCNotification
}

func (n *notes) add(x mcp.JSONRPCNotification) { n.mu.Lock(); n.got = append(n.got, x); n.mu.Unlock() }
func (n *notes) methods() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var m []string
	for _, x := range n.got {
		m = append(m, x.Method)
	}
	return m
}

// connectNoKey opens a session without Authorization, as the suite does.
func connectNoKey(t *testing.T, url string) (*mcpclient.Client, *mcp.InitializeResult, *notes) {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	c := mcpclient.NewClient(tr)
	n := &notes{}
	c.OnNotification(n.add)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "conformance-test", Version: "0"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	return c, res, n
}

func callTool(c *mcpclient.Client, name string, args map[string]any, token mcp.ProgressToken) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	if token != nil {
		req.Params.Meta = &mcp.Meta{ProgressToken: token}
	}
	return c.CallTool(ctx, req)
}

func TestConformanceToolsOverHTTP(t *testing.T) {
	url := conformanceServer(t, true)
	c, init, n := connectNoKey(t, url)
	if init.Capabilities.Logging == nil {
		t.Error("--conformance-tools: logging capability not advertised")
	}
	ctx := context.Background()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	for _, want := range []string{"sandbox_list", "test_simple_text", "json_schema_2020_12_tool"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list lacks %s", want)
		}
	}
	//lint:ignore SA1019 the conformance suite still tests logging/setLevel, so the server serves it over stdio
	if err := c.SetLevel(ctx, mcp.SetLevelRequest{Params: mcp.SetLevelParams{Level: mcp.LoggingLevelDebug}}); err != nil {
		t.Fatalf("logging/setLevel: %v", err)
	}

	isPNG := func(b64 string) bool {
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return false
		}
		_, err = png.Decode(bytes.NewReader(b))
		return err == nil
	}
	tests := []struct {
		tool    string
		args    map[string]any
		token   mcp.ProgressToken
		isError bool
		check   func(*mcp.CallToolResult) bool
		notes   []string // notification methods the call must produce, in order
	}{
		{tool: "test_simple_text", check: func(r *mcp.CallToolResult) bool {
			tc, ok := r.Content[0].(mcp.TextContent)
			return ok && tc.Text == "This is a simple text response for testing."
		}},
		{tool: "test_image_content", check: func(r *mcp.CallToolResult) bool {
			ic, ok := r.Content[0].(mcp.ImageContent)
			return ok && ic.MIMEType == "image/png" && isPNG(ic.Data)
		}},
		{tool: "test_audio_content", check: func(r *mcp.CallToolResult) bool {
			ac, ok := r.Content[0].(mcp.AudioContent)
			b, _ := base64.StdEncoding.DecodeString(ac.Data)
			return ok && ac.MIMEType == "audio/wav" && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:12]) == "WAVE"
		}},
		{tool: "test_embedded_resource", check: func(r *mcp.CallToolResult) bool {
			er, ok := r.Content[0].(mcp.EmbeddedResource)
			tr, ok2 := er.Resource.(mcp.TextResourceContents)
			return ok && ok2 && tr.URI == "test://embedded-resource" && tr.MIMEType == "text/plain" && tr.Text != ""
		}},
		{tool: "test_multiple_content_types", check: func(r *mcp.CallToolResult) bool {
			if len(r.Content) != 3 {
				return false
			}
			_, a := r.Content[0].(mcp.TextContent)
			_, b := r.Content[1].(mcp.ImageContent)
			_, c := r.Content[2].(mcp.EmbeddedResource)
			return a && b && c
		}},
		{tool: "test_error_handling", isError: true, check: func(r *mcp.CallToolResult) bool {
			tc, ok := r.Content[0].(mcp.TextContent)
			return ok && tc.Text != ""
		}},
		{tool: "test_tool_with_logging", notes: []string{"notifications/message", "notifications/message", "notifications/message"}},
		{tool: "test_tool_with_progress", token: "p-1", notes: []string{"notifications/progress", "notifications/progress", "notifications/progress"}},
		{tool: "test_tool_with_progress"}, // no token: no notifications
		{tool: "test_sampling", args: map[string]any{"prompt": "hi"}, isError: true, check: func(r *mcp.CallToolResult) bool {
			return strings.Contains(r.Content[0].(mcp.TextContent).Text, "stateless")
		}},
		{tool: "test_elicitation", args: map[string]any{"message": "hi"}, isError: true, check: func(r *mcp.CallToolResult) bool {
			return strings.Contains(r.Content[0].(mcp.TextContent).Text, "stateless")
		}},
		{tool: "json_schema_2020_12_tool", args: map[string]any{"name": "n"}},
	}
	for _, tc := range tests {
		t.Run(tc.tool, func(t *testing.T) {
			before := len(n.methods())
			res, err := callTool(c, tc.tool, tc.args, tc.token)
			if err != nil {
				t.Fatalf("call without a key: %v", err)
			}
			if res.IsError != tc.isError || len(res.Content) == 0 {
				t.Fatalf("isError=%v, %d content items", res.IsError, len(res.Content))
			}
			if tc.check != nil && !tc.check(res) {
				t.Errorf("unexpected result: %+v", res.Content)
			}
			// Notifications arrive on the call's own stream, before its result.
			if got := n.methods()[before:]; !slices.Equal(got, tc.notes) {
				t.Errorf("notifications %v, want %v", got, tc.notes)
			}
		})
	}

	// The key exemption covers the test tools only: a catalog tool is still
	// refused at the HTTP layer without a key.
	if _, err := callTool(c, "sandbox_list", nil, nil); !errors.Is(err, transport.ErrAuthorizationRequired) {
		t.Errorf("sandbox_list without a key: err = %v, want a 401", err)
	}
}

func TestPlainHTTPServerHasNoConformanceTools(t *testing.T) {
	c, init, _ := connectNoKey(t, conformanceServer(t, false))
	if init.Capabilities.Logging != nil {
		t.Error("plain http server advertises logging (one global level for every caller)")
	}
	// Not registered, so not exempt from the key either: refused with 401.
	if _, err := callTool(c, "test_simple_text", nil, nil); !errors.Is(err, transport.ErrAuthorizationRequired) {
		t.Errorf("test_simple_text without --conformance-tools: err = %v, want a 401", err)
	}
}
