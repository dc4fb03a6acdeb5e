package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The stdio transport: newline-delimited JSON-RPC over stdin/stdout, served
// by our own loop over MCPServer.HandleMessage rather than mcp-go's
// StdioServer (issues #10, #15). mcp-go v1.2.1's StdioServer runs a tool call
// on the reading goroutine once its queue of 100 is full, so with 500
// concurrent calls to a 250 ms API a ping waited 16 s, cancels and EOF waited
// behind the calls, and 6 upstream requests were in flight.
//
// Here the reading goroutine never waits for a tool call:
//   - each line is vetted by the strict check, which also yields its
//     top-level members, so the line is decoded once on our side;
//   - ping, initialize, tools/list, logging/setLevel, every notification,
//     and notifications/cancelled are handled on the reading goroutine at
//     once, as is EOF;
//   - every other request (tools/call above all) runs on a bounded pool of
//     workers, with a bounded queue in front of it; a call beyond the queue
//     is refused at once;
//   - a request cancelled while it waits is removed from the queue and never
//     starts, and no response is sent for a cancelled request (MCP
//     2025-11-25, cancellation);
//   - in-flight requests are keyed by their id's JSON type and value, so a
//     cancel for 7 never reaches "7";
//   - output lines are written in the order they were produced, and a
//     notification a handler sent is written before that handler's
//     response: a writer goroutine writes what is queued for it, and a
//     worker writes its response itself when nothing is queued and every
//     notification sent so far is written (stdioConn.sendResponse). That
//     saves a goroutine hand-off per call, the writer's wake-up on another
//     thread (issue #15).
//
// Server→client requests (roots/list, elicitation) are sent by the writer
// and their responses routed back by id.

const (
	// DefaultStdioWorkers is how many requests run at once over stdio. One
	// editor rarely has more than a handful of calls in flight; 32 keeps a
	// burst of parallel tool calls moving without opening more upstream
	// connections than a single user should.
	DefaultStdioWorkers = 32
	// DefaultStdioQueue is how many more requests may wait for a worker.
	// Beyond it a request is refused at once (a tool call with an isError
	// result the model can act on) instead of piling up without bound.
	DefaultStdioQueue = 1024
	// stdioShutdownGrace bounds how long ServeStdio waits, once the input
	// ended, the context was cancelled or stdout failed, for the cancelled
	// handlers to return and the remaining output to be written.
	stdioShutdownGrace = 2 * time.Second
	// stdioNotificationBuffer is the session's notification channel
	// capacity (mcp-go drops a notification when it is full).
	stdioNotificationBuffer = 256
)

// codeServerBusy is the JSON-RPC error (implementation-defined range) for a
// request refused because the queue is full.
const codeServerBusy = -32000

// StdioOptions configure ServeStdio. Zero values take the defaults.
type StdioOptions struct {
	// Workers is how many requests run at once (DefaultStdioWorkers).
	Workers int
	// Queue is how many requests may wait for a worker (DefaultStdioQueue).
	Queue int
	// Key is the API key of the one stdio client (MIOSA_API_KEY).
	Key APIKey
}

