package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// runCall calls one tool through a real MCP session (mcp-go's in-process
// client) and prints the result: text as text, structured content as
// indented JSON, images saved with --out.
func runCall(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("call", "miosa-mcp call NAME '{\"arg\": \"value\"}' [--mock] [--out FILE]", env)
	var c commonFlags
	c.register(fs)
	var l localFlags
	l.register(fs)
	out := fs.String("out", "", "save image or binary content to this file")
	// Flags may follow the positional arguments.
	var pos []string
	for len(args) > 0 {
		if code, ok := parse(fs, args); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return 2
	}
	name, rawArgs := pos[0], "{}"
	if len(pos) == 2 {
		rawArgs = pos[1]
	}
	var argv map[string]any
	if err := json.Unmarshal([]byte(rawArgs), &argv); err != nil {
		fmt.Fprintf(env.Stderr, "miosa-mcp: the arguments must be a JSON object: %v\n", err)
		return 2
	}
	in, code := buildForCLI(env, &c, &l, fs)
	if in == nil {
		return code
	}
	defer in.close()
	if _, ok := in.srv.Tool(name); !ok {
		fmt.Fprintf(env.Stderr, "miosa-mcp: tool %q is not enabled (see `miosa-mcp tools`)\n", name)
		return 2
	}
	cl, err := client.NewInProcessClient(in.srv.MCP())
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	defer cl.Close()
	key := in.cfg.APIKey
	ctx = runtime.WithAPIKey(ctx, key)
	if err := cl.Start(ctx); err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "miosa-mcp call", Version: Version()}
	if _, err := cl.Initialize(ctx, init); err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = argv
	res, err := cl.CallTool(ctx, req)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	// What reaches stdout goes through the same scrubbing as every result
	// the server returns (runtime.Scrubber), whatever the server did.
	runtime.NewScrubber(key).Result(res)
	printResult(env, res, *out)
	if res.IsError {
		return 1
	}
	return 0
}

func printResult(env Env, res *mcp.CallToolResult, out string) {
	for _, c := range res.Content {
		switch x := c.(type) {
		case mcp.TextContent:
			if res.StructuredContent == nil || res.IsError {
				fmt.Fprintln(env.Stdout, x.Text)
			}
		case mcp.ImageContent:
			saveBinary(env, x.Data, x.MIMEType, out, "image")
		case mcp.EmbeddedResource:
			if b, ok := x.Resource.(mcp.BlobResourceContents); ok {
				saveBinary(env, b.Blob, b.MIMEType, out, "blob")
			}
		}
	}
	if res.StructuredContent != nil && !res.IsError {
		b, _ := json.MarshalIndent(res.StructuredContent, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
		for _, c := range res.Content[1:] {
			if t, ok := c.(mcp.TextContent); ok {
				fmt.Fprintln(env.Stdout, t.Text)
			}
		}
	}
}

func saveBinary(env Env, b64, mime, out, kind string) {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		fmt.Fprintf(env.Stderr, "miosa-mcp: %s content is not valid base64\n", kind)
		return
	}
	if out == "" {
		fmt.Fprintf(env.Stdout, "[%s %s, %d bytes; pass --out FILE to save it]\n", kind, mime, len(data))
		return
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return
	}
	fmt.Fprintf(env.Stdout, "[%s %s, %d bytes saved to %s]\n", kind, mime, len(data), out)
}
