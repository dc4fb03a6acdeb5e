package runtime

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/time/rate"
)

// handler serves one catalog tool. A call runs these stages in order, each
// in the file named for it; the first that fails ends the call, and
// failures (errors.go) words its error as the result:
//
//	select   (select.go)   this caller may call t now: the tool is enabled
//	                       for the request, the key is usable, no local-file
//	                       argument is sent where they are off and, once the
//	                       arguments are valid, within its rate
//	validate (validate.go) the arguments against t's input schema
//	bind     (bind.go)     the arguments bound to t's request: an omitted
//	                       resource id picked (its resource context), path values,
//	                       parameters, one JSON body; a call naming a local
//	                       path (stdio) sends and shapes in local.go instead
//	send     (send.go)     the request, under the timeout, and its answer read
//	                       as far as t's result needs
//	shape    (shape.go)    the answer, scrubbed first, as the result of t's kind
//	scrub    (scrub.go)    every channel of the result, of the caller's key
func (s *Server) handler(t *Tool) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, _ error) {
		start := time.Now()
		ctx, end := s.obs.StartCall(ctx, t, req)
		defer func() { end(res) }() // res is nil when a stage panicked
		sc := callScrubber(ctx)
		ctx = withScrubber(ctx, sc)
		res, use, err := s.call(ctx, sc, t, req)
		if err != nil {
			res = s.fail.result(sc, t, err)
		}
		use.finishResources(t, res, err) // the resource used, first in the result
		sc.Result(res)                   // whatever a stage built, no channel carries the key
		s.log.DebugContext(ctx, "tool call", "tool", t.Name, "error", res.IsError, "duration", time.Since(start))
		return res, nil
	}
}

// call runs the stages up to shape (handler). The resource context it
// returns (nil before bind) finishes the result.
func (s *Server) call(ctx context.Context, sc *Scrubber, t *Tool, req mcp.CallToolRequest) (*mcp.CallToolResult, *resourceUse, error) {
	if err := s.sel.check(ctx, t); err != nil {
		return nil, nil, err
	}
	if t.Local != nil { // a tool with a local-file argument (tools.yaml local:)
		if err := refuseLocal(t, req, s.localOff); err != nil {
			return nil, nil, err
		}
	}
	args, err := s.valid.validate(t, req.Params)
	if err != nil {
		return nil, nil, err
	}
	if err := s.sel.reserve(ctx); err != nil { // only a valid call costs a token
		return nil, nil, err
	}
	call := NewCall(t, args, s.defaults)
	use, err := s.res.bindResources(ctx, t, call) // an omitted id is picked (bind.go)
	if err != nil {
		return nil, use, err
	}
	if t.Local != nil && s.local != nil { // over stdio, with local files on (local.go)
		p, ok, err := s.local.path(t, call)
		if err != nil {
			return nil, use, err
		}
		if ok {
			res, err := s.local.run(ctx, sc, t, call, req, p)
			return res, use, err
		}
	}
	rep, err := s.send.send(ctx, t, call, t.Call) // t.Call binds, then sends
	if err != nil {
		return nil, use, err
	}
	defer rep.done()
	scrubAnswer(sc, t, rep)
	use.created(t, rep)
	res, err := s.shape.shape(ctx, sc, t, call, req, rep)
	return res, use, err
}

// recoverTool turns a panicking tool handler into an isError result and a
// logged stack; the server (and, over stdio, its worker) carries on.
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

// Observer is told what the server does, for metrics, traces and the
// one log line per call (issue #14; internal/observe implements it). The
// runtime calls it at fixed points, named with each method, and nowhere
// else. Upstream requests are observed by the HTTP client's transport
// instead (internal/observe wraps it), which finds the call through the
// context StartCall returns. A nil Options.Observer costs nothing.
//
// Every method runs on the call's path: it must be cheap and safe for
// concurrent use, and it must never see the API key or an argument value
// as anything but the *Tool and request it is given.
type Observer interface {
	// StartCall runs as a catalog tool's handler begins (handler,
	// above). The context it returns is the call's from then on; end
	// runs once when the handler returns, with its result (nil when the
	// handler panicked).
	StartCall(ctx context.Context, t *Tool, req mcp.CallToolRequest) (context.Context, func(res *mcp.CallToolResult))
	// UnknownTool: a tools/call named no enabled tool; mcp-go answered it
	// (NewServer's hooks).
	UnknownTool(ctx context.Context)
	// RateLimited: the per-key rate limiter refused the call (the select
	// stage, select.go).
	RateLimited(ctx context.Context)
	// WaitPoll: the wait loop polls operation op (wait.go); the context it
	// returns is the poll's upstream request's.
	WaitPoll(ctx context.Context, op string) context.Context
	// Progress: a progress notification was handed to the client's
	// channel (wait.go, progress.send).
	Progress(ctx context.Context)
	// Busy: a request was refused because every call slot and the queue
	// in front of them were full (httpgate.go, stdio.go).
	Busy(mode Mode)
}

