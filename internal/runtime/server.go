package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/sync/semaphore"
)

// Mode is the transport the server is serving; it changes advice texts
// (an env var in stdio, a header over HTTP) and what is advertised.
type Mode int

const (
	ModeStdio Mode = iota
	ModeHTTP
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	Name, Version string
	Tools         []Tool        // the enabled tools (already filtered)
	Toolsets      []ToolsetInfo // for the instructions
	Instructions  string        // introduction of the instructions
	BaseURL       *url.URL      // the API base, e.g. https://api.miosa.ai/api/v1
	Timeout       time.Duration // per upstream request (default DefaultTimeout)
	Defaults      map[string]string
	Limits        Limits
	Mode          Mode
	Logger        *slog.Logger
	// Mock marks a server running against the offline mock; the
	// instructions and logs say so.
	Mock bool
	// PollInterval is the wait loop's polling period (default 2 s).
	PollInterval time.Duration
	// RateLimit limits tool calls per API key (zero: unlimited).
	RateLimit RateLimit
	// ExtraTools are registered as they are (the conformance test tools).
	// They call nothing upstream, so over HTTP they are callable without a key.
	ExtraTools []server.ServerTool
	// Logging advertises the logging capability over HTTP too (stdio always
	// has it). Only the conformance run sets it: over stateless HTTP mcp-go
	// keeps one log level for every caller (stack.md §2.6 bug 3).
	Logging bool
	// KeyMissingHint is the error text for a call without any key.
	KeyMissingHint string
	// Observer is told about each call for metrics, traces and logs
	// (observer.go; nil: nothing is observed).
	Observer Observer
	// LocalFiles turns on the local-file arguments (local.go); only a
	// stdio server uses it, and nil turns them off.
	LocalFiles *LocalFiles
}

// Server serves the tools with mcp-go.
type Server struct {
	mcp      *server.MCPServer
	tools    map[string]*Tool
	byOp     map[string]*Tool
	base     *url.URL
	timeout  time.Duration
	defaults map[string]string
	limits   Limits
	mode     Mode
	log      *slog.Logger
	poll     time.Duration
	keyHint  string
	keyless  map[string]bool // ExtraTools: no key needed over HTTP
	valid    validator
	limiter  *keyLimiter
	answers  *semaphore.Weighted // Limits.AnswerBytes
	obs      Observer
	local    *LocalFiles // nil: local-file arguments off (local.go)
}

// NewServer builds the MCP server for the given tools.
func NewServer(o Options) *Server {
	s := &Server{
		tools: map[string]*Tool{}, byOp: map[string]*Tool{},
		base: o.BaseURL, timeout: o.Timeout, defaults: o.Defaults, limits: o.Limits.withDefaults(),
		mode: o.Mode, log: o.Logger, poll: o.PollInterval, keyHint: o.KeyMissingHint,
		limiter: newKeyLimiter(o.RateLimit), obs: observerOrNop(o.Observer),
	}
	s.answers = newAnswerBudget(s.limits.AnswerBytes)
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.poll <= 0 {
		s.poll = 2 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// Every record is scrubbed with the key of the call it belongs to.
	s.log = slog.New(ScrubLogHandler(s.log.Handler()))
	if s.keyHint == "" {
		s.keyHint = "MIOSA_API_KEY is not set."
	}
	opts := []server.ServerOption{
		server.WithToolCapabilities(false),
		// Not server.WithRecovery: that turns a panic into a JSON-RPC
		// internal error; a tool result lets the model carry on.
		server.WithToolHandlerMiddleware(s.recoverTool),
		server.WithInstructions(BuildInstructions(o.Instructions, o.Toolsets, o.Tools, o.Mock)),
		server.WithToolFilter(s.filterForRequest),
		server.WithToolHandlerMiddleware(notificationFlush),
	}
	opts = append(opts, observerOptions(s.obs)...)
	if o.Mode == ModeStdio || o.Logging {
		// Over stateless HTTP mcp-go keeps one log level for every caller,
		// so logging is only advertised where there is a single caller.
		opts = append(opts, server.WithLogging())
	}
	s.mcp = server.NewMCPServer(o.Name, o.Version, opts...)
	o.Tools = s.setupLocal(o)
	var st []server.ServerTool
	for i := range o.Tools {
		t := &o.Tools[i]
		s.tools[t.Name] = t
		if t.Method == http.MethodGet {
			if _, dup := s.byOp[t.Operation]; !dup {
				s.byOp[t.Operation] = t
			}
		}
		st = append(st, server.ServerTool{Tool: t.MCPTool(), Handler: s.handler(t)})
	}
	st = append(st, o.ExtraTools...)
	s.keyless = map[string]bool{}
	for _, t := range o.ExtraTools {
		s.keyless[t.Tool.Name] = true
	}
	s.mcp.AddTools(st...)
	return s
}

// MCP returns the underlying mcp-go server.
func (s *Server) MCP() *server.MCPServer { return s.mcp }

// Tool returns an enabled tool by name.
func (s *Server) Tool(name string) (*Tool, bool) { t, ok := s.tools[name]; return t, ok }

func (s *Server) handler(t *Tool) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, _ error) {
		start := time.Now()
		ctx, end := s.obs.StartCall(ctx, t, req)
		defer func() { end(res) }() // res is nil when execute panicked
		sc := NewScrubber(APIKeyFrom(ctx))
		ctx = withScrubber(ctx, sc)
		res = s.execute(ctx, sc, t, req)
		// The last line of defence: whatever a result builder produced,
		// no channel of the result carries the key (see scrub.go).
		sc.Result(res)
		s.log.DebugContext(ctx, "tool call", "tool", t.Name, "error", res.IsError, "duration", time.Since(start))
		return res, nil
	}
}