// ServeStdio serves MCP on in and out until in ends (EOF: returns nil), ctx
// is done (returns ctx.Err()), or writing to out fails. In-flight requests
// are cancelled then, so their upstream requests end at once. The goroutine
// reading in returns when in does; ServeStdio does not wait for it.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, o StdioOptions) error {
	if o.Workers <= 0 {
		o.Workers = DefaultStdioWorkers
	}
	if o.Queue <= 0 {
		o.Queue = DefaultStdioQueue
	}
	c := newStdioConn(s, o)
	if err := s.mcp.RegisterSession(ctx, c.sess); err != nil {
		return fmt.Errorf("register the stdio session: %w", err)
	}
	defer s.mcp.UnregisterSession(context.WithoutCancel(ctx), c.sess.SessionID())
	// The session's context carries the key, and its scrubber for what the
	// loop itself logs; every call with that key uses the same one
	// (callScrubber, in the handler: select.go).
	c.ctx, c.cancel = context.WithCancel(withScrubber(WithAPIKey(s.mcp.WithContext(ctx, c.sess), o.Key), c.sc))
	defer c.cancel()

	c.bw = bufio.NewWriterSize(out, 64<<10)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	var workers sync.WaitGroup
	for range o.Workers {
		workers.Go(c.work)
	}
	readErr := make(chan error, 1)
	go func() { readErr <- c.readLoop(in) }()

	var err error
	select {
	case err = <-readErr:
		if errors.Is(err, io.EOF) {
			err = nil
		}
	case <-ctx.Done():
		err = ctx.Err()
	case <-c.writeFailed:
		err = c.writeErr
	}
	// Drop what never started, then cancel everything in flight, and give
	// the handlers a moment to return their (cancelled) results. In this
	// order, a worker whose call the cancel ends finds the queue closed and
	// can never start a queued request on its way out.
	c.closeQueue()
	c.cancel()
	grace := time.NewTimer(stdioShutdownGrace)
	defer grace.Stop()
	workersDone := make(chan struct{})
	go func() { workers.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
		close(c.drain)
		select {
		case <-writerDone:
		case <-grace.C:
		}
	case <-grace.C:
		s.log.WarnContext(c.ctx, "stdio: handlers still running after shutdown; exiting anyway")
	}
	return err
}

// stdioCall is one request that runs on the pool.
type stdioCall struct {
	key    string // idKey of its id
	id     json.RawMessage
	method string
	msg    []byte
	ctx    context.Context
	cancel context.CancelFunc
	// Guarded by stdioConn.mu.
	started, cancelled bool
}

type stdioConn struct {
	s    *Server
	o    StdioOptions
	sess *stdioSession
	// sc is the key's scrubber: the writer checks every line with it, so
	// nothing the loop writes to stdout carries the key, whatever built it.
	sc *Scrubber

	ctx    context.Context // the session's; cancelled at shutdown
	cancel context.CancelFunc

	out         chan []byte // encoded lines, for the writer goroutine
	notes       chan mcp.JSONRPCNotification
	drain       chan struct{} // closed at shutdown: write what is queued, then stop
	writeFailed chan struct{}
	failOnce    sync.Once
	writeErr    error

	// wmu guards bw, the one buffered writer on stdout. The counts tell a
	// worker holding wmu that it may write its response itself: lines
	// queued for the writer goroutine and not yet written, and
	// notifications sent (counted when mcp-go asks for the channel,
	// before it sends) against those written (counted under wmu).
	wmu          sync.Mutex
	bw           *bufio.Writer
	queued       atomic.Int64
	notesSent    atomic.Int64
	notesWritten atomic.Int64

	mu      sync.Mutex
	cond    *sync.Cond // signals queue changes
	queue   []*stdioCall
	idle    int // workers waiting in next for a request
	closed  bool
	calls   map[string]*stdioCall      // queued or running, by idKey
	pending map[string]chan stdioReply // server→client requests, by idKey
	nextID  atomic.Int64
}

// stdioReply is a client's response to a server→client request.
type stdioReply struct {
	result json.RawMessage
	err    *mcp.JSONRPCErrorDetails
}

var stdioSessions atomic.Int64

func newStdioConn(s *Server, o StdioOptions) *stdioConn {
	c := &stdioConn{
		s: s, o: o, sc: NewScrubber(o.Key),
		out:         make(chan []byte, o.Workers+64),
		notes:       make(chan mcp.JSONRPCNotification, stdioNotificationBuffer),
		drain:       make(chan struct{}),
		writeFailed: make(chan struct{}),
		calls:       map[string]*stdioCall{},
		pending:     map[string]chan stdioReply{},
	}
	c.cond = sync.NewCond(&c.mu)
	c.sess = &stdioSession{conn: c, id: "stdio-" + strconv.FormatInt(stdioSessions.Add(1), 10)}
	return c
}

