package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// waiter polls a long operation to its end for a JSON tool called with
// wait: true (the shape stage's wait, shape.go): each poll is a send of its
// own, and each status a progress notification.
type waiter struct {
	send      *sender
	shape     *shaper           // the final result is the JSON result of the last answer
	fail      *failures         // a poll that fails ends the wait with its error
	notify    *notifier         // a progress notification per status
	poll      time.Duration     // the pause between polls (Options.PollInterval)
	pollTools map[string]string // the GET tool of each polled operation, for advice texts
	obs       Observer
}

// notifier sends a call's progress notifications (the wait loop's, a local
// tree upload's).
type notifier struct {
	mcp *server.MCPServer
	log *slog.Logger
	obs Observer
}

// progress sends notifications/progress for one call when the client asked
// for it (req names a progress token). The message quotes upstream fields
// (the status, the id), so it is scrubbed.
func (n *notifier) progress(sc *Scrubber, req mcp.CallToolRequest) *progress {
	p := &progress{notify: n, sc: sc}
	if req.Params.Meta != nil {
		p.token = req.Params.Meta.ProgressToken
	}
	return p
}

type progress struct {
	notify *notifier
	sc     *Scrubber
	token  mcp.ProgressToken
	n      int
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
	if err := p.notify.mcp.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params); err != nil {
		p.notify.log.DebugContext(ctx, "progress notification not delivered", "error", err)
		return
	}
	countNotification(ctx)
	p.notify.obs.Progress(ctx)
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
// again. Any other failed poll ends the wait with its error and a note
// that the operation itself was accepted.
func (w *waiter) wait(ctx context.Context, sc *Scrubber, t *Tool, call *Call, req mcp.CallToolRequest, first []byte) *mcp.CallToolResult {
	spec := t.Wait
	timeoutSec := DefaultWaitTimeoutSec
	call.Arg("wait_timeout_sec", &timeoutSec)
	var id string
	if arg, ok := strings.CutPrefix(spec.ID, "arg:"); ok {
		call.Arg(arg, &id)
	} else {
		id = lookupString(first, spec.ID)
	}
	pollTool := "the matching get tool"
	if pt, ok := w.pollTools[spec.Operation]; ok {
		pollTool = pt
	}
	// result is the JSON result of the last answer, with a note.
	result := func(last []byte, note string) *mcp.CallToolResult {
		res := w.shape.jsonResult(t, last, false, 200)
		res.Content = append(res.Content, mcp.NewTextContent(note))
		return res
	}
	if id == "" {
		return result(first, fmt.Sprintf("Could not wait: the response carried no id at %s. Poll %s yourself.", spec.ID, pollTool))
	}
	// An id taken from the response becomes a path segment of every poll:
	// it obeys the same rules as an id the caller passes.
	if err := CheckPathValue(id); err != nil {
		return result(first, fmt.Sprintf("Could not wait: the id at %s %v, so it was not polled. Poll %s yourself.", spec.ID, err, pollTool))
	}
	p := w.notify.progress(sc, req)
	deadline := time.Now().Add(time.Duration(timeoutSec) * time.Second)
	started := time.Now()
	last := first
	status := lookupString(first, spec.Field)
	p.send(ctx, 0, fmt.Sprintf("%s %s: %s", t.Name, id, orUnknown(status)))
	pollCall := NewCall(&Tool{Name: pollTool}, nil, nil)
	poll := func(ctx context.Context, c *Call) (*http.Response, error) { return spec.Poll(ctx, c, id) }
	next := w.poll // the pause before the next poll
	for {
		switch {
		case slices.Contains(spec.Ready, status):
			p.send(ctx, p.n+1, fmt.Sprintf("%s is %s after %s", id, status, formatDuration(time.Since(started))))
			return result(last, fmt.Sprintf("Ready: %s is %s after %s.", id, status, formatDuration(time.Since(started))))
		case slices.Contains(spec.Failed, status):
			res := result(last, fmt.Sprintf("Failed: %s reached status %s. Inspect it with %s (and its logs) before retrying.", id, status, pollTool))
			res.IsError = true
			return res
		}
		still := func() *mcp.CallToolResult {
			return result(last, fmt.Sprintf("Still %s after %s (wait_timeout_sec=%d). The operation continues: poll %s with id=%q until its status is %s.", orUnknown(status), formatDuration(time.Since(started)), timeoutSec, pollTool, id, strings.Join(spec.Ready, " or ")))
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
		next = w.poll
		// A poll never outlasts the wait budget (nor the per-request timeout).
		pctx, cancel := context.WithDeadline(w.obs.WaitPoll(ctx, spec.Operation), deadline)
		rep, err := w.send.send(pctx, t, pollCall, poll)
		budgetOver := pctx.Err() != nil && ctx.Err() == nil
		cancel()
		var ue *upstreamError
		switch {
		case err == nil:
		case budgetOver:
			return still()
		case errors.As(err, &ue) && (ue.status == http.StatusTooManyRequests || ue.status == http.StatusServiceUnavailable):
			// The operation goes on; the API only asks to slow down.
			if d, ok := RetryAfter(ue.header.Get("Retry-After")); ok {
				next = max(next, d)
			}
			p.send(ctx, 0, fmt.Sprintf("%s %s: %s; the API answered HTTP %d to a poll, polling again in %s", t.Name, id, orUnknown(status), ue.status, formatDuration(min(next, max(time.Until(deadline), 0)))))
			continue
		default:
			res := w.fail.result(sc, t, err)
			res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("While waiting for %s; the operation itself was accepted. Poll %s with id=%q.", id, pollTool, id)))
			return res
		}
		rep.done()
		last = sc.JSON(rep.body.data)
		status = lookupString(last, spec.Field)
		p.send(ctx, 0, fmt.Sprintf("%s %s: %s (%s)", t.Name, id, orUnknown(status), formatDuration(time.Since(started))))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown status"
	}
	return s
}
