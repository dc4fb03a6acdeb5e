package observe

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// WrapClient makes cl's transport observe each API request of a tool call:
// its span (the child of the call's, with traceparent sent on to the API),
// its status, duration and bytes, and the request id the API answered. It
// finds the call through the request's context (StartCall); a request
// outside any observed call passes straight through. Install
// RetryPolicy.OnRetry = OnRetry as well, so that attempts sent again are
// counted too. cl is changed in place and returned.
func WrapClient(cl *http.Client) *http.Client {
	next := cl.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cl.Transport = &transport{next: next}
	return cl
}

type transport struct{ next http.RoundTripper }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c := callFrom(ctx)
	if c == nil {
		return t.next.RoundTrip(req)
	}
	op := c.op
	p, isPoll := ctx.Value(pollKey{}).(poll)
	if isPoll {
		op = p.op
	}
	var span trace.Span
	if c.o.tracer != nil {
		var pp *poll
		if isPoll {
			pp = &p
		}
		req, span = c.startUpstreamSpan(req, op, pp)
	}
	m := c.o.m
	if m != nil && req.ContentLength > 0 {
		m.upSent.Add(float64(req.ContentLength))
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	d := time.Since(start)

	c.mu.Lock()
	c.sent++
	if err != nil {
		c.transport = true
	} else {
		c.status = resp.StatusCode
		if id := resp.Header.Get("X-Request-ID"); id != "" {
			c.requestID = scrubRequestID(id, c.key)
		} else {
			c.requestID = ""
		}
	}
	reqID := c.requestID
	c.mu.Unlock()

	if m != nil {
		code := "error"
		if err == nil {
			code = codeLabel(resp.StatusCode)
		}
		m.upstream.WithLabelValues(op, code).Inc()
		m.upstreamDur.WithLabelValues(op).Observe(d.Seconds())
	}
	if err != nil {
		if span != nil {
			span.SetAttributes(attribute.String("error.type", "transport_error"))
			span.SetStatus(codes.Error, "no answer from the API")
			span.End()
		}
		return resp, err
	}
	if span != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if reqID != "" {
			span.SetAttributes(attribute.String("miosa.request_id", reqID))
		}
		if resp.StatusCode >= 400 {
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(resp.StatusCode)))
			span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		}
	}
	if m != nil || span != nil {
		resp.Body = &body{ReadCloser: resp.Body, c: c, m: m, span: span}
	}
	return resp, nil
}

// body counts what is read of an answer and ends its span when it is
// closed (the runtime always closes it, also when the call's timeout
// fires, from another goroutine).
type body struct {
	io.ReadCloser
	c    *call
	m    *Metrics
	span trace.Span
	n    atomic.Int64
	once sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	if err != nil && err != io.EOF {
		b.c.mu.Lock()
		b.c.transport = true // the answer was cut short
		b.c.mu.Unlock()
	}
	return n, err
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		n := b.n.Load()
		if b.m != nil {
			b.m.upReceived.Add(float64(n))
		}
		if b.span != nil {
			b.span.SetAttributes(attribute.Int64("http.response.body.size", n))
			b.span.End()
		}
	})
	return err
}

// OnRetry is the runtime.RetryHook that counts an attempt the retry
// transport sends again: as an upstream request with its status, as a
// retry with its reason, and as an event on the request's span.
func OnRetry(req *http.Request, resp *http.Response, err error) {
	ctx := req.Context()
	c := callFrom(ctx)
	if c == nil {
		return
	}
	op := c.op
	if p, ok := ctx.Value(pollKey{}).(poll); ok {
		op = p.op
	}
	code, reason := "error", "connection"
	if err == nil && resp != nil {
		code = codeLabel(resp.StatusCode)
		reason = code
	}
	c.mu.Lock()
	c.sent++
	c.mu.Unlock()
	if m := c.o.m; m != nil {
		m.upstream.WithLabelValues(op, code).Inc()
		m.retries.WithLabelValues(op, reason).Inc()
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("retry", trace.WithAttributes(attribute.String("miosa.retry.reason", reason)))
	}
}