// ---------------------------------------------------------------------------
// Reading

func (c *stdioConn) readLoop(in io.Reader) error {
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if c.ctx.Err() != nil {
			return c.ctx.Err()
		}
		if len(line) > 0 {
			c.handleLine(line)
		}
		if err != nil {
			return err
		}
	}
}

// inlineMethods are cheap requests answered on the reading goroutine: they
// never wait for the pool (a ping must be answered while every worker is
// busy) and keep their order relative to later lines.
var inlineMethods = map[string]bool{
	string(mcp.MethodInitialize):    true,
	string(mcp.MethodPing):          true,
	string(mcp.MethodToolsList):     true,
	string(mcp.MethodSetLogLevel):   true,
	string(mcp.MethodResourcesList): true,
	string(mcp.MethodPromptsList):   true,
}

func (c *stdioConn) handleLine(line []byte) {
	top, me := checkMessage(line)
	if me != nil {
		c.send(me.Response())
		return
	}
	rawMethod, hasMethod := top["method"]
	method, _ := stringValue(rawMethod)
	id, hasID := top["id"]
	switch {
	case top == nil || hasMethod && method == "":
		// Not a JSON object, or a method that is not a string: mcp-go
		// answers its own parse or validation error (cheaply).
		c.inline(id, line)
	case !hasMethod:
		// A response to a server→client request (the strict check saw a
		// result or an error).
		c.deliver(id, top)
	case method == string(mcp.MethodNotificationCancelled):
		var p struct {
			RequestID json.RawMessage `json:"requestId"`
		}
		json.Unmarshal(top["params"], &p)
		c.cancelRequest(p.RequestID)
	case !hasID || inlineMethods[method]:
		c.inline(id, line)
	default:
		c.enqueue(id, method, line)
	}
}

// inline handles a message on the reading goroutine.
func (c *stdioConn) inline(id json.RawMessage, line []byte) {
	if resp := c.handle(c.ctx, id, line); resp != nil {
		c.send(resp)
	}
}

// handle runs one message through mcp-go and encodes its response (nil for
// notifications). A panic in mcp-go becomes an internal error response.
func (c *stdioConn) handle(ctx context.Context, id json.RawMessage, msg []byte) (line []byte) {
	defer func() {
		if v := recover(); v != nil {
			c.s.log.ErrorContext(c.ctx, "panic handling a stdio message", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if len(id) > 0 {
				line = rpcError(id, mcp.INTERNAL_ERROR, "internal error in miosa-mcp (a bug); the server is still running")
			}
		}
	}()
	resp := c.s.mcp.HandleMessage(ctx, msg)
	if resp == nil {
		return nil
	}
	b, err := encodeResponse(resp)
	if err != nil {
		c.s.log.ErrorContext(c.ctx, "encoding a stdio response failed", "error", err)
		if len(id) > 0 {
			return rpcError(id, mcp.INTERNAL_ERROR, "the response could not be encoded")
		}
		return nil
	}
	return b
}

// encodeResponse is json.Marshal(resp), with a tool call's response
// assembled from its id's and its result's own encodings, the bytes
// json.Marshal would write (TestEncodeResponse, FuzzEncodeResponse):
//   - encoding/json would check and copy the result's encoding again (3 %
//     of a stdio call's CPU, BENCH_PROFILE);
//   - mcp-go's CallToolResult.MarshalJSON builds a map of its members and
//     encodes that, sorting the keys; toolResultWire encodes the same
//     members as a struct in that order, without the map (the result's
//     encoding took 4.6 % of a stdio call's CPU, and the id's, a number
//     json.Marshal'd as an interface, 1.2 %).
func encodeResponse(resp mcp.JSONRPCMessage) ([]byte, error) {
	r, ok := resp.(mcp.JSONRPCResponse)
	if !ok || r.JSONRPC != mcp.JSONRPC_VERSION {
		return json.Marshal(resp)
	}
	res, ok := r.Result.(*mcp.CallToolResult)
	if !ok || res == nil {
		return json.Marshal(resp)
	}
	result, err := json.Marshal(newToolResultWire(res))
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(result)+len(`{"jsonrpc":"2.0","id":,"result":}`)+20)
	b = append(b, `{"jsonrpc":"`+mcp.JSONRPC_VERSION+`","id":`...)
	if b, err = appendID(b, r.ID); err != nil {
		return nil, err
	}
	b = append(b, `,"result":`...)
	b = append(b, result...)
	return append(b, '}'), nil
}

