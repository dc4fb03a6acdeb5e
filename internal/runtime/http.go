package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// HTTPOptions configure the streamable HTTP transport.
type HTTPOptions struct {
	// AllowedOrigins are the browser origins accepted in addition to
	// loopback origins (http://localhost:*, http://127.0.0.1:*, http://[::1]:*).
	// A request with any other Origin header gets 403 (MCP 2025-11-25).
	// Requests without Origin (editors, CLIs) are not affected.
	AllowedOrigins []string
	// MaxBodyBytes caps a request body (default DefaultMaxBodyBytes);
	// larger bodies get 413.
	MaxBodyBytes int64
	// MaxInflightBodyBytes is the server-wide budget of request-body bytes
	// being processed (DefaultMaxInflightBodyBytes, at least MaxBodyBytes).
	MaxInflightBodyBytes int64
	// BodyWait is how long a large body waits for room in that budget
	// before it is refused with 503 (default 30 s).
	BodyWait time.Duration
	// MaxConcurrentCalls and MaxQueuedCalls bound the tool calls running
	// and waiting (DefaultMaxConcurrentCalls, DefaultMaxQueuedCalls).
	MaxConcurrentCalls, MaxQueuedCalls int
	// Catalog, Toolsets and Profiles let X-MCP-* headers name any catalog
	// tool; names outside the server's enabled set simply stay disabled.
	Catalog  []Tool
	Toolsets []ToolsetInfo
	Profiles []Profile
	// Ready reports readiness for /readyz (nil: always ready).
	Ready func() error
}

// MCPPaths are where the endpoint answers: /mcp, and the hosted endpoint's
// path so clients switch between hosted and self-hosted by changing the host.
var MCPPaths = []string{"/mcp", "/api/v1/mcp"}

// HTTPHandler returns the HTTP transport: a stateless streamable-HTTP MCP
// endpoint behind the chain of layers listed in it, plus the health,
// readiness and OAuth discovery paths. The Server must have been built
// with Mode: ModeHTTP.
func (s *Server) HTTPHandler(o HTTPOptions) http.Handler {
	if s.mode != ModeHTTP {
		// An HTTP server narrows tools per request and flushes each call's
		// notifications before its response; only ModeHTTP sets those up
		// (NewServer).
		panic("runtime: HTTPHandler needs a Server built with Mode: ModeHTTP")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxInflightBodyBytes <= 0 {
		o.MaxInflightBodyBytes = DefaultMaxInflightBodyBytes
	}
	o.MaxInflightBodyBytes = max(o.MaxInflightBodyBytes, o.MaxBodyBytes)
	if o.BodyWait <= 0 {
		o.BodyWait = defaultBodyWait
	}
	if o.MaxConcurrentCalls <= 0 {
		o.MaxConcurrentCalls = DefaultMaxConcurrentCalls
	}
	if o.MaxQueuedCalls <= 0 {
		o.MaxQueuedCalls = DefaultMaxQueuedCalls
	}
	streamable := server.NewStreamableHTTPServer(s.mcp,
		server.WithStateLess(true),
		// A GET stream would receive other stateless callers' notifications
		// (mcp-go v1.2.1 registers every stateless session under ""), so
		// streaming is off: GET answers 405, which the spec allows.
		server.WithDisableStreaming(true),
		// A store (that keeps nothing) makes mcp-go wait for its notification
		// forwarder, so the last progress notification is not dropped.
		server.WithEventStore(discardEventStore{}),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			return requestContext(ctx, r)
		}),
		server.WithStreamableHTTPLogger(s.log),
	)
	g := s.newGate(o)
	// The layers, outermost first, each with the reason for its place. The
	// request's body is read and parsed once (readMessage); what was learnt
	// travels in the request's context to the layers after it.
	endpoint := chain(streamable,
		s.recoverer, // first: a panic in any layer below is a 500 and a log line, not a dead server
		checkHost,   // a DNS-rebinding request is refused before anything reads it, whatever it asks for (mcp-go's own Host check stays on)
		checkOrigin(o.AllowedOrigins, s.fail.settings.AllowedOrigins), // a foreign or repeated Origin is refused for every method, from headers alone
		onlyPost,          // every other method gets 405 (stateless: no GET stream, no session), before a key is parsed or a body read
		s.authenticate(o), // the key and narrowing headers, headers only: readMessage knows a keyless caller before it reads the body
		g.readMessage,     // the body, read once under the keyless and in-flight limits, strict-checked, parsed into the context
		g.route,           // by the parsed method: a cancel is answered 202, a keyless tools/call 401, tool calls are bounded
	)
	mux := http.NewServeMux()
	for _, p := range MCPPaths {
		mux.Handle(p, endpoint)
	}
	for _, p := range oauthPaths {
		mux.HandleFunc(p, noOAuth(s.fail.settings.NoOAuth))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if o.Ready != nil {
			if err := o.Ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "reason": err.Error()})
				return
			}
		}
		io.WriteString(w, `{"status":"ready"}`)
	})
	return mux
}

