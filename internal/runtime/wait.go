package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// progress sends notifications/progress when the client asked for it. The
// message quotes upstream fields (the status, the id), so it is scrubbed.
type progress struct {
	s     *Server
	sc    *Scrubber
	token mcp.ProgressToken
	n     int
}

func (p *progress) send(ctx context.Context, total int, msg string) {
	if p.token == nil {
		return
	}
	p.n++
	params := map[string]any{"progressToken": p.token, "progress": p.n, "message": capError(p.sc.String(msg))}
	if total > 0 {
		params["total"] = total
	}
	if err := p.s.mcp.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params); err != nil {
		p.s.log.DebugContext(ctx, "progress notification not delivered", "error", err)
		return
	}
	countNotification(ctx)
	p.s.obs.Progress(ctx)
}

// lookup follows a dotted path (data.deployment.id) into decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

func lookupString(body []byte, path string) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	// Accept both the {data: …} envelope and a bare object.
	x, ok := lookup(v, path)
	if !ok {
		if rest, cut := strings.CutPrefix(path, "data."); cut {
			x, ok = lookup(v, rest)
		}
	}
	if !ok {
		return ""
	}
	switch s := x.(type) {
	case string:
		return s
	case float64:
		return fmt.Sprint(s)
	}
	return ""
}

// wait polls the resource a long operation created or changed until it is
// ready, has failed, or wait_timeout_sec elapses, reporting each status as a
// progress notification. On timeout the result says so and names the id and
// the tool to poll; it is not an error, the operation is still going. A poll
// the API answers with 429 or 503 is not the end of the wait either: the
// loop sleeps (honouring Retry-After, within the wait budget) and polls
// again.
func (s *Server) wait(ctx context.Context, sc *Scrubber, t *Tool, call *Call, req mcp.CallToolRequest, first []byte) *mcp.CallToolResult {
	w := t.Wait
	timeoutSec := DefaultWaitTimeoutSec
	call.Arg("wait_timeout_sec", &timeoutSec)
	var id string
	if arg, ok := strings.CutPrefix(w.ID, "arg:"); ok {
		call.Arg(arg, &id)
	} else {
		id = lookupString(first, w.ID)
	}
	pollTool := "the matching get tool"
	if pt, ok := s.byOp[w.Operation]; ok {
		pollTool = pt.Name
	}
	if id == "" {
		res := s.jsonResult(t, first, false, 200)
		res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("Could not wait: the response carried no id at %s. Poll %s yourself.", w.ID, pollTool)))
		return res
	}
	// An id taken from the response becomes a path segment of every poll:
	// it obeys the same rules as an id the caller passes.
	if err := CheckPathValue(id); err != nil {
		res := s.jsonResult(t, first, false, 200)
		res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("Could not wait: the id at %s %v, so it was not polled. Poll %s yourself.", w.ID, err, pollTool)))
		return res
	}
	p := &progress{s: s, sc: sc}
	if req.Params.Meta != nil {
		p.token = req.Params.Meta.ProgressToken
	}
	deadline := time.Now().Add(time.Duration(timeoutSec) * time.Second)
	started := time.Now()
	last := first
	status := lookupString(first, w.Field)
	p.send(ctx, 0, fmt.Sprintf("%s %s: %s", t.Name, id, orUnknown(status)))
	pollCall := NewCall(&Tool{Name: pollTool}, nil, nil)
	next := s.poll // the pause before the next poll
	for {
		switch {
		case slices.Contains(w.Ready, status):
			p.send(ctx, p.n+1, fmt.Sprintf("%s is %s after %s", id, status, formatDuration(time.Since(started))))
			res := s.jsonResult(t, last, false, 200)
			res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("Ready: %s is %s after %s.", id, status, formatDuration(time.Since(started)))))
			return res
		case slices.Contains(w.Failed, status):
			res := s.jsonResult(t, last, false, 200)
			res.IsError = true
			res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("Failed: %s reached status %s. Inspect it with %s (and its logs) before retrying.", id, status, pollTool)))
			return res
		}
		still := func() *mcp.CallToolResult {
			res := s.jsonResult(t, last, false, 200)
			res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("Still %s after %s (wait_timeout_sec=%d). The operation continues: poll %s with id=%q until its status is %s.", orUnknown(status), formatDuration(time.Since(started)), timeoutSec, pollTool, id, strings.Join(w.Ready, " or "))))
			return res
		}
		remaining := time.Until(deadline)
		if remaining <= 0 || ctx.Err() != nil {
			return still()
		}
		timer := time.NewTimer(min(next, remaining))
		select {
		case <-ctx.Done():
			timer.Stop()
			continue
		case <-timer.C:
		}
		next = s.poll
		// A poll never outlasts the wait budget (nor the per-request timeout).
		pctx, cancel := context.WithDeadline(s.obs.WaitPoll(ctx, w.Operation), deadline)
		var pollStatus int
		var retryAfter string
		_, _, body, _, errRes := s.do(pctx, t, pollCall, func(ctx context.Context, c *Call) (*http.Response, error) {
			resp, err := w.Poll(ctx, c, id)
			if resp != nil {
				pollStatus, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
			}
			return resp, err
		})
		budgetOver := pctx.Err() != nil && ctx.Err() == nil
		cancel()
		switch {
		case errRes == nil:
		case budgetOver:
			return still()
		case pollStatus == http.StatusTooManyRequests || pollStatus == http.StatusServiceUnavailable:
			// The operation goes on; the API only asks to slow down.
			if d, ok := RetryAfter(retryAfter); ok {
				next = max(next, d)
			}
			p.send(ctx, 0, fmt.Sprintf("%s %s: %s; the API answered HTTP %d to a poll, polling again in %s", t.Name, id, orUnknown(status), pollStatus, formatDuration(min(next, max(time.Until(deadline), 0)))))
			continue
		default:
			errRes.Content = append(errRes.Content, mcp.NewTextContent(fmt.Sprintf("While waiting for %s; the operation itself was accepted. Poll %s with id=%q.", id, pollTool, id)))
			return errRes
		}
		last = sc.JSON(body)
		status = lookupString(last, w.Field)
		p.send(ctx, 0, fmt.Sprintf("%s %s: %s (%s)", t.Name, id, orUnknown(status), formatDuration(time.Since(started))))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown status"
	}
	return s
}