// appendID appends id as json.Marshal spells it. HandleMessage answers
// with the id as encoding/json decoded it into an interface: a float64,
// which the strict check keeps integral and below 2^53, and which
// encoding/json spells as strconv's 'f' format below 1e21.
func appendID(b []byte, id mcp.RequestId) ([]byte, error) {
	switch n := id.Value().(type) {
	case int64:
		return strconv.AppendInt(b, n, 10), nil
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1e21 {
			return strconv.AppendFloat(b, n, 'f', -1, 64), nil
		}
	}
	enc, err := id.MarshalJSON()
	return append(b, enc...), err
}

// toolResultWire holds the members mcp-go's CallToolResult.MarshalJSON
// (mcp-go v1.2.1) writes, in the order its map's sorted keys put them,
// each omitted when it omits it. TestToolResultWireKnowsEveryMember fails
// when mcp-go's CallToolResult gains a member this does not name.
type toolResultWire struct {
	Meta              *mcp.Meta         `json:"_meta,omitempty"`
	Content           []mcp.Content     `json:"content"`
	InputRequests     mcp.InputRequests `json:"inputRequests,omitempty"`
	IsError           bool              `json:"isError,omitempty"`
	RequestState      string            `json:"requestState,omitempty"`
	ResultType        mcp.ResultType    `json:"resultType,omitempty"`
	StructuredContent any               `json:"structuredContent,omitempty"`
}

func newToolResultWire(r *mcp.CallToolResult) toolResultWire {
	w := toolResultWire{
		Meta: r.Meta, Content: r.Content, InputRequests: r.InputRequests, IsError: r.IsError,
		RequestState: r.RequestState, ResultType: r.ResultType, StructuredContent: r.StructuredContent,
	}
	if w.Content == nil {
		w.Content = []mcp.Content{} // mcp-go writes [] for no content
	}
	if len(r.RawStructuredContent) > 0 {
		w.StructuredContent = r.RawStructuredContent
	}
	return w
}

func rpcError(id json.RawMessage, code int, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": code, "message": msg}})
	return b
}

// busyResult refuses a tools/call when the queue is full: an isError result
// reaches the model, which can retry, where a protocol error would look to
// many clients like a broken server.
func busyResult(id json.RawMessage, text string) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": mcp.NewToolResultError(text)})
	return b
}

// idKey is a request id's identity: its JSON type and value, so that 7 and
// "7" (or "\u0037") are different ids and 7 is one id however it is spelt.
// CheckMessage admits only string and integer ids.
func idKey(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	if raw[0] == '"' {
		s, ok := stringValue(raw)
		if !ok {
			return "", false
		}
		return "s:" + s, true
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return "", false
	}
	return "n:" + strconv.FormatInt(n, 10), true
}

// ---------------------------------------------------------------------------
// The pool