// middleware is one layer of the HTTP chain.
type middleware func(http.Handler) http.Handler

// chain wraps h in the layers, the first outermost.
func chain(h http.Handler, layers ...middleware) http.Handler {
	for i := len(layers) - 1; i >= 0; i-- {
		h = layers[i](h)
	}
	return h
}

// oauthPaths are where an MCP client looks for OAuth after a 401: protected
// resource metadata (RFC 9728, also with the endpoint's path appended),
// authorization server metadata (RFC 8414) and OpenID configuration, then
// the 2025-03-26 fallback endpoints (dynamic client registration, RFC 7591,
// authorize and token). A trailing slash matches every suffixed form.
var oauthPaths = []string{
	"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/",
	"/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/",
	"/.well-known/openid-configuration", "/.well-known/openid-configuration/",
	"/register", "/authorize", "/token",
}

// noOAuth answers an OAuth discovery or registration request 404 with an
// OAuth-style error body (RFC 6749 §5.2 fields) saying to send a key
// (Settings.NoOAuth). Claude Code stops at the failed registration and
// shows this body as the tool's error instead of a bare "404 page not
// found" (docs/http-auth.md).
func noOAuth(hint string) http.HandlerFunc {
	if hint == "" {
		hint = defaultNoOAuth
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": hint})
	}
}

type ctxHTTP struct{}

// httpCallState is what the chain learns about one request, for the layers
// after it and for the MCP call (requestContext): authenticate sets the key
// and the narrowing, readMessage the parsed message.
type httpCallState struct {
	key    APIKey
	keyErr error // why the request carries no usable key
	filter *requestFilter
	msg    rpcMessage
	header http.Header // the request's (RequestHeader)
}

// rpcMessage is what a layer needs of the JSON-RPC message, read once from
// its top-level members.
type rpcMessage struct {
	method string
	id     json.RawMessage
	tool   string // params.name of a tools/call
	meta   bool   // a tools/call's params carry _meta (progressToken, a protocol version)
	raw    []byte // the whole message, as read
}

// RequestHeader is the HTTP request's header in the context of a call it
// carries (nil outside ModeHTTP). mcp-go's transport also puts it in the
// CallToolRequest, but a call route answers itself (httpgate.go, direct)
// has it only here.
func RequestHeader(ctx context.Context) http.Header {
	if st, ok := ctx.Value(ctxHTTP{}).(*httpCallState); ok {
		return st.header
	}
	return nil
}

// callState is the request's state; authenticate, the chain's layer before
// every one that asks, always sets it.
func callState(r *http.Request) *httpCallState { return r.Context().Value(ctxHTTP{}).(*httpCallState) }

// requestContext moves what the chain learnt into the MCP request's ctx.
func requestContext(ctx context.Context, r *http.Request) context.Context {
	st := callState(r)
	if st.keyErr != nil {
		ctx = context.WithValue(ctx, keyErrKey{}, st.keyErr)
	} else {
		ctx = WithAPIKey(ctx, st.key)
	}
	if st.filter != nil {
		ctx = context.WithValue(ctx, filterKey{}, st.filter)
	}
	return ctx
}

