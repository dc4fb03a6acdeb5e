package runtime

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestNotificationFlushWaitsForTheWrites: a tool call that sent n
// notifications over HTTP returns only once n events were written to its
// response, however late the transport writes them; a call that sent none,
// or runs without a counted writer (stdio), returns at once; a call whose
// client went away stops waiting.
func TestNotificationFlushWaitsForTheWrites(t *testing.T) {
	const n = 3
	handler := func(writes int, gap time.Duration) func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			wc, _ := ctx.Value(writeCounterKey{}).(*writeCounter)
			for range n {
				countNotification(ctx)
			}
			if wc != nil {
				go func() {
					for range writes {
						time.Sleep(gap)
						wc.Write([]byte("event: message\ndata: {}\n\n"))
					}
				}()
			}
			return mcp.NewToolResultText("done"), nil
		}
	}
	t.Run("late-writes", func(t *testing.T) {
		ctx, w := countWrites(context.Background(), httptest.NewRecorder())
		wc := w.(*writeCounter)
		if _, err := notificationFlush(handler(n, 20*time.Millisecond))(ctx, mcp.CallToolRequest{}); err != nil {
			t.Fatal(err)
		}
		if got := wc.n.Load(); got != n {
			t.Errorf("returned after %d of %d notifications were written", got, n)
		}
	})
	t.Run("stdio", func(t *testing.T) {
		start := time.Now()
		notificationFlush(handler(0, 0))(context.Background(), mcp.CallToolRequest{})
		if d := time.Since(start); d > notifyWait/2 {
			t.Errorf("a call without a counted writer waited %v", d)
		}
	})
	t.Run("client-gone", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ctx, _ = countWrites(ctx, httptest.NewRecorder())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		notificationFlush(handler(0, 0))(ctx, mcp.CallToolRequest{})
		if d := time.Since(start); d > notifyWait/2 {
			t.Errorf("waited %v after the client went away", d)
		}
	})
}
