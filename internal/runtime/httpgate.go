package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/sync/semaphore"
)

// The HTTP gate is two layers of the chain (http.go): readMessage reads a
// POST body once, under every limit, before mcp-go sees it, and route acts
// on what it parsed (issue #10):
//   - a request without a usable key may carry at most KeylessBodyBytes
//     (initialize, ping and tools/list are small), so a keyless 5 MiB body
//     is refused before it is read or parsed;
//   - bodies larger than freeBodyBytes take their size from a server-wide
//     budget of body bytes in flight (MaxInflightBodyBytes) and wait for it
//     a bounded time, so a burst of large uploads is processed a few at a
//     time instead of all at once;
//   - the strict JSON-RPC check runs on the bytes read;
//   - notifications/cancelled is answered 202 and never forwarded: in
//     stateless mode a POST is its own exchange, so a cancel in another POST
//     can only target other callers' requests (mcp-go keys in-flight
//     requests by session id, "" for every stateless caller, plus request
//     id). A caller cancels its own call by closing the connection, which
//     cancels the request's context;
//   - a tools/call without a key is answered 401;
//   - tool calls run at most MaxConcurrentCalls at a time, with at most
//     MaxQueuedCalls more waiting; beyond that the call is answered at once
//     with an isError result saying the server is busy.

const (
	// KeylessBodyBytes caps the body of a request without a usable
	// Authorization header.
	KeylessBodyBytes = 64 << 10
	// freeBodyBytes: bodies up to this size do not take from the budget.
	freeBodyBytes = 64 << 10
	// defaultBodyWait is how long a large body waits for room in the
	// budget before it is refused with 503 (HTTPOptions.BodyWait); its
	// bytes wait in the connection meanwhile, not in memory.
	defaultBodyWait = 30 * time.Second

	// DefaultMaxInflightBodyBytes is the default budget of request-body
	// bytes in flight server-wide: one body at the 5 MiB size limit, or a
	// few smaller ones, at a time. Each byte of a body costs about seven
	// more while it is parsed, validated and re-encoded for the API (a
	// 5 MiB sandbox_write_file holds some 35 MB), so this budget, not the
	// connection count, bounds what large uploads take (RELIABILITY.md).
	DefaultMaxInflightBodyBytes = 8 << 20
	// DefaultMaxConcurrentCalls is how many tool calls run at once over
	// HTTP; DefaultMaxQueuedCalls more may wait for a slot.
	DefaultMaxConcurrentCalls = 64
	DefaultMaxQueuedCalls     = 256
)

// gate is the per-handler state of the limits.
type gate struct {
	s          *Server
	maxBody    int64
	bodies     *semaphore.Weighted
	bodyBudget int64
	bodyWait   time.Duration
	calls      *semaphore.Weighted
	maxCalls   int
	maxQueued  int64
	queued     atomic.Int64
}

func (s *Server) newGate(o HTTPOptions) *gate {
	return &gate{
		s: s, maxBody: o.MaxBodyBytes,
		bodies: semaphore.NewWeighted(o.MaxInflightBodyBytes), bodyBudget: o.MaxInflightBodyBytes, bodyWait: o.BodyWait,
		calls: semaphore.NewWeighted(int64(o.MaxConcurrentCalls)), maxCalls: o.MaxConcurrentCalls,
		maxQueued: int64(o.MaxQueuedCalls),
	}
}

