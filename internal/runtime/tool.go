// Package runtime serves the generated MIOSA tool catalog over MCP. The
// generated package gen/tools describes every tool as data (schemas, argument
// bindings, result kind) plus a small closure that calls the typed client;
// everything else — validation, auth, retries, waiting, result shaping and
// error advice — lives here once, so it is tested once.
package runtime

import (
	"context"
	"encoding/json"
	"net/http"
)

// Location says where a tool argument goes in the upstream request.
type Location uint8

const (
	InPath    Location = iota + 1 // a path parameter (validated, escaped by the client)
	InQuery                       // a query parameter
	InHeader                      // a request header
	InBody                        // a top-level property of the JSON request body
	InRaw                         // content/encoding/content_type of a raw-bytes body
	InControl                     // a runtime control: wait, wait_timeout_sec, lines
	InExtra                       // an argument of a composite handler
)

// Arg binds a tool argument (Name) to an API field (API) at a location.
type Arg struct {
	Name       string
	API        string
	In         Location
	Fixed      json.RawMessage // always sent; the argument is hidden
	Default    json.RawMessage // sent when the caller omits the argument
	EnvDefault string          // the server setting (Options.Defaults) used when omitted
	Transform  string          // "base64": encode the caller's text before sending
	Hidden     bool            // not part of the input schema
}

// ResultKind selects how a successful upstream response is read and becomes
// MCP content; shape.go dispatches on it.
type ResultKind uint8

const (
	ResultJSON  ResultKind = iota // structuredContent + a text copy
	ResultImage                   // image content (base64 PNG)
	ResultFile                    // UTF-8 text as text, anything else as a blob
	ResultLogs                    // a snapshot of the last `lines` log lines (tools.yaml logs: true)
)

// Annotations are the four MCP tool hints; the generator always sets all four.
type Annotations struct {
	ReadOnly, Destructive, Idempotent, OpenWorld bool
}

// CallFunc performs the upstream request of one tool call. It returns the
// raw response so the body reaches the model exactly as the API sent it.
type CallFunc func(ctx context.Context, c *Call) (*http.Response, error)

// PollFunc fetches the resource identified by id (the wait operation).
type PollFunc func(ctx context.Context, c *Call, id string) (*http.Response, error)

// Wait declares how a long operation is awaited: the id comes from the
// response (a dotted path such as data.id) or from an argument ("arg:id");
// Poll is called until Field holds one of Ready (success) or Failed.
type Wait struct {
	Poll      PollFunc
	Operation string // the polled operation (to name its tool in messages)
	ID        string
	Field     string
	Ready     []string
	Failed    []string
}

// Tool is one generated tool definition.
type Tool struct {
	Name, Toolset, Title, Description string
	Method, Path                      string // the API operation, for errors and docs
	Operation                         string // operationId
	InputSchema, OutputSchema         json.RawMessage
	Annotations                       Annotations
	Args                              []Arg
	Result                            ResultKind
	WrapOutput                        bool // non-object JSON is returned as {"result": …}
	SendsIdempotencyKey               bool // each call sends a fresh Idempotency-Key header
	Wait                              *Wait
	ErrorHints                        []ErrorHint  // tools.yaml `errors:`
	Local                             *Local       // tools.yaml `local:` (stdio only)
	Resource                          *ResourceArg // the id a call may omit (tools.yaml resources:; bind.go)
	Call                              CallFunc
}

// Direction says which way a local-file argument moves bytes.
type Direction uint8

const (
	LocalUpload   Direction = iota + 1 // the local file's bytes are sent
	LocalDownload                      // the answer's bytes are saved locally
)

// Local declares a tool's local-file argument (tools.yaml `local:`, issue
// #12): over stdio, the bytes of an upload come from a local path and a
// download can be saved to one, so they never pass through the model. The
// rules are in local.go; confinement in internal/localfs.
type Local struct {
	Arg       string    // the tool argument holding the local path
	Direction Direction //
	// Field: for an upload, the API field that receives the bytes (a JSON
	// body property, or "content" of a raw body); for a download, the
	// dotted path of the bytes in a JSON answer ("": the body).
	Field    string
	Encoding string // "base64" (a JSON string) or "binary" (the raw body)
	// Remote is the API field naming the remote file: an uploaded
	// directory's files go below it; a download saved into a directory
	// takes its base name.
	Remote string
	// Set are JSON body fields sent with a local upload, by API name.
	Set map[string]json.RawMessage
	// Description and InputSchema are the tool's, with Arg, served when
	// local files are on.
	Description string
	InputSchema json.RawMessage
}

// ToolsetInfo describes a toolset; Guide feeds the initialize instructions.
type ToolsetInfo struct {
	Name, Title, Guide string
}

// Profile is a named selection of tools (e.g. "core" for editors that cap
// the number of tools they accept).
type Profile struct {
	Name, Description string
	Tools             []string
}

// Budget is the tools/list token budget from tools.yaml.
type Budget struct {
	TotalTokens, ToolTokens int
}

// Hints are the catalog's advice in result and error texts, from tools.yaml
// `hints:` (gen/tools.Hints): the runtime names no tool, so where the way
// out of a situation is another tool, the catalog says which. Each is a
// whole sentence; an empty one leaves its sentence out.
type Hints struct {
	FileTooLong     string // a text download cut at Limits.TextBytes
	FileTooLarge    string // a binary download over Limits.BinaryBytes
	PaymentRequired string // the API answered 402 (insufficient credits)
	Timeout         string // no answer within the per-request timeout
}