func (c *stdioConn) enqueue(id json.RawMessage, method string, line []byte) {
	key, ok := idKey(id)
	if !ok {
		c.inline(id, line) // mcp-go answers the bad id
		return
	}
	call := &stdioCall{key: key, id: id, method: method, msg: line}
	c.mu.Lock()
	var refuse []byte
	switch {
	case c.closed:
	case c.calls[key] != nil:
		refuse = rpcError(id, codeInvalidRequest, fmt.Sprintf("Invalid Request: the id %s is already used by a request in flight", clip(string(id), clipBytes)))
	case len(c.queue)-c.idle >= c.o.Queue:
		// Queued requests an idle worker is about to take are not
		// waiting: a burst of Workers+Queue requests is all accepted.
		c.s.obs.Busy(ModeStdio)
		msg := fmt.Sprintf("miosa-mcp is busy: %d requests are running and %d are waiting, the most it queues over stdio. Retry when some have finished.", c.o.Workers, c.o.Queue)
		if method == string(mcp.MethodToolsCall) {
			refuse = busyResult(id, msg)
		} else {
			refuse = rpcError(id, codeServerBusy, msg)
		}
	default:
		call.ctx, call.cancel = context.WithCancel(c.ctx)
		c.calls[key] = call
		c.queue = append(c.queue, call)
		c.cond.Signal()
	}
	c.mu.Unlock()
	if refuse != nil {
		c.send(refuse)
	}
}

// cancelRequest handles notifications/cancelled: a queued request is
// removed and never starts, a running one has its context cancelled, and
// neither is answered.
func (c *stdioConn) cancelRequest(id json.RawMessage) {
	key, ok := idKey(id)
	if !ok {
		return
	}
	c.mu.Lock()
	call := c.calls[key]
	if call != nil {
		delete(c.calls, key)
		call.cancelled = true
		if !call.started {
			for i, q := range c.queue {
				if q == call {
					c.queue = append(c.queue[:i], c.queue[i+1:]...)
					break
				}
			}
		}
	}
	c.mu.Unlock()
	if call != nil {
		call.cancel()
	}
}

func (c *stdioConn) closeQueue() {
	c.mu.Lock()
	c.closed = true
	for _, call := range c.queue {
		call.cancel()
	}
	c.queue = nil
	c.cond.Broadcast()
	c.mu.Unlock()
}

// next waits for a queued request and marks it started; nil at shutdown.
func (c *stdioConn) next() *stdioCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle++
	for len(c.queue) == 0 && !c.closed {
		c.cond.Wait()
	}
	c.idle--
	if c.closed {
		return nil
	}
	call := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	call.started = true
	return call
}

func (c *stdioConn) work() {
	for {
		call := c.next()
		if call == nil {
			return
		}
		ctx, scope := withCallScope(call.ctx)
		resp := c.handle(ctx, call.id, call.msg)
		c.mu.Lock()
		cancelled := call.cancelled
		if c.calls[call.key] == call {
			delete(c.calls, call.key)
		}
		c.mu.Unlock()
		call.cancel()
		if resp != nil && !cancelled {
			c.sendResponse(resp)
		}
		scope.done() // the response is written or handed to the writer
	}
}

// ---------------------------------------------------------------------------
// Writing

// send queues one encoded line for the writer. Once shutdown began it
// never waits: the line is dropped when there is no room.
func (c *stdioConn) send(line []byte) {
	c.queued.Add(1)
	select {
	case c.out <- line:
		return
	case <-c.writeFailed:
	case <-c.ctx.Done():
		// Shutting down: the writer still drains what is queued, but a
		// sender must not wait for room.
		select {
		case c.out <- line:
			return
		default:
		}
	}
	c.queued.Add(-1)
}

// sendResponse is how a worker sends its response: written at once on
// this goroutine when that keeps the order (nothing queued for the writer
// goroutine, every notification sent so far written: the call's own were
// sent before its response, so they are among them) and no one else is
// writing; else queued like any line. The reading goroutine never writes
// itself, so a blocked stdout never stops it from taking cancellations.
func (c *stdioConn) sendResponse(line []byte) {
	if c.ctx.Err() == nil && c.queued.Load() == 0 && c.wmu.TryLock() {
		if c.queued.Load() == 0 && c.notesSent.Load() == c.notesWritten.Load() {
			if c.write(line) {
				c.flush()
			}
			c.wmu.Unlock()
			return
		}
		c.wmu.Unlock()
	}
	c.send(line)
}

