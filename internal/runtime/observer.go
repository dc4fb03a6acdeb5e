package runtime

import (
	"context"
	"errors"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

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
	// StartCall runs as a catalog tool's handler begins (server.go,
	// handler). The context it returns is the call's from then on; end
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
