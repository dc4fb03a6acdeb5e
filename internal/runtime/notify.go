package runtime

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Progress notifications must all reach the client before the call's
// response. Over stdio the loop's one writer orders them (stdio.go). Over
// streamable HTTP, mcp-go v1.2.1 forwards a request's notifications from a
// goroutine and, once the handler returns, writes what is still queued,
// then stops the forwarder: a notification the forwarder has already taken
// off the queue but not yet written is dropped. So a tool call that sent
// progress waits, before it returns, until the transport has written as
// many events as it sent notifications: the HTTP gate wraps the response
// writer of each tool call, and while the handler runs every write to it
// is one event of the forwarder (mcp-go writes an SSE event in one Write,
// and the response only after the handler returns; a server→client
// request, which no tool sends today, would count too). The forwarder
// holds its lock from that write to its flush, so once the write is seen
// nothing is dropped.

// notifyWait bounds that wait: mcp-go writes a queued notification at once,
// so it only runs out when a write failed or the client went away.
const notifyWait = 2 * time.Second

type notifySentKey struct{}

// withNotifyCount counts, in ctx, the notifications a call sent.
func withNotifyCount(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, notifySentKey{}, n), n
}

// countNotification records one notification sent for the call of ctx.
func countNotification(ctx context.Context) {
	if n, ok := ctx.Value(notifySentKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

// writeCounter wraps a tool call's HTTP response writer and counts its
// writes.
type writeCounter struct {
	http.ResponseWriter
	flusher http.Flusher
	n       atomic.Int64
	kick    chan struct{} // a write happened (capacity 1)
}

type writeCounterKey struct{}

// countWrites wraps w, when it can stream (else mcp-go writes no event
// before the response), and puts the counter in ctx.
func countWrites(ctx context.Context, w http.ResponseWriter) (context.Context, http.ResponseWriter) {
	f, ok := w.(http.Flusher)
	if !ok {
		return ctx, w
	}
	wc := &writeCounter{ResponseWriter: w, flusher: f, kick: make(chan struct{}, 1)}
	return context.WithValue(ctx, writeCounterKey{}, wc), wc
}

func (wc *writeCounter) Write(p []byte) (int, error) {
	n, err := wc.ResponseWriter.Write(p)
	wc.n.Add(1)
	select {
	case wc.kick <- struct{}{}:
	default:
	}
	return n, err
}

func (wc *writeCounter) Flush() { wc.flusher.Flush() }

// Unwrap lets http.ResponseController reach the connection (mcp-go sets
// write deadlines through it).
func (wc *writeCounter) Unwrap() http.ResponseWriter { return wc.ResponseWriter }

// await waits until n writes happened, ctx ends or notifyWait passes.
func (wc *writeCounter) await(ctx context.Context, n int64) {
	timer := time.NewTimer(notifyWait)
	defer timer.Stop()
	for wc.n.Load() < n {
		select {
		case <-wc.kick:
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		}
	}
}

// notificationFlush makes a tool call that sent notifications return only
// once the HTTP transport wrote them all (see above).
func notificationFlush(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, sent := withNotifyCount(ctx)
		res, err := next(ctx, req)
		if wc, ok := ctx.Value(writeCounterKey{}).(*writeCounter); ok && sent.Load() > 0 {
			wc.await(ctx, sent.Load())
		}
		return res, err
	}
}
