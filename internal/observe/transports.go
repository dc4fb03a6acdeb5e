package observe

import (
	"io"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// HTTP wraps the HTTP transport's handler (runtime.Server.HTTPHandler):
// on the MCP endpoint it counts the bytes of request and response bodies,
// and every answer with an error status as a rejection, by code and
// reason. The tool calls themselves are observed through StartCall. With
// metrics off it returns h.
func (o *Observer) HTTP(h http.Handler) http.Handler {
	if o.m == nil {
		return h
	}
	received := o.m.received.WithLabelValues("http")
	sent := o.m.sent.WithLabelValues("http")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(runtime.MCPPaths, r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		var in *countingReader
		if r.Body != nil && r.Body != http.NoBody {
			in = &countingReader{ReadCloser: r.Body}
			r.Body = in
		}
		out := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(out, r)
		if in != nil {
			received.Add(float64(in.n))
		}
		sent.Add(float64(out.n))
		if out.code >= 400 {
			o.m.rejections.WithLabelValues(codeLabel(out.code), rejectionReason(out.code)).Inc()
		}
	})
}

// ConnRefused counts a connection refused over --max-connections
// (runtime.ConnLimiter.OnRefuse): it was answered 503 before any request
// was read.
func (o *Observer) ConnRefused() {
	if o.m != nil {
		o.m.rejections.WithLabelValues("503", "connections").Inc()
	}
}

// Stdio wraps stdin and stdout to count the MCP bytes they carry. With
// metrics off it returns them unchanged.
func (o *Observer) Stdio(in io.Reader, out io.Writer) (io.Reader, io.Writer) {
	if o.m == nil {
		return in, out
	}
	return &countReader{r: in, c: o.m.received.WithLabelValues("stdio")},
		&countWriter{w: out, c: o.m.sent.WithLabelValues("stdio")}
}

// countingReader counts a request body; the handler reads it on one
// goroutine and the count is read after the handler returned.
type countingReader struct {
	io.ReadCloser
	n int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n += int64(n)
	return n, err
}

// statusWriter records the status and counts the body bytes written. It
// keeps the writer's Flush (mcp-go streams a call's progress as
// server-sent events only when the writer can flush) and Unwrap, for
// http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type countReader struct {
	r io.Reader
	c prometheus.Counter
}

func (r *countReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.c.Add(float64(n))
	}
	return n, err
}

type countWriter struct {
	w io.Writer
	c prometheus.Counter
}

func (w *countWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if n > 0 {
		w.c.Add(float64(n))
	}
	return n, err
}