// nopObserver is the Observer of a server without one.
type nopObserver struct{}

func (nopObserver) StartCall(ctx context.Context, _ *Tool, _ mcp.CallToolRequest) (context.Context, func(*mcp.CallToolResult)) {
	return ctx, nopEnd
}
func (nopObserver) UnknownTool(context.Context)                            {}
func (nopObserver) RateLimited(context.Context)                            {}
func (nopObserver) WaitPoll(ctx context.Context, _ string) context.Context { return ctx }
func (nopObserver) Progress(context.Context)                               {}
func (nopObserver) Busy(Mode)                                              {}

func nopEnd(*mcp.CallToolResult) {}

func observerOrNop(o Observer) Observer {
	if o == nil {
		return nopObserver{}
	}
	return o
}

// observerOptions are the mcp-go options an Observer needs: a hook that
// reports tools/call requests for tools mcp-go does not know.
func observerOptions(o Observer) []server.ServerOption {
	if _, nop := o.(nopObserver); nop {
		return nil
	}
	h := &server.Hooks{}
	h.AddOnError(func(ctx context.Context, _ any, method mcp.MCPMethod, _ any, err error) {
		if method == mcp.MethodToolsCall && errors.Is(err, server.ErrToolNotFound) {
			o.UnknownTool(ctx)
		}
	})
	return []server.ServerOption{server.WithHooks(h)}
}

// RetryHook is told about each attempt the retry transport sends again:
// the request, and the response (its body already drained) or error of
// the attempt that failed (RetryPolicy.OnRetry).
type RetryHook func(req *http.Request, resp *http.Response, err error)

// The select stage of a call (handler, above) decides whether this caller may
// call this tool now: the tool is among those the request selected (the
// X-MCP-* narrowing headers over HTTP), the caller has a usable key, and
// the key is within its rate. A refusal says which, and nothing is sent.
// The selection itself (flags and headers into a set of tools) is below,
// and the per-key rate limiter after it.

// refusal is why the select stage turned a call away.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// selector is the select stage.
type selector struct {
	limiter    *keyLimiter
	keyMissing string // Settings.KeyMissing
	obs        Observer
}

// check admits a call of t in ctx, or says why not (a *refusal).
func (sel *selector) check(ctx context.Context, t *Tool) error {
	if f := requestFilterFrom(ctx); f != nil && !f.allows(t) {
		return &refusal{fmt.Sprintf("Tool %s is not enabled for this connection (%s / %s / %s / %s narrow the tools).", t.Name, HeaderToolsets, HeaderTools, HeaderExcludeTools, HeaderReadonly)}
	}
	if ke := keyErrorFrom(ctx); ke != nil {
		return &refusal{ke.Error()}
	}
	if APIKeyFrom(ctx).Empty() {
		return &refusal{sel.keyMissing}
	}
	return nil
}

// reserve takes a token of the caller's rate for a call whose arguments are
// valid (an invalid call costs none), or says how long to wait (a
// *rateLimited).
func (sel *selector) reserve(ctx context.Context) error {
	if rl := sel.limiter.reserve(APIKeyFrom(ctx)); rl != nil {
		sel.obs.RateLimited(ctx)
		return rl
	}
	return nil
}

// Selection chooses tools. Toolsets holds toolset or profile names ("all",
// or empty, means every toolset unless Tools is given); Tools adds single
// tools (alone, it is an allowlist); Exclude removes tools; ReadOnly keeps
// only tools whose readOnlyHint is true.
type Selection struct {
	Toolsets, Tools, Exclude []string
	ReadOnly                 bool
}

// Empty reports whether the selection narrows nothing.
func (s Selection) Empty() bool {
	return len(s.Toolsets) == 0 && len(s.Tools) == 0 && len(s.Exclude) == 0 && !s.ReadOnly
}