func (s *Server) execute(ctx context.Context, sc *Scrubber, t *Tool, req mcp.CallToolRequest) *mcp.CallToolResult {
	if f := requestFilterFrom(ctx); f != nil && !f.allows(t) {
		return mcp.NewToolResultError(fmt.Sprintf("Tool %s is not enabled for this connection (X-MCP-Toolsets / X-MCP-Tools / X-MCP-Exclude-Tools / X-MCP-Readonly narrow the tools).", t.Name))
	}
	if ke := keyErrorFrom(ctx); ke != nil {
		return errorResult(sc, ke.Error())
	}
	key := APIKeyFrom(ctx)
	if key.Empty() {
		return mcp.NewToolResultError(s.keyHint)
	}
	rawArgs, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return errorResult(sc, "arguments could not be read: "+err.Error())
	}
	if res := s.refuseLocal(t, req); res != nil {
		return res
	}
	args, err := s.valid.validate(t, rawArgs)
	if err != nil {
		return errorResult(sc, err.Error())
	}
	if rl := s.limiter.reserve(key); rl != nil {
		s.obs.RateLimited(ctx)
		return errorResult(sc, rl.Error())
	}
	call := NewCall(t, args, s.defaults)
	if t.SendsIdempotencyKey {
		call.idemKey = newIdempotencyKey()
	}
	if res, done := s.localCall(ctx, t, call, req); done {
		return res
	}
	status, header, body, res := s.fetch(ctx, t, call, t.Call)
	if res != nil {
		return res
	}
	defer body.done()
	// Scrub first, then cut: every result below is cut from scrubbed bytes.
	scrubAnswer(sc, t, header, body)
	switch t.Result {
	case ResultImage:
		return s.imageResult(body, header)
	case ResultFile:
		return s.fileResult(sc, t, body, header)
	}
	if t.Logs {
		return s.logsResult(sc, t, call, body, header)
	}
	if res := s.unusableBody(t, status, header, body); res != nil {
		return res
	}
	if t.Wait != nil {
		var wait bool
		call.Arg("wait", &wait)
		if wait && !body.head {
			return s.wait(ctx, sc, t, call, req, body.data)
		}
	}
	return s.answerResult(t, body, status)
}

// do is fetch for a caller that reads the body as bytes (the wait loop's
// polls, which scrub it): the body, and whether it was not all kept.
func (s *Server) do(ctx context.Context, t *Tool, call *Call, fn CallFunc) (int, http.Header, []byte, bool, *mcp.CallToolResult) {
	status, h, body, res := s.fetch(ctx, t, call, fn)
	if res != nil {
		return 0, nil, nil, false, res
	}
	body.done()
	return status, h, body.data, body.truncated || body.head, nil
}