// write writes one line to bw; the caller holds wmu. false: stdout failed.
func (c *stdioConn) write(b []byte) bool {
	if c.sc.ContainsBytes(b) {
		b = c.sc.JSON(b) // results are scrubbed already: this is the backstop
	}
	if _, err := c.bw.Write(b); err != nil {
		c.fail(err)
		return false
	}
	if err := c.bw.WriteByte('\n'); err != nil {
		c.fail(err)
		return false
	}
	return true
}

// writeNote writes one notification; the caller holds wmu.
func (c *stdioConn) writeNote(n mcp.JSONRPCNotification) bool {
	defer c.notesWritten.Add(1)
	b, err := json.Marshal(n)
	return err != nil || c.write(b)
}

// writeLine writes a line taken from out; the caller holds wmu.
func (c *stdioConn) writeLine(b []byte) bool {
	defer c.queued.Add(-1)
	return c.write(b)
}

// notesFirst writes the notifications already sent, so a handler's
// notifications precede its response; the caller holds wmu.
func (c *stdioConn) notesFirst() bool {
	for {
		select {
		case n := <-c.notes:
			if !c.writeNote(n) {
				return false
			}
		default:
			return true
		}
	}
}

// writeLoop is the writer goroutine: it writes the lines queued on out
// and every notification, flushing when nothing more is waiting.
func (c *stdioConn) writeLoop() {
	for {
		var ok bool
		select {
		case line := <-c.out:
			c.wmu.Lock()
			ok = c.notesFirst() && c.writeLine(line)
		case n := <-c.notes:
			c.wmu.Lock()
			ok = c.writeNote(n)
		case <-c.drain:
			c.wmu.Lock()
			defer c.wmu.Unlock()
			for len(c.out) > 0 { // this goroutine is the only receiver
				if !c.notesFirst() || !c.writeLine(<-c.out) {
					return
				}
			}
			if c.notesFirst() {
				c.flush()
			}
			return
		case <-c.writeFailed:
			return
		}
		if ok && len(c.out) == 0 && len(c.notes) == 0 {
			ok = c.flush()
		}
		c.wmu.Unlock()
		if !ok {
			return
		}
	}
}

// flush flushes bw; the caller holds wmu.
func (c *stdioConn) flush() bool {
	if err := c.bw.Flush(); err != nil {
		c.fail(err)
		return false
	}
	return true
}

func (c *stdioConn) fail(err error) {
	c.failOnce.Do(func() {
		c.writeErr = fmt.Errorf("writing to stdout: %w", err)
		close(c.writeFailed)
	})
}

// ---------------------------------------------------------------------------
// Server→client requests

// request sends a request to the client and waits for its response.
func (c *stdioConn) request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	n := c.nextID.Add(1)
	key := "n:" + strconv.FormatInt(n, 10)
	ch := make(chan stdioReply, 1)
	c.mu.Lock()
	c.pending[key] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, key)
		c.mu.Unlock()
	}()
	msg := map[string]any{"jsonrpc": "2.0", "id": n, "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	c.send(b)
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("the client answered %s with error %d: %s", method, r.err.Code, r.err.Message)
		}
		return r.result, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.ctx.Done():
		return nil, errors.New("the stdio session ended")
	}
}

// deliver routes a client's response to the request waiting for it; a
// response nobody waits for is dropped.
func (c *stdioConn) deliver(id json.RawMessage, top map[string]json.RawMessage) {
	key, ok := idKey(id)
	c.mu.Lock()
	ch := c.pending[key]
	c.mu.Unlock()
	if !ok || ch == nil {
		c.s.log.DebugContext(c.ctx, "stdio: dropped a response to no pending request", "id", clip(string(id), clipBytes))
		return
	}
	var r stdioReply
	if e, ok := top["error"]; ok {
		r.err = &mcp.JSONRPCErrorDetails{}
		if json.Unmarshal(e, r.err) != nil {
			r.err.Message = "malformed error"
		}
	} else {
		r.result = top["result"]
	}
	select {
	case ch <- r:
	default: // a duplicate response
	}
}

