// Package e2e_test drives the real miosa-mcp binary with real MCP clients:
// mcp-go's stdio client over a spawned process, its streamable-HTTP client
// against `miosa-mcp http`, and raw JSON-RPC lines where every byte of
// stdout must be seen. A recording upstream stands in for the MIOSA API, so
// each test asserts what the API would have received; every output of every
// server is scanned for the keys the tests hand out (internal/testsupport).
package e2e_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "msk_u_e2e_0123456789abcdef_SECRET"

// httpClientOptions configure an MCP client for the HTTP server.
type httpClientOptions struct {
	path    string // "/mcp" (default) or "/api/v1/mcp"
	auth    string // Authorization header value ("" = none)
	version string // the protocol version to ask for ("" = mcp-go's default)
}

// connectHTTP connects mcp-go's streamable HTTP client to a spawned server
// and initializes it.
func connectHTTP(t *testing.T, s *testsupport.HTTPServer, o httpClientOptions) (*client.Client, *mcp.InitializeResult) {
	t.Helper()
	if o.path == "" {
		o.path = "/mcp"
	}
	headers := map[string]string{}
	if o.auth != "" {
		headers["Authorization"] = o.auth
	}
	var opts []client.ClientOption
	if o.version != "" {
		opts = append(opts, client.WithProtocolVersion(o.version))
	}
	c := testsupport.HTTPClient(t, s.URL+o.path, headers, opts...)
	return c, testsupport.Initialize(t, c, "")
}

// listAllTools pages through tools/list.
func listAllTools(ctx context.Context, c *client.Client) ([]mcp.Tool, error) {
	var out []mcp.Tool
	var req mcp.ListToolsRequest
	for range 50 {
		res, err := c.ListTools(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Tools...)
		if res.NextCursor == "" {
			return out, nil
		}
		req.Params.Cursor = res.NextCursor
	}
	return nil, fmt.Errorf("tools/list did not stop paging")
}
