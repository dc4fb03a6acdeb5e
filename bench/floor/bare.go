package floor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// keyCtx carries the caller's API key to a bare tool handler.
type keyCtx struct{}

// NewBareServer is a bare mcp-go server: computer_get and env_set with
// plain handlers over api, and, when catalog holds a tools/list result
// (miosa-mcp's), every other tool of it with a handler that refuses, so
// that start-up and tools/list carry the same 151 tools. defaultKey is the
// key when the context has none (stdio: MIOSA_API_KEY).
func NewBareServer(api *API, catalog []byte, defaultKey string) (*server.MCPServer, error) {
	s := server.NewMCPServer("baremcp", "0", server.WithToolCapabilities(false))
	handlers := map[string]server.ToolHandlerFunc{
		"computer_get": func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			id := req.GetString("id", "")
			if id == "" {
				return mcp.NewToolResultError("missing required argument id"), nil
			}
			return result(api.GetComputer(ctx, key(ctx, defaultKey), id))
		},
		"env_set": func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			id, name := req.GetString("computer_id", ""), req.GetString("name", "")
			if id == "" || name == "" {
				return mcp.NewToolResultError("missing required argument computer_id or name"), nil
			}
			return result(api.SetEnv(ctx, key(ctx, defaultKey), id, name, req.GetString("value", "")))
		},
	}
	tools, err := catalogTools(catalog)
	if err != nil {
		return nil, err
	}
	if len(tools) == 0 {
		tools = []mcp.Tool{
			mcp.NewTool("computer_get", mcp.WithDescription("Get a computer."), mcp.WithString("id", mcp.Required())),
			mcp.NewTool("env_set", mcp.WithDescription("Set a computer env var."),
				mcp.WithString("computer_id", mcp.Required()), mcp.WithString("name", mcp.Required()), mcp.WithString("value", mcp.Required())),
		}
	}
	var st []server.ServerTool
	for _, t := range tools {
		h, ok := handlers[t.Name]
		if !ok {
			h = func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultError("not served by the bare floor"), nil
			}
		}
		st = append(st, server.ServerTool{Tool: t, Handler: h})
	}
	s.AddTools(st...)
	return s, nil
}

// BareHTTPHandler serves s as stateless streamable HTTP; each request's
// bearer key reaches the tool handlers.
func BareHTTPHandler(s *server.MCPServer) http.Handler {
	return server.NewStreamableHTTPServer(s,
		server.WithStateLess(true),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			return context.WithValue(ctx, keyCtx{}, bearer(r.Header))
		}))
}

func key(ctx context.Context, def string) string {
	if k, _ := ctx.Value(keyCtx{}).(string); k != "" {
		return k
	}
	return def
}

// result shapes an upstream answer as miosa-mcp does for a JSON body: the
// body as text and as structuredContent, or an isError result.
func result(status int, body []byte, err error) (*mcp.CallToolResult, error) {
	if err != nil {
		return mcp.NewToolResultError("request failed: " + err.Error()), nil
	}
	if status/100 != 2 {
		return mcp.NewToolResultError(fmt.Sprintf("API answered %d: %s", status, body)), nil
	}
	return mcp.NewToolResultStructured(json.RawMessage(body), string(body)), nil
}

// catalogTools reads the tools of a tools/list result.
func catalogTools(catalog []byte) ([]mcp.Tool, error) {
	if len(catalog) == 0 {
		return nil, nil
	}
	var list struct {
		Tools []struct {
			Name         string             `json:"name"`
			Title        string             `json:"title"`
			Description  string             `json:"description"`
			InputSchema  json.RawMessage    `json:"inputSchema"`
			OutputSchema json.RawMessage    `json:"outputSchema"`
			Annotations  mcp.ToolAnnotation `json:"annotations"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(catalog, &list); err != nil {
		return nil, fmt.Errorf("the catalog is not a tools/list result: %w", err)
	}
	tools := make([]mcp.Tool, 0, len(list.Tools))
	for _, t := range list.Tools {
		tool := mcp.NewToolWithRawSchema(t.Name, t.Description, t.InputSchema)
		tool.Title = t.Title
		tool.RawOutputSchema = t.OutputSchema
		tool.Annotations = t.Annotations
		tools = append(tools, tool)
	}
	return tools, nil
}