// ---------------------------------------------------------------------------
// The session mcp-go sees

type stdioSession struct {
	conn        *stdioConn
	id          string
	initialized atomic.Bool
	level       atomic.Value // mcp.LoggingLevel

	mu      sync.RWMutex
	info    mcp.Implementation
	caps    mcp.ClientCapabilities
	version string

	roots rootsCache // the client's roots between calls (local_roots.go)
	// resources is the session's resource context: the current resource
	// of each kind (bind.go). Only stdio keeps one.
	resources resourceMemory
}

func (ss *stdioSession) rootsCache() *rootsCache { return &ss.roots }

func (ss *stdioSession) resourceMemory() *resourceMemory { return &ss.resources }

var (
	_ server.ClientSession              = (*stdioSession)(nil)
	_ server.SessionWithLogging         = (*stdioSession)(nil)
	_ server.SessionWithClientInfo      = (*stdioSession)(nil)
	_ server.SessionWithProtocolVersion = (*stdioSession)(nil)
	_ server.SessionWithRoots           = (*stdioSession)(nil)
	_ server.SessionWithElicitation     = (*stdioSession)(nil)
)

func (ss *stdioSession) SessionID() string { return ss.id }

// NotificationChannel is where mcp-go sends a notification; it asks for
// the channel for each one it sends, so counting here counts them before
// they are sent (stdioConn.sendResponse). A notification mcp-go drops
// because the channel is full stays counted as unwritten, which only
// sends every later response through the writer goroutine.
func (ss *stdioSession) NotificationChannel() chan<- mcp.JSONRPCNotification {
	ss.conn.notesSent.Add(1)
	return ss.conn.notes
}

func (ss *stdioSession) Initialize() {
	if ss.level.Load() == nil {
		ss.level.Store(mcp.LoggingLevelError)
	}
	ss.initialized.Store(true)
}

func (ss *stdioSession) Initialized() bool { return ss.initialized.Load() }

func (ss *stdioSession) SetLogLevel(l mcp.LoggingLevel) { ss.level.Store(l) }

func (ss *stdioSession) GetLogLevel() mcp.LoggingLevel {
	if l, ok := ss.level.Load().(mcp.LoggingLevel); ok {
		return l
	}
	return mcp.LoggingLevelError
}

func (ss *stdioSession) GetClientInfo() mcp.Implementation {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	return ss.info
}

func (ss *stdioSession) SetClientInfo(i mcp.Implementation) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.info = i
}

func (ss *stdioSession) GetClientCapabilities() mcp.ClientCapabilities {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	return ss.caps
}

func (ss *stdioSession) SetClientCapabilities(c mcp.ClientCapabilities) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.caps = c
}

// ProtocolVersion is the version negotiated by initialize.
func (ss *stdioSession) ProtocolVersion() string {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	return ss.version
}

// SetProtocolVersion is called by mcp-go's initialize handler.
func (ss *stdioSession) SetProtocolVersion(v string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.version = v
}

// ListRoots asks the client for its roots (MCP roots/list).
func (ss *stdioSession) ListRoots(ctx context.Context, _ mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	raw, err := ss.conn.request(ctx, string(mcp.MethodListRoots), nil)
	if err != nil {
		return nil, err
	}
	var res mcp.ListRootsResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("the client's roots/list result is malformed: %w", err)
	}
	return &res, nil
}

// RequestElicitation asks the client for input (MCP elicitation/create).
func (ss *stdioSession) RequestElicitation(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	raw, err := ss.conn.request(ctx, string(mcp.MethodElicitationCreate), req.Params)
	if err != nil {
		return nil, err
	}
	var res mcp.ElicitationResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("the client's elicitation result is malformed: %w", err)
	}
	return &res, nil
}
