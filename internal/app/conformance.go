package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// conformanceTools are the fixed test tools the official MCP conformance
// suite calls (its tools-call-* scenarios and the pending json-schema-2020-12
// scenario). They are registered only with `miosa-mcp http
// --conformance-tools`, never in normal use. They call nothing upstream and
// need no API key (the suite cannot send an Authorization header).
//
// test_sampling and test_elicitation refuse at once instead of sending
// sampling/createMessage or elicitation/create: over stateless HTTP the
// client's answer arrives in a new POST without a session id and mcp-go
// rejects it ("Missing session ID for sampling response"), so the request
// could never complete. docs/conformance.md lists both scenarios as not
// applicable.
func conformanceTools() []server.ServerTool {
	noArgs := json.RawMessage(`{"type":"object","properties":{}}`)
	tool := func(name, desc string, schema json.RawMessage, h server.ToolHandlerFunc) server.ServerTool {
		return server.ServerTool{Tool: mcp.NewToolWithRawSchema(name, desc, schema), Handler: h}
	}
	return []server.ServerTool{
		tool("test_simple_text", "Conformance test tool: returns one text item.", noArgs,
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText("This is a simple text response for testing."), nil
			}),
		tool("test_image_content", "Conformance test tool: returns a 1x1 PNG image.", noArgs,
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return result(mcp.NewImageContent(testPNGData(), "image/png")), nil
			}),
		tool("test_audio_content", "Conformance test tool: returns a short WAV clip.", noArgs,
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return result(mcp.NewAudioContent(testWAVData(), "audio/wav")), nil
			}),
		tool("test_embedded_resource", "Conformance test tool: returns an embedded text resource.", noArgs,
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return result(mcp.NewEmbeddedResource(mcp.TextResourceContents{
					URI: "test://embedded-resource", MIMEType: "text/plain",
					Text: "This is an embedded resource content.",
				})), nil
			}),
		tool("test_multiple_content_types", "Conformance test tool: returns text, an image and an embedded resource.", noArgs,
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return result(
					mcp.NewTextContent("Multiple content types test:"),
					mcp.NewImageContent(testPNGData(), "image/png"),
					mcp.NewEmbeddedResource(mcp.TextResourceContents{
						URI: "test://mixed-content-resource", MIMEType: "application/json",
						Text: `{"test":"data","value":123}`,
					}),
				), nil
			}),
		tool("test_error_handling", "Conformance test tool: always returns a tool error (isError).", noArgs,
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultError("This tool intentionally returns an error for testing"), nil
			}),
		tool("test_tool_with_logging", "Conformance test tool: sends three info log notifications while it runs.", noArgs,
			func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				s := server.ServerFromContext(ctx)
				for i, msg := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
					if i > 0 && !pause(ctx, 50*time.Millisecond) {
						return nil, ctx.Err()
					}
					if s != nil {
						_ = s.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(mcp.LoggingLevelInfo, "conformance", msg))
					}
				}
				flushNotifications(ctx)
				return mcp.NewToolResultText("Tool with logging executed: sent 3 log messages."), nil
			}),
		tool("test_tool_with_progress", "Conformance test tool: reports progress 0, 50 and 100 of 100 when the call carries a progress token.", noArgs,
			func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				s := server.ServerFromContext(ctx)
				var token mcp.ProgressToken
				if req.Params.Meta != nil {
					token = req.Params.Meta.ProgressToken
				}
				for i, p := range []int{0, 50, 100} {
					if i > 0 && !pause(ctx, 50*time.Millisecond) {
						return nil, ctx.Err()
					}
					if s != nil && token != nil {
						_ = s.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress),
							map[string]any{"progressToken": token, "progress": p, "total": 100})
					}
				}
				flushNotifications(ctx)
				return mcp.NewToolResultText("Tool with progress executed: reported 0/100, 50/100, 100/100."), nil
			}),
		tool("test_sampling", "Conformance test tool: would ask the client for an LLM completion (sampling/createMessage). Not available on this stateless server.",
			json.RawMessage(`{"type":"object","properties":{"prompt":{"type":"string","description":"The prompt to send to the LLM"}},"required":["prompt"]}`),
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultError(noServerRequests("sampling/createMessage")), nil
			}),
		tool("test_elicitation", "Conformance test tool: would ask the user for input (elicitation/create). Not available on this stateless server.",
			json.RawMessage(`{"type":"object","properties":{"message":{"type":"string","description":"The message to show the user"}},"required":["message"]}`),
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultError(noServerRequests("elicitation/create")), nil
			}),
		tool("json_schema_2020_12_tool", "Conformance test tool whose input schema uses JSON Schema 2020-12 keywords ($schema, $defs, $ref, additionalProperties).",
			json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",`+
				`"$defs":{"address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}}}},`+
				`"properties":{"name":{"type":"string"},"address":{"$ref":"#/$defs/address"}},"additionalProperties":false}`),
			func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				args, _ := json.Marshal(req.GetArguments())
				return mcp.NewToolResultText("json_schema_2020_12_tool received: " + string(args)), nil
			}),
	}
}

func result(content ...mcp.Content) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: content}
}

func noServerRequests(method string) string {
	return method + " is not available: this server is stateless over HTTP (no Mcp-Session-Id), " +
		"so it cannot receive the client's answer to a server-initiated request."
}

// pause waits d or until the call is cancelled; it reports whether to go on.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// flushNotifications gives mcp-go's notification forwarder a moment before
// the handler returns, so the last notification is not dropped: mcp-go
// v1.2.1 stops the forwarder when the handler returns, losing one it has
// taken but not yet written (the runtime waits for its own progress
// notifications instead: internal/runtime/notify.go).
func flushNotifications(ctx context.Context) { pause(ctx, 5*time.Millisecond) }

// testMedia returns testPNG, a base64 1x1 red PNG, and testWAV, a base64
// 10 ms 440 Hz mono 8 kHz 16-bit PCM WAV. Both are built here rather than
// embedded as opaque strings, on first use: the PNG encoder's compressor
// allocates about 1 MB, which every start of the binary paid for 1-1.6 ms
// when they were package variables (GODEBUG=inittrace=1), while only the
// conformance tools ever send them.
var testMedia = sync.OnceValues(func() (testPNG, testWAV string) {
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.NRGBA{R: 0xff, A: 0xff})
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		panic(err)
	}

	const rate, n = 8000, 80
	var pcm bytes.Buffer
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate))
		binary.Write(&pcm, binary.LittleEndian, v)
	}
	var wb bytes.Buffer
	le := func(v any) { binary.Write(&wb, binary.LittleEndian, v) }
	wb.WriteString("RIFF")
	le(uint32(36 + pcm.Len()))
	wb.WriteString("WAVEfmt ")
	le(uint32(16))       // fmt chunk size
	le(uint16(1))        // PCM
	le(uint16(1))        // mono
	le(uint32(rate))     // sample rate
	le(uint32(rate * 2)) // byte rate
	le(uint16(2))        // block align
	le(uint16(16))       // bits per sample
	wb.WriteString("data")
	le(uint32(pcm.Len()))
	wb.Write(pcm.Bytes())
	return base64.StdEncoding.EncodeToString(pb.Bytes()), base64.StdEncoding.EncodeToString(wb.Bytes())
})

func testPNGData() string { p, _ := testMedia(); return p }
func testWAVData() string { _, w := testMedia(); return w }