// authenticate parses the caller's key and narrowing headers for this
// request only. initialize, ping and tools/list need no key (inspectors and
// the conformance suite connect without one); route answers a tools/call
// without a usable key 401, before anything reaches the API.
func (s *Server) authenticate(o HTTPOptions) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Two Authorization headers are refused rather than one of them
			// taken: a gateway and a client could each think theirs counts.
			if len(r.Header.Values("Authorization")) > 1 {
				writeJSONRPCError(w, http.StatusBadRequest, nil, "more than one Authorization header: send exactly one `Authorization: Bearer msk_u_…`")
				return
			}
			st := &httpCallState{header: r.Header}
			st.key, st.keyErr = ParseBearer(r.Header.Get("Authorization"))
			if q := r.URL.Query(); q.Has("api_key") || q.Has("key") || q.Has("token") {
				writeJSONRPCError(w, http.StatusBadRequest, nil, "API keys are never accepted in the URL; send `Authorization: Bearer msk_u_…`.")
				return
			}
			sels, err := SelectionsFromHeaders(r.Header)
			if err == nil && len(sels) > 0 {
				st.filter, err = s.narrow(sels, o.Catalog, o.Toolsets, o.Profiles)
			}
			if err != nil {
				writeJSONRPCError(w, http.StatusBadRequest, nil, capError(err.Error()))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxHTTP{}, st)))
		})
	}
}

func writeJSONRPCError(w http.ResponseWriter, status int, id json.RawMessage, msg string) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0", "id": id,
		"error": map[string]any{"code": -32001, "message": msg},
	})
}

// checkOrigin implements the spec's Origin rule: a present Origin that is
// neither loopback nor allow-listed gets 403. Go's CrossOriginProtection is
// not enough here: it lets GET through and trusts Origin == Host, which a
// DNS-rebinding page satisfies.
func checkOrigin(allowed []string, setting string) middleware {
	see := ""
	if setting != "" {
		see = " (see " + setting + ")"
	}
	set := map[string]bool{}
	for _, o := range allowed {
		set[strings.TrimSuffix(strings.ToLower(o), "/")] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.Header.Values("Origin")) > 1 {
				writeJSONRPCError(w, http.StatusForbidden, nil, "forbidden: more than one Origin header")
				return
			}
			origin := r.Header.Get("Origin")
			if origin != "" && !set["*"] && !set[strings.ToLower(origin)] && !isLoopbackOrigin(origin) {
				writeJSONRPCError(w, http.StatusForbidden, nil, fmt.Sprintf("forbidden: Origin %q is not allowed%s", clip(origin, 200), see))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// checkHost refuses, on a loopback listener, a Host header that does not
// name a loopback host: a page on another site that rebinds its DNS name to
// 127.0.0.1 sends its own name as Host. It runs before the method and body
// checks so that such a request is refused whatever it asks for.
func checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && local != nil {
			lh, _, _ := net.SplitHostPort(local.String())
			rh := r.Host
			if h, _, err := net.SplitHostPort(rh); err == nil {
				rh = h
			}
			if IsLoopbackHost(strings.Trim(lh, "[]")) && !IsLoopbackHost(strings.Trim(rh, "[]")) {
				writeJSONRPCError(w, http.StatusForbidden, nil, fmt.Sprintf("forbidden: Host %q is not a loopback host (DNS rebinding protection)", clip(r.Host, 200)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// onlyPost answers every method but POST with 405 and `Allow: POST`: the
// endpoint is stateless and offers no GET stream and no session to DELETE
// (MCP streamable HTTP transport, 2025-11-25).
func onlyPost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONRPCError(w, http.StatusMethodNotAllowed, nil, fmt.Sprintf("method %s is not allowed: this stateless MCP endpoint accepts POST only (no GET stream, no session to DELETE)", clip(r.Method, 20)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return IsLoopbackHost(u.Hostname())
}

// IsLoopbackHost reports whether host names this machine only.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// recoverer turns a panic in the transport into a 500 and a log line. A
// tool handler's panic never gets here: recoverTool (select.go) makes it
// an isError result.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// The panic may quote the request: scrub the log with
				// whatever the Authorization headers carry.
				var keys []APIKey
				for _, h := range r.Header.Values("Authorization") {
					for _, f := range strings.Fields(h) {
						keys = append(keys, NewAPIKey(f))
					}
				}
				ctx := withScrubber(r.Context(), NewScrubber(keys...))
				s.log.ErrorContext(ctx, "panic in HTTP handler", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeJSONRPCError(w, http.StatusInternalServerError, nil, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// discardEventStore satisfies mcp-go's EventStore and keeps nothing: the
// server is stateless and never replays streams.
type discardEventStore struct{}

func (discardEventStore) StoreEvent(context.Context, string, string, json.RawMessage) (string, error) {
	return "", nil
}

func (discardEventStore) ReplayEventsAfter(context.Context, string, string, func(string, json.RawMessage) error) (string, error) {
	return "", server.ErrUnknownEventID
}

func (discardEventStore) PurgeSession(context.Context, string) error { return nil }
