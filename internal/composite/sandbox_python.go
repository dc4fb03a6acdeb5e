// Package composite holds the only hand-written tool handlers: tools with no
// endpoint of their own that tools.yaml names with `handler:`.
//
// This package is also their registry: a handler is an exported function
// with the signature
//
//	func(context.Context, *runtime.Call, client.ClientInterface) (*http.Response, error)
//
// whose doc comment ends with the directive `//toolgen:handler NAME`, NAME
// being what tools.yaml writes after `handler:`. cmd/toolgen reads the
// directives from the source, so the generator never imports the code it
// generates (gen/client) and can always run.
package composite

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/miosa-osa/miosa-mcp/gen/client"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// pythonScriptPath is where sandbox_python writes the snippet; one fixed
// path keeps the sandbox tidy (each call overwrites it).
const pythonScriptPath = "/tmp/_mcp_run.py"

// SandboxPython runs a Python snippet in a sandbox: it writes the code to a
// file (writeSandboxFile), then executes it (execSandbox). If the write
// fails, its response is returned and nothing is executed.
//
//toolgen:handler sandbox_python
func SandboxPython(ctx context.Context, c *runtime.Call, cl client.ClientInterface) (*http.Response, error) {
	id, err := c.Path("sandbox_id")
	if err != nil {
		return nil, err
	}
	var code string
	if _, err := c.Arg("code", &code); err != nil {
		return nil, err
	}
	timeout := 0
	if _, err := c.Arg("timeout", &timeout); err != nil {
		return nil, err
	}
	write, err := cl.WriteSandboxFile(ctx, id, client.WriteSandboxFileJSONRequestBody{
		Path:    pythonScriptPath,
		Content: base64.StdEncoding.EncodeToString([]byte(code)),
	})
	if err != nil {
		return nil, err
	}
	if write.StatusCode < 200 || write.StatusCode >= 300 {
		return write, nil
	}
	write.Body.Close()
	body := client.ExecSandboxJSONRequestBody{Command: "python3 " + pythonScriptPath}
	if timeout > 0 {
		body.Timeout = &timeout
	}
	return cl.ExecSandbox(ctx, id, body)
}