// readMessage reads the body once, under the keyless and in-flight limits,
// runs the strict JSON-RPC check on it, and parses what the layers after it
// need (the method, the id, a tool call's tool) into the request's state;
// the next layers see the same bytes as the body.
func (g *gate) readMessage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := callState(r)
		keyless := st.keyErr != nil
		limit := g.maxBody
		keylessLimit := keyless && KeylessBodyBytes < limit
		if keylessLimit {
			limit = KeylessBodyBytes
		}
		tooLarge := func() {
			if keylessLimit {
				writeUnauthorized(w, nil, st, st.keyErr.Error()+fmt.Sprintf(" (a request without an API key may carry at most %d bytes)", limit))
				return
			}
			writeJSONRPCError(w, http.StatusRequestEntityTooLarge, nil, fmt.Sprintf("request body exceeds %d bytes", limit))
		}
		if r.ContentLength > limit {
			tooLarge()
			return
		}
		body, release, err := g.readBody(w, r, limit)
		defer release()
		if err != nil {
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe): // a chunked body longer than the limit
				tooLarge()
			case errors.Is(err, errBodyBudget):
				w.Header().Set("Retry-After", "1")
				writeJSONRPCError(w, http.StatusServiceUnavailable, nil, fmt.Sprintf("the server is busy: other requests hold its %d-byte budget for request bodies in flight; retry shortly", g.bodyBudget))
			default:
				writeJSONRPCError(w, http.StatusBadRequest, nil, "could not read the request body")
			}
			return
		}
		top, me := checkMessage(body)
		if me != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write(me.Response())
			return
		}
		json.Unmarshal(top["method"], &st.msg.method)
		if st.msg.method == string(mcp.MethodToolsCall) {
			st.msg.id = top["id"]
			var p struct {
				Name string          `json:"name"`
				Meta json.RawMessage `json:"_meta"`
			}
			json.Unmarshal(top["params"], &p)
			st.msg.tool, st.msg.meta, st.msg.raw = p.Name, p.Meta != nil, body
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// route acts on the message readMessage parsed: a separate cancel is
// answered 202 and never forwarded, a tools/call needs a usable key (or a
// keyless tool) and a call slot, and its response writer counts the
// notifications written before it (notify.go).
func (g *gate) route(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := callState(r)
		switch st.msg.method {
		case string(mcp.MethodNotificationCancelled):
			w.WriteHeader(http.StatusAccepted)
			return
		case string(mcp.MethodToolsCall):
			if st.keyErr != nil && !g.s.keyless[st.msg.tool] {
				writeUnauthorized(w, st.msg.id, st, st.keyErr.Error())
				return
			}
			if len(st.msg.id) > 0 {
				done, ok := g.callSlot(r.Context())
				if !ok {
					g.s.obs.Busy(ModeHTTP)
					writeBusyResult(w, st.msg.id, fmt.Sprintf("miosa-mcp is busy: %d tool calls are running and %d are waiting, the most this server takes at once. Retry in a few seconds.", g.maxCalls, g.maxQueued))
					return
				}
				defer done()
			}
			// What the call holds of the answer budget is given back once
			// its response is written.
			ctx, scope := withCallScope(r.Context())
			defer scope.done()
			// The call's notifications are written before its response
			// (notify.go).
			ctx, w = countWrites(ctx, w)
			r = r.WithContext(ctx)
			if g.direct(r, st) {
				g.answer(w, r, st)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// direct reports whether route answers a tools/call itself instead of
// mcp-go's StreamableHTTPServer: a call of a catalog tool, with an id, in
// the protocol versions that have a handshake, without _meta (no progress
// token, so the call sends no notification and its answer is one JSON
// object), and with nothing the transport would refuse or act on (a media
// type other than application/json, a session, a stream to resume). For
// such a request StreamableHTTPServer only builds a per-request session
// (a 100-slot notification channel and a forwarding goroutine) and decodes
// the body once more before it calls HandleMessage, which was 43 % of the
// bytes an HTTP call allocated (BENCHMARKS.md, "Memory under the
// 64-client load"). Everything else still goes through it.
func (g *gate) direct(r *http.Request, st *httpCallState) bool {
	if len(st.msg.id) == 0 || st.msg.meta || g.s.tools[st.msg.tool] == nil {
		return false
	}
	h := r.Header
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		return false
	}
	if v := h.Get(mcp.HeaderProtocolVersion); v != "" && (!mcp.IsValidProtocolVersion(v) || mcp.IsModernProtocol(v)) {
		return false
	}
	return h.Get(server.HeaderKeySessionID) == "" && h.Get(mcp.HeaderLastEventID) == ""
}

// answer serves a direct call: HandleMessage with the context the
// transport would give it (requestContext), the answer written as
// StreamableHTTPServer writes a JSON one (application/json, 200, one
// json.Encoder line: json.Marshal's bytes and a newline, which
// encodeResponse gives without mcp-go's map of the result's members).
func (g *gate) answer(w http.ResponseWriter, r *http.Request, st *httpCallState) {
	res := g.s.mcp.HandleMessage(requestContext(r.Context(), r), st.msg.raw)
	b, err := encodeResponse(res)
	if err != nil {
		g.s.log.ErrorContext(r.Context(), "encoding a tool call's answer failed", "error", err)
		http.Error(w, "the response could not be encoded", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(append(b, '\n')); err != nil {
		g.s.log.DebugContext(r.Context(), "writing a tool call's answer", "error", err)
	}
}

var errBodyBudget = errors.New("request body budget exhausted")

// readBody reads the body under limit. Past freeBodyBytes it takes the
// body's size (its Content-Length, or limit when unknown) from the budget
// before reading further, and gives back what it did not use; release
// returns the rest when the request is done.
func (g *gate) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, func(), error) {
	nothing := func() {}
	rd := http.MaxBytesReader(w, r.Body, limit)
	size := r.ContentLength
	if size < 0 || size > freeBodyBytes {
		size = -1
	}
	first := make([]byte, 0, max(size, 512))
	buf := bytes.NewBuffer(first)
	n, err := buf.ReadFrom(io.LimitReader(rd, freeBodyBytes+1))
	if err != nil {
		return nil, nothing, err
	}
	if n <= freeBodyBytes {
		return buf.Bytes(), nothing, nil
	}
	want := limit
	if r.ContentLength > 0 {
		want = r.ContentLength
	}
	want = min(want, g.bodyBudget)
	ctx, cancel := context.WithTimeout(r.Context(), g.bodyWait)
	defer cancel()
	if err := g.bodies.Acquire(ctx, want); err != nil {
		return nil, nothing, errBodyBudget
	}
	held := want
	release := func() { g.bodies.Release(held) }
	full := bytes.NewBuffer(make([]byte, 0, want))
	full.Write(buf.Bytes())
	if _, err := full.ReadFrom(rd); err != nil {
		return nil, release, err
	}
	if used := int64(full.Len()); used < held {
		g.bodies.Release(held - used)
		held = used
	}
	return full.Bytes(), release, nil
}

// callSlot waits for one of the concurrent-call slots; false when the queue
// in front of them is full or the caller went away.
func (g *gate) callSlot(ctx context.Context) (func(), bool) {
	if g.calls.TryAcquire(1) {
		return func() { g.calls.Release(1) }, true
	}
	if g.queued.Add(1) > g.maxQueued {
		g.queued.Add(-1)
		return nil, false
	}
	err := g.calls.Acquire(ctx, 1)
	g.queued.Add(-1)
	if err != nil {
		return nil, false
	}
	return func() { g.calls.Release(1) }, true
}

// writeBusyResult answers a tools/call with an isError result: the model
// reads it and can retry, where an HTTP 503 looks to many clients like a
// broken server.
func writeBusyResult(w http.ResponseWriter, id json.RawMessage, text string) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": mcp.NewToolResultError(text)})
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// writeUnauthorized answers 401 with an RFC 6750 Bearer challenge built from
// why the caller's Authorization header is unusable (st.keyErr), so clients
// tell the person to send a key instead of starting an OAuth discovery.
func writeUnauthorized(w http.ResponseWriter, id json.RawMessage, st *httpCallState, msg string) {
	w.Header().Set("WWW-Authenticate", BearerChallenge(st.keyErr))
	writeJSONRPCError(w, http.StatusUnauthorized, id, msg)
}