// SplitList splits a comma-separated flag or header value.
func SplitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Select applies a selection to the catalog. Unknown toolset, profile or
// tool names are errors that list the valid names.
func Select(all []Tool, sets []ToolsetInfo, profiles []Profile, sel Selection) ([]Tool, error) {
	names := map[string]bool{}
	for _, t := range all {
		names[t.Name] = true
	}
	setNames := map[string]bool{}
	for _, s := range sets {
		setNames[s.Name] = true
	}
	prof := map[string]Profile{}
	for _, p := range profiles {
		prof[p.Name] = p
	}
	want := map[string]bool{}
	allSets := len(sel.Toolsets) == 0 && len(sel.Tools) == 0
	var wantSets = map[string]bool{}
	for _, n := range sel.Toolsets {
		switch {
		case n == "all":
			allSets = true
		case setNames[n]:
			wantSets[n] = true
		case prof[n].Name != "":
			for _, tn := range prof[n].Tools {
				want[tn] = true
			}
		default:
			var valid []string
			for _, s := range sets {
				valid = append(valid, s.Name)
			}
			for _, p := range profiles {
				valid = append(valid, p.Name+" (profile)")
			}
			return nil, fmt.Errorf("unknown toolset %q; valid toolsets: all, %s", n, strings.Join(valid, ", "))
		}
	}
	for _, n := range append(append([]string(nil), sel.Tools...), sel.Exclude...) {
		if !names[n] {
			return nil, fmt.Errorf("unknown tool %q; valid tools: %s", n, strings.Join(sortedNames(names), ", "))
		}
	}
	for _, n := range sel.Tools {
		want[n] = true
	}
	excl := map[string]bool{}
	for _, n := range sel.Exclude {
		excl[n] = true
	}
	var out []Tool
	for _, t := range all {
		if !(allSets || wantSets[t.Toolset] || want[t.Name]) || excl[t.Name] {
			continue
		}
		if sel.ReadOnly && !t.Annotations.ReadOnly {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Per-request narrowing headers (HTTP mode). They can only remove tools
// from what the server's own flags enabled, never add any.
const (
	HeaderToolsets     = "X-MCP-Toolsets"
	HeaderTools        = "X-MCP-Tools"
	HeaderExcludeTools = "X-MCP-Exclude-Tools"
	HeaderReadonly     = "X-MCP-Readonly"
)

// requestFilter is the set of tools one HTTP request may see and call.
type requestFilter struct{ allowed map[string]bool }

func (f *requestFilter) allows(t *Tool) bool { return f.allowed[t.Name] }

type filterKey struct{}

func requestFilterFrom(ctx context.Context) *requestFilter {
	f, _ := ctx.Value(filterKey{}).(*requestFilter)
	return f
}

// SelectionsFromHeaders reads the narrowing headers. Every value of every
// narrowing header is a selection of its own, and a request may use only
// the tools every one of them allows: a header a gateway adds, or adds
// again, can only narrow further. X-MCP-Toolsets: a,b allows the tools of
// toolsets a and b; X-MCP-Tools: x,y allows x and y; X-MCP-Exclude-Tools
// removes tools; X-MCP-Readonly is true or false (any true makes the request
// read-only; a value that is neither is an error). Blank values narrow
// nothing. The result is empty when no header narrows anything.
func SelectionsFromHeaders(h http.Header) ([]Selection, error) {
	var out []Selection
	for _, v := range h.Values(HeaderToolsets) {
		if l := SplitList(v); len(l) > 0 {
			out = append(out, Selection{Toolsets: l})
		}
	}
	for _, v := range h.Values(HeaderTools) {
		if l := SplitList(v); len(l) > 0 {
			out = append(out, Selection{Tools: l})
		}
	}
	for _, v := range h.Values(HeaderExcludeTools) {
		if l := SplitList(v); len(l) > 0 {
			out = append(out, Selection{Exclude: l})
		}
	}
	readOnly := false
	for _, v := range h.Values(HeaderReadonly) {
		for _, e := range SplitList(v) {
			b, err := strconv.ParseBool(e)
			if err != nil {
				return nil, fmt.Errorf("%s must be true or false, got %q", HeaderReadonly, clip(e, 40))
			}
			readOnly = readOnly || b
		}
	}
	if readOnly {
		out = append(out, Selection{ReadOnly: true})
	}
	return out, nil
}

// narrow computes the request filter: the server's enabled tools that every
// selection allows. Names are checked against the full catalog, so a name
// that exists but is disabled by the server is accepted and simply stays
// disabled.
func (s *Server) narrow(sels []Selection, catalog []Tool, sets []ToolsetInfo, profiles []Profile) (*requestFilter, error) {
	f := &requestFilter{allowed: map[string]bool{}}
	for name := range s.tools {
		f.allowed[name] = true
	}
	for _, sel := range sels {
		chosen, err := Select(catalog, sets, profiles, sel)
		if err != nil {
			return nil, err
		}
		keep := map[string]bool{}
		for _, t := range chosen {
			keep[t.Name] = f.allowed[t.Name]
		}
		for name := range f.allowed {
			if !keep[name] {
				delete(f.allowed, name)
			}
		}
	}
	return f, nil
}

// filterForRequest is mcp-go's per-request tools/list filter.
func (s *Server) filterForRequest(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	f := requestFilterFrom(ctx)
	if f == nil {
		return tools
	}
	out := make([]mcp.Tool, 0, len(tools))
	for _, t := range tools {
		if f.allowed[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

type keyErrKey struct{}

// keyErrorFrom returns why the request's Authorization header is unusable.
func keyErrorFrom(ctx context.Context) error {
	e, _ := ctx.Value(keyErrKey{}).(error)
	return e
}

// RateLimit is a per-API-key token bucket for tool calls. PerSecond <= 0
// disables it (the default: the MIOSA API enforces its own limits).
type RateLimit struct {
	PerSecond float64
	Burst     int
	// MaxKeys bounds the table of buckets (DefaultRateLimitKeys).
	MaxKeys int
}

// DefaultRateLimitKeys is how many API keys the rate limiter tracks at once
// (about 200 bytes each).
const DefaultRateLimitKeys = 10_000

// keyLimiter keeps one bucket per sha256 of the key, never the key itself.
// The table is bounded, and an attacker cannot flush it with junk keys: to
// make room it only ever drops a bucket that has refilled completely (a
// full bucket is the same as a fresh one, so dropping it forgets nothing).
// The least recently used bucket is the one tried. When it is not full yet,
// a new key is refused (every tracked key is still limited) until it is.
type keyLimiter struct {
	cfg RateLimit
	mu  sync.Mutex
	m   map[[32]byte]*list.Element
	lru *list.List // of *bucket, most recently used first
	now func() time.Time
}

type bucket struct {
	key [32]byte
	lim *rate.Limiter
}

func newKeyLimiter(cfg RateLimit) *keyLimiter {
	if cfg.PerSecond <= 0 {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(cfg.PerSecond))
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultRateLimitKeys
	}
	return &keyLimiter{cfg: cfg, m: map[[32]byte]*list.Element{}, lru: list.New(), now: time.Now}
}

// rateLimited is why a call was refused and how long to wait.
type rateLimited struct {
	wait    time.Duration
	tooMany int // >0: the table is full (this many keys) and all are still limited
}

func (r *rateLimited) Error() string {
	secs := int(r.wait.Seconds() + 0.999)
	if r.tooMany > 0 {
		return fmt.Sprintf("Rate limited by this MCP server: too many distinct API keys are calling it at once (it tracks %d, and all are still limited). Retry after %d seconds.", r.tooMany, secs)
	}
	return fmt.Sprintf("Rate limited by this MCP server: too many tool calls for this API key. Retry after %d seconds.", secs)
}

// reserve takes a token for key; when none is available it returns why and
// how long to wait (and takes nothing).
func (l *keyLimiter) reserve(k APIKey) *rateLimited {
	if l == nil {
		return nil
	}
	h := hashKey(k)
	now := l.now()
	l.mu.Lock()
	e, ok := l.m[h]
	if ok {
		l.lru.MoveToFront(e)
	} else {
		if l.lru.Len() >= l.cfg.MaxKeys {
			oldest := l.lru.Back()
			b := oldest.Value.(*bucket)
			if missing := float64(l.cfg.Burst) - b.lim.TokensAt(now); missing > 0 {
				l.mu.Unlock()
				return &rateLimited{tooMany: l.cfg.MaxKeys, wait: time.Duration(missing / l.cfg.PerSecond * float64(time.Second))}
			}
			l.lru.Remove(oldest)
			delete(l.m, b.key)
		}
		e = l.lru.PushFront(&bucket{key: h, lim: rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)})
		l.m[h] = e
	}
	lim := e.Value.(*bucket).lim
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &rateLimited{wait: d}
	}
	return nil
}

func hashKey(k APIKey) [32]byte { return sha256.Sum256([]byte(k.Reveal())) }
