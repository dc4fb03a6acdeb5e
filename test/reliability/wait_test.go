package reliability_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

const waitKey = "msk_u_wait_Rk5Ny2Vb8Lq4Tx"

// waitUpstream creates widget w1 (status creating) and answers its polls:
// the first `limited` polls with `code` (and Retry-After), then running.
// limited < 0 means never running.
func waitUpstream(t *testing.T, code int, retryAfter string, limited int32) (*testsupport.Upstream, *atomic.Int32) {
	var polls atomic.Int32
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "w1", "status": "creating"}})
			return
		}
		n := polls.Add(1)
		if limited < 0 || n <= limited {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			testsupport.WriteJSON(w, code, map[string]any{"error": "RATE_LIMITED"})
			return
		}
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "w1", "status": "running"}})
	})
	return up, &polls
}

func waitCall(t *testing.T, c interface {
	CallTool(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error)
}, timeoutSec int) (*mcp.CallToolResult, time.Duration) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = "widget_create"
	req.Params.Arguments = map[string]any{"name": "n", "wait": true, "wait_timeout_sec": timeoutSec}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res, time.Since(start)
}

// TestWaitKeepsPollingThroughRateLimits: while waiting, a poll answered
// with 429 or 503 (more of them in a row than the transport retries) means
// sleep and poll again, not an isError: the operation goes on (#10).
func TestWaitKeepsPollingThroughRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name       string
		code       int
		retryAfter string
	}{
		{"429", http.StatusTooManyRequests, "0"},
		{"429-no-hint", http.StatusTooManyRequests, ""},
		{"503", http.StatusServiceUnavailable, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			up, polls := waitUpstream(t, tc.code, tc.retryAfter, 8)
			b := goldenRuntime(t, up.Base())
			c := testsupport.ConnectHTTP(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp", testsupport.Bearer(waitKey))
			res, _ := waitCall(t, c, 60)
			if res.IsError || !strings.Contains(testsupport.ResultText(res), "Ready: w1 is running") {
				t.Fatalf("want the wait to end ready after %d limited polls, got isError=%v: %s", 8, res.IsError, testsupport.ResultText(res))
			}
			if n := polls.Load(); n != 9 {
				t.Errorf("polls = %d, want 8 limited + 1", n)
			}
		})
	}
}

// TestWaitHonoursRetryAfterWithinTheBudget: an API that keeps answering
// 429 with Retry-After: 1 gets no poll before the hinted second, and when
// the wait budget ends the result is the normal "still …" answer, not an
// error, within the budget.
func TestWaitHonoursRetryAfterWithinTheBudget(t *testing.T) {
	leakCheck(t)
	up, _ := waitUpstream(t, http.StatusTooManyRequests, "1", -1)
	b := goldenRuntime(t, up.Base(), func(o *runtime.Options) { o.Timeout = 5 * time.Second })
	c := testsupport.ConnectHTTP(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp", testsupport.Bearer(waitKey))
	res, elapsed := waitCall(t, c, 3)
	txt := testsupport.ResultText(res)
	if res.IsError || !strings.Contains(txt, "Still creating after") || !strings.Contains(txt, "The operation continues") {
		t.Fatalf("want the normal still-waiting result, got isError=%v: %s", res.IsError, txt)
	}
	if elapsed > 3*time.Second+2*time.Second {
		t.Errorf("the wait took %v, beyond its 3 s budget", elapsed)
	}
	// Each poll is up to three attempts (the transport's retries, 200 ms
	// apart in this harness); between polls the wait sleeps Retry-After.
	reqs := up.Requests()[1:] // [0] is the create
	rounds := 1
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].At.Sub(reqs[i-1].At); gap >= 900*time.Millisecond {
			rounds++
		} else if gap < 150*time.Millisecond {
			t.Errorf("attempt %d came %v after the previous one", i, gap)
		}
	}
	if rounds < 2 || rounds > 4 || len(reqs) > 3*rounds {
		t.Errorf("%d requests in %d polls during a 3 s wait with Retry-After: 1", len(reqs), rounds)
	}
}