// fetch runs one upstream request under the per-request timeout and reads
// the answer as far as t's result needs (answer.go). A non-nil result means
// the call already failed (its text says why); otherwise the 2xx status,
// headers and body are returned, not yet scrubbed (scrubAnswer). Every
// exchange ends by the timeout, whatever the API answers: a 1xx that
// reaches here (101 Switching Protocols, whose body is the raw connection)
// is refused unread, and the body is closed when the request's context
// ends, so no read outlives it.
func (s *Server) fetch(ctx context.Context, t *Tool, call *Call, fn CallFunc) (int, http.Header, *upstreamBody, *mcp.CallToolResult) {
	sc := scrubberFrom(ctx)
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := fn(cctx, call)
	if err != nil {
		var ae *ArgError
		if errors.As(err, &ae) {
			return 0, nil, nil, errorResult(sc, "Invalid arguments for "+t.Name+": "+ae.Msg+".")
		}
		if ctx.Err() == nil && cctx.Err() != nil {
			err = context.DeadlineExceeded
		}
		level := slog.LevelWarn
		if ctx.Err() != nil {
			level = slog.LevelDebug // the caller cancelled: nothing failed
		}
		s.log.Log(ctx, level, "upstream request failed", "tool", t.Name, "error", scrubURLError(err))
		return 0, nil, nil, errorResult(sc, s.transportErrorText(t, err))
	}
	defer resp.Body.Close()
	stop := context.AfterFunc(cctx, func() { resp.Body.Close() })
	defer stop()
	if resp.StatusCode < 200 {
		s.log.WarnContext(ctx, "upstream answered an informational status", "tool", t.Name, "status", resp.StatusCode)
		return 0, nil, nil, mcp.NewToolResultError(fmt.Sprintf("%s: the MIOSA API answered HTTP %d %s, which an API call never expects; the answer was not read. If it persists, check MIOSA_API_URL: a proxy may be in the way.", t.Name, resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	var body *upstreamBody
	var rerr error
	switch {
	case resp.StatusCode >= 300:
		var b []byte
		var cut bool
		b, cut, rerr = readBody(resp.Body, errorBodyBytes)
		body = &upstreamBody{data: b, truncated: cut}
	case call.saving():
		// Saved to a local file as it streams (local_save.go).
		body, rerr = call.local.sink.save(resp)
	case t.Logs:
		// A log tool is a snapshot: a stream is read for a short window,
		// never until it ends (it may not).
		n := DefaultLogLines
		if call != nil {
			n = logLines(call)
		}
		body, rerr = s.readLogs(cctx, resp, n)
	case t.Result == ResultImage:
		body, rerr = s.readBuffered(cctx, resp, s.limits.BinaryBytes)
	case t.Result == ResultFile && isJSONMedia(mediaType(resp.Header)):
		body, rerr = s.readBuffered(cctx, resp, fileJSONBytes(s.limits))
	case t.Result == ResultFile:
		body, rerr = s.readFileAnswer(cctx, resp.Body, s.limits.BinaryBytes, s.limits.TextBytes, s.limits.ReadBytes, resp.ContentLength)
	case resp.ContentLength > s.limits.ReadBytes:
		// Announced as longer than is ever read: not read at all.
		body = &upstreamBody{truncated: true}
	default:
		full := s.limits.TextBytes
		if t.Wait != nil {
			full = max(full, waitJSONBytes)
		}
		body, rerr = readJSONAnswer(resp.Body, full, s.limits.TextBytes, s.limits.ReadBytes, resp.ContentLength)
	}
	if rerr != nil {
		body.done()
		s.log.WarnContext(ctx, "reading upstream response failed", "tool", t.Name, "status", resp.StatusCode, "error", scrubURLError(rerr))
		if ctx.Err() == nil && cctx.Err() != nil {
			rerr = context.DeadlineExceeded
		}
		return 0, nil, nil, errorResult(sc, fmt.Sprintf("%s (the API answered HTTP %d but the body could not be read)", s.transportErrorText(t, rerr), resp.StatusCode))
	}
	if resp.StatusCode >= 300 {
		// The request id is upstream-controlled text: a proxy that echoes
		// the Authorization header must not put the key into the logs.
		reqID := capError(sc.String(resp.Header.Get("X-Request-ID")))
		s.log.InfoContext(ctx, "upstream error", "tool", t.Name, "status", resp.StatusCode, "request_id", reqID)
		return 0, nil, nil, errorResult(sc, s.upstreamErrorText(sc, t, resp, body.data, body.truncated))
	}
	return resp.StatusCode, resp.Header, body, nil
}

func newIdempotencyKey() string {
	var b [16]byte
	rand.Read(b[:])
	return "mcp-" + hex.EncodeToString(b[:])
}

// recoverTool turns a panicking tool handler into an isError result and a
// logged stack; the server (and, over stdio, mcp-go's worker) carries on.
func (s *Server) recoverTool(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		defer func() {
			if v := recover(); v != nil {
				s.log.ErrorContext(ctx, "panic in tool handler", "tool", req.Params.Name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				res, err = errorResult(NewScrubber(APIKeyFrom(ctx)), fmt.Sprintf("%s failed with an internal error in miosa-mcp (a bug: %s). The server is still running; if the tool calls the API, check with the matching get or list tool whether it took effect before retrying, and please report the bug.", req.Params.Name, clip(fmt.Sprint(v), 300))), nil
			}
		}()
		return next(ctx, req)
	}
}
