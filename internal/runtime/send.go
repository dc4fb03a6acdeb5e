package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/semaphore"
)

// The send stage of a call (select.go): the bound request goes out once,
// under the per-request timeout, through the shared client (its editor
// and retries are at the end of this file), and a 2xx answer is read as far as the tool's
// result kind needs (below). What comes back is a *reply, or an error
// saying why there is none (a *transportError, an *upstreamError, an
// *informationalStatus, or the bind stage's *ArgError); errors.go words
// each for the model.

// sender is the send stage.
type sender struct {
	timeout time.Duration
	limits  Limits
	answers *semaphore.Weighted // Limits.AnswerBytes
	log     *slog.Logger
}

// reply is a 2xx answer as it was read: not yet scrubbed (scrubAnswer), the
// body as far as the result needs it. Its body's budget is given back by
// done.
type reply struct {
	status int
	header http.Header
	body   *upstreamBody
}

func (r *reply) done() { r.body.done() }

// transportError: the request got no answer, or its body could not be
// read (status is then the answer's, else 0).
type transportError struct {
	err    error
	status int
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// upstreamError: the API answered with a status outside 2xx; body is the
// first errorBodyBytes of its body (cut: there was more).
type upstreamError struct {
	status int
	header http.Header
	body   []byte
	cut    bool
}

func (e *upstreamError) Error() string { return fmt.Sprintf("HTTP %d", e.status) }

// informationalStatus: a 1xx reached the client (101 Switching Protocols,
// whose body is the raw connection); it was refused unread.
type informationalStatus struct{ status int }

func (e *informationalStatus) Error() string { return fmt.Sprintf("HTTP %d", e.status) }

// send runs one upstream request of t's call under the per-request timeout
// and reads the answer as far as t's result needs. Every exchange ends by
// the timeout, whatever the API answers: a 1xx is refused unread, and the
// body is closed when the request's context ends, so no read outlives it.
func (s *sender) send(ctx context.Context, t *Tool, call *Call, fn CallFunc) (*reply, error) {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// A deadline of this request, not of the caller, is a timeout; the
	// caller going away is a cancellation.
	timedOut := func(err error) error {
		if ctx.Err() == nil && cctx.Err() != nil {
			return context.DeadlineExceeded
		}
		return err
	}
	resp, err := fn(cctx, call)
	if err != nil {
		if ae := (*ArgError)(nil); errors.As(err, &ae) {
			return nil, ae
		}
		err = timedOut(err)
		level := slog.LevelWarn
		if ctx.Err() != nil {
			level = slog.LevelDebug // the caller cancelled: nothing failed
		}
		s.log.Log(ctx, level, "upstream request failed", "tool", t.Name, "error", scrubURLError(err))
		return nil, &transportError{err: err}
	}
	defer resp.Body.Close()
	stop := context.AfterFunc(cctx, func() { resp.Body.Close() })
	defer stop()
	if resp.StatusCode < 200 {
		s.log.WarnContext(ctx, "upstream answered an informational status", "tool", t.Name, "status", resp.StatusCode)
		return nil, &informationalStatus{status: resp.StatusCode}
	}
	if resp.StatusCode >= 300 {
		b, cut, err := readBody(resp.Body, errorBodyBytes)
		if err != nil {
			return nil, s.unreadable(ctx, t, resp, timedOut(err))
		}
		// The request id is upstream-controlled text: a proxy that echoes
		// the Authorization header must not put the key into the logs.
		reqID := capError(scrubberFrom(ctx).String(resp.Header.Get("X-Request-ID")))
		s.log.InfoContext(ctx, "upstream error", "tool", t.Name, "status", resp.StatusCode, "request_id", reqID)
		return nil, &upstreamError{status: resp.StatusCode, header: resp.Header, body: b, cut: cut}
	}
	body, err := s.read(cctx, t, call, resp)
	if err != nil {
		body.done()
		return nil, s.unreadable(ctx, t, resp, timedOut(err))
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// unreadable is the error of an answer whose body could not be read.
func (s *sender) unreadable(ctx context.Context, t *Tool, resp *http.Response, err error) error {
	s.log.WarnContext(ctx, "reading upstream response failed", "tool", t.Name, "status", resp.StatusCode, "error", scrubURLError(err))
	return &transportError{err: err, status: resp.StatusCode}
}

// read reads a 2xx body as far as t's result kind needs it.
func (s *sender) read(ctx context.Context, t *Tool, call *Call, resp *http.Response) (*upstreamBody, error) {
	switch {
	case call.local != nil && call.saving():
		// Saved to a local file as it streams (local_save.go).
		return call.local.sink.save(resp)
	case t.Result == ResultLogs:
		// A log tool is a snapshot: a stream is read for a short window,
		// never until it ends (it may not).
		return s.readLogs(ctx, resp, logLines(call))
	case t.Result == ResultImage:
		return s.readBuffered(ctx, resp, s.limits.BinaryBytes)
	case t.Result == ResultFile && isJSONMedia(mediaType(resp.Header)):
		return s.readBuffered(ctx, resp, fileJSONBytes(s.limits))
	case t.Result == ResultFile:
		return s.readFileAnswer(ctx, resp.Body, s.limits.BinaryBytes, s.limits.TextBytes, s.limits.ReadBytes, resp.ContentLength)
	case resp.ContentLength > s.limits.ReadBytes:
		// Announced as longer than is ever read: not read at all.
		return &upstreamBody{truncated: true}, nil
	}
	full := s.limits.TextBytes
	if t.Wait != nil {
		full = max(full, waitJSONBytes)
	}
	return readJSONAnswer(resp.Body, full, s.limits.TextBytes, s.limits.ReadBytes, resp.ContentLength)
}

// readBody reads at most limit bytes; truncated reports that more existed.
func readBody(r io.Reader, limit int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(b)) > limit {
		return b[:limit], true, err
	}
	return b, false, err
}

// Reading upstream answers only as far as the result needs (issue #10): 16
// concurrent 15 MiB answers used to be read whole and peaked at 400-470 MB,
// although at most 80 KB of text is returned.
//
//   - JSON results: a body up to fullJSONBytes is kept whole. A longer one
//     is cut anyway, so only its first TextBytes+1 bytes are kept; the rest
//     is scanned (jsonScan: validity, size, the paging members) and dropped.
//   - Images: at most BinaryBytes (+1, to know an image is over the cap).
//   - Files: at most BinaryBytes+1; a longer file is only ever returned as
//     cut text, so from there on its first TextBytes+1 bytes are kept and
//     the rest checked to be text.
//   - Logs: see logs.go (the last lines only, for text and event streams).
//   - Error bodies: errorBodyBytes (the error text quotes at most 500 bytes).
//
// Whatever stays above freeAnswerBytes in one call takes from a server-wide
// budget of answer bytes (Limits.AnswerBytes) first, so concurrent large
// images, files and logs are bounded together. The bytes are held until the
// transport has written the call's response (a callScope), since an image
// costs about four times its size until then: the bytes, their base64, the
// encoded response and its write (measured: RELIABILITY.md).

const (
	// waitJSONBytes is the JSON body kept whole for a tool that reads it
	// again (a wait reads the new resource's id); other JSON bodies are kept
	// whole up to the text cap.
	waitJSONBytes = 1 << 20
	// errorBodyBytes is how much of a non-2xx body is read.
	errorBodyBytes = 64 << 10
	// freeAnswerBytes of one answer do not take from the budget.
	freeAnswerBytes = 1 << 20
	// readChunk is the read size while streaming.
	readChunk = 32 << 10
)

// upstreamBody is what was read of an answer.
type upstreamBody struct {
	// data is the body, or with head its first bytes: after leading white
	// space for JSON, from the start for files.
	data []byte
	// head: data is only the start; size says how long the body was.
	head bool
	// size is, with head, the body's length (JSON: without surrounding
	// white space), counted up to Limits.ReadBytes.
	size int64
	// truncated: the body was longer than Limits.ReadBytes.
	truncated bool
	// With head, for JSON: whether the whole body is valid JSON, and the
	// members pagingNote reads (topOK false: one was too long to keep).
	valid bool
	top   map[string]json.RawMessage
	topOK bool
	// With head, for files: whether the whole body is UTF-8 text without NUL.
	text bool
	// tail holds a log snapshot's last lines (logs.go).
	tail *logTail
	// release gives back what the body took from the answer budget.
	release func()
}

// callScope collects what a call holds until its response is written; a
// transport opens one around each tool call (httpgate.go, stdio.go).
type callScope struct {
	mu       sync.Mutex
	releases []func()
	closed   bool
}

type callScopeKey struct{}

func withCallScope(ctx context.Context) (context.Context, *callScope) {
	sc := &callScope{}
	return context.WithValue(ctx, callScopeKey{}, sc), sc
}

// hold returns the function that gives back what was taken: with a scope
// in ctx the scope calls it when the response is written, and the one
// returned does nothing.
func hold(ctx context.Context, release func()) func() {
	sc, _ := ctx.Value(callScopeKey{}).(*callScope)
	if sc == nil {
		return release
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return release
	}
	sc.releases = append(sc.releases, release)
	return func() {}
}

// done gives back everything the call held.
func (sc *callScope) done() {
	sc.mu.Lock()
	rs := sc.releases
	sc.releases, sc.closed = nil, true
	sc.mu.Unlock()
	for _, r := range rs {
		r()
	}
}

func (b *upstreamBody) done() {
	if b != nil && b.release != nil {
		b.release()
		b.release = nil
	}
}

// readUpTo reads r to EOF or n bytes. What goes beyond freeAnswerBytes is
// first taken from the answer budget (waiting while ctx lives): up front
// when sizeHint (a Content-Length, or -1) says how much will be read, else
// once the body passes freeAnswerBytes. release gives it back.
func (s *sender) readUpTo(ctx context.Context, r io.Reader, n int, sizeHint int64) ([]byte, func(), error) {
	release := func() {}
	take := func(weight int64) error {
		if weight <= 0 {
			return nil
		}
		if err := s.answers.Acquire(ctx, weight); err != nil {
			return err
		}
		release = hold(ctx, func() { s.answers.Release(weight) })
		return nil
	}
	if sizeHint >= 0 {
		want := min(sizeHint+1, int64(n))
		if err := take(want - freeAnswerBytes); err != nil {
			return nil, release, err
		}
		buf, err := readFull(r, make([]byte, 0, want), n)
		return buf, release, err
	}
	first := min(n, freeAnswerBytes)
	buf, err := readFull(r, make([]byte, 0, min(first, 64<<10)), first)
	if err != nil || len(buf) < first || first == n {
		return buf, release, err
	}
	return s.extend(ctx, r, buf, n)
}

// extend reads more of r into buf, up to n bytes in all, after taking what
// it adds from the answer budget.
func (s *sender) extend(ctx context.Context, r io.Reader, buf []byte, n int) ([]byte, func(), error) {
	weight := int64(n - len(buf))
	if err := s.answers.Acquire(ctx, weight); err != nil {
		return nil, func() {}, err
	}
	release := hold(ctx, func() { s.answers.Release(weight) })
	buf, err := readFull(r, buf, n)
	return buf, release, err
}

// readFull appends what r yields to buf until EOF or len(buf) == n.
func readFull(r io.Reader, buf []byte, n int) ([]byte, error) {
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// newAnswerBudget is the server-wide budget of answer bytes.
func newAnswerBudget(n int64) *semaphore.Weighted { return semaphore.NewWeighted(n) }

// readJSONAnswer reads a JSON (or text) answer for a result whose text is
// cut at textMax: whole when it is at most full bytes, else its first
// textMax+1 bytes (at least snippetBytes+1) after leading white space plus
// a scan of the rest. At
// most readMax bytes are read.
func readJSONAnswer(r io.Reader, full, textMax int, readMax int64, sizeHint int64) (*upstreamBody, error) {
	c := full + 1
	if sizeHint >= 0 && sizeHint < int64(c) {
		c = int(sizeHint) + 1
	}
	buf, err := readFull(r, make([]byte, 0, c), full+1)
	if err != nil {
		return nil, err
	}
	if len(buf) <= full {
		return &upstreamBody{data: buf}, nil
	}
	sc := newJSONScan()
	var tc trimCounter
	head := make([]byte, 0, max(textMax, snippetBytes)+1)
	feed := func(p []byte) {
		sc.feed(p)
		if t := tc.feed(p); len(head) < cap(head) {
			head = append(head, t[:min(len(t), cap(head)-len(head))]...)
		}
	}
	feed(buf)
	buf = nil
	chunk := make([]byte, readChunk)
	truncated := false
	for {
		n, err := r.Read(chunk)
		p := chunk[:n]
		if tc.total+int64(n) > readMax {
			p = p[:readMax-tc.total]
			truncated = true
		}
		feed(p)
		if truncated || err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if t := tc.end(); len(head) < cap(head) {
		head = append(head, t[:min(len(t), cap(head)-len(head))]...)
	}
	valid, size := sc.finish(), tc.trimmed()
	if !truncated && size <= int64(len(head)) {
		return &upstreamBody{data: head}, nil // mostly white space: all of it fits
	}
	top, ok := sc.top()
	return &upstreamBody{data: head, head: true, size: size, truncated: truncated, valid: valid, top: top, topOK: ok}, nil
}

// readFileAnswer reads a download that is not JSON: up to binMax+1 bytes
// whole; a longer file can only be returned as cut text, so from then on
// only its first textMax+1 bytes are kept and the rest is checked to be
// text (a binary file over the cap is not read further).
func (s *sender) readFileAnswer(ctx context.Context, r io.Reader, binMax, textMax int, readMax int64, sizeHint int64) (*upstreamBody, error) {
	buf, release, err := s.readUpTo(ctx, r, binMax+1, sizeHint)
	if err != nil {
		release()
		return nil, err
	}
	if len(buf) <= binMax {
		return &upstreamBody{data: buf, release: release}, nil
	}
	var tc textCheck
	tc.feed(buf)
	total := int64(len(buf))
	head := bytes.Clone(buf[:min(len(buf), max(textMax+1, 512))])
	buf = nil
	release()
	ub := &upstreamBody{data: head, head: true}
	if tc.bad {
		ub.size = total
		return ub, nil
	}
	chunk := make([]byte, readChunk)
	for {
		n, err := r.Read(chunk)
		p := chunk[:n]
		if total+int64(n) > readMax {
			p = p[:readMax-total]
			ub.truncated = true
		}
		total += int64(len(p))
		tc.feed(p)
		if ub.truncated || err == io.EOF || tc.bad {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	ub.size, ub.text = total, !tc.bad && len(tc.carry) == 0
	return ub, nil
}

// textCheck checks, across chunks, that bytes are UTF-8 without NUL (what
// fileResult calls text).
type textCheck struct {
	carry []byte // an incomplete rune at the end of the last chunk
	bad   bool
}

func (c *textCheck) feed(p []byte) {
	if c.bad {
		return
	}
	if bytes.IndexByte(p, 0) >= 0 {
		c.bad = true
		return
	}
	for len(c.carry) > 0 && len(p) > 0 {
		c.carry = append(c.carry, p[0])
		p = p[1:]
		if utf8.FullRune(c.carry) {
			if !utf8.Valid(c.carry) {
				c.bad = true
				return
			}
			c.carry = c.carry[:0]
		}
	}
	end := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				end = i
			}
			break
		}
	}
	if !utf8.Valid(p[:end]) {
		c.bad = true
		return
	}
	c.carry = append(c.carry, p[end:]...)
}

// readBuffered reads an answer whole up to limit (+1 to know it was
// longer), under the answer budget.
func (s *sender) readBuffered(ctx context.Context, resp *http.Response, limit int) (*upstreamBody, error) {
	buf, release, err := s.readUpTo(ctx, resp.Body, limit+1, resp.ContentLength)
	if err != nil {
		release()
		return nil, err
	}
	if len(buf) > limit {
		return &upstreamBody{data: buf[:limit], truncated: true, release: release}, nil
	}
	return &upstreamBody{data: buf, release: release}, nil
}

// NewHTTPClient returns the client shared by every call. It never follows
// redirects (a redirect could carry the key to another host; the 3xx is
// reported instead), keeps enough idle connections for concurrent callers,
// and retries only requests that are safe to repeat (see retryTransport).
func NewHTTPClient(retry RetryPolicy) *http.Client {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConns = 256
	base.MaxIdleConnsPerHost = 128
	base.IdleConnTimeout = 90 * time.Second
	base.TLSHandshakeTimeout = 10 * time.Second
	base.ForceAttemptHTTP2 = true
	return &http.Client{
		Transport:     &retryTransport{next: base, policy: retry},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// RetryPolicy bounds retries. The zero value means the defaults: 3 attempts,
// 250 ms base backoff (doubled each time, with full jitter), 10 s cap.
type RetryPolicy struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
	// OnRetry, when set, is told about each attempt that is sent again
	// (select.go).
	OnRetry RetryHook
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 3
	}
	if p.Base <= 0 {
		p.Base = 250 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 10 * time.Second
	}
	return p
}

// retryTransport retries 429/502/503/504 and connection resets for GET, HEAD,
// PUT and DELETE, and for POSTs that carry an Idempotency-Key (the API then
// deduplicates them). Other POSTs and PATCHes are sent exactly once: a retry
// could create a second sandbox or run a command twice. Retry-After is
// honoured; every wait stays inside the request's context deadline.
type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
}

// Retryable reports whether a request may be sent again.
func Retryable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPost:
		return req.Header.Get("Idempotency-Key") != ""
	}
	return false
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := t.policy.withDefaults()
	if !Retryable(req) {
		return t.next.RoundTrip(req)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.Body != nil && req.GetBody != nil {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = b
			}
		}
		resp, err := t.next.RoundTrip(r)
		if attempt >= p.Attempts || !shouldRetry(resp, err) || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		wait := backoff(p, attempt, resp)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return resp, err // no time left for another attempt
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if p.OnRetry != nil {
			p.OnRetry(r, resp, err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

func shouldRetry(resp *http.Response, err error) bool {
	if err != nil {
		return isConnReset(err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// isConnReset matches failures where the request may not have been
// processed and repeating a safe request is the right answer.
func isConnReset(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

func backoff(p RetryPolicy, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := RetryAfter(resp.Header.Get("Retry-After")); ok {
			return min(d, p.Max)
		}
	}
	d := p.Base << (attempt - 1)
	d = min(d, p.Max)
	return time.Duration(rand.Int64N(int64(d)/2+1)) + d/2 // jitter in [d/2, d]
}

// RetryAfter parses a Retry-After header: delta seconds or an HTTP date.
func RetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 && n < 86400 {
		return time.Duration(n * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := time.Until(t)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// errRequestRefused marks requests the editor refused to send.
var errRequestRefused = errors.New("request refused")

// Editor returns the request editor registered once on the generated
// client. For every request it (1) refuses any host other than the
// configured API host, so the key is never sent elsewhere, (2) refuses paths
// that escaped the API base path or contain dot segments, as sent or once or
// twice percent-decoded, and (3) sets the Authorization header from the
// caller's context.
func Editor(base *url.URL) func(ctx context.Context, req *http.Request) error {
	basePath := strings.TrimSuffix(base.EscapedPath(), "/") + "/"
	return func(ctx context.Context, req *http.Request) error {
		if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
			return fmt.Errorf("%w: host %s is not the configured API host", errRequestRefused, req.URL.Host)
		}
		p := req.URL.EscapedPath()
		if !strings.HasPrefix(p, basePath) {
			return fmt.Errorf("%w: path escapes the API base path", errRequestRefused)
		}
		if hasDotSegment(p) {
			return fmt.Errorf("%w: path contains a dot segment", errRequestRefused)
		}
		// A proxy in front of the API may decode the path once, and the API
		// decode it again: neither decoded form may hold a dot segment or a
		// backslash (Call.Path and Call.PathLike refuse such values first).
		for i, form := 0, p; i < 2; i++ {
			d, err := url.PathUnescape(form)
			if err != nil || d == form {
				break
			}
			if hasDotSegment(d) || strings.Contains(d, `\`) {
				return fmt.Errorf("%w: path contains a dot segment or a backslash once percent-decoded", errRequestRefused)
			}
			form = d
		}
		k := APIKeyFrom(ctx)
		if k.Empty() {
			return fmt.Errorf("%w: no API key", errRequestRefused)
		}
		req.Header.Set("Authorization", "Bearer "+k.Reveal())
		return nil
	}
}
