package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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
	// (observer.go).
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
