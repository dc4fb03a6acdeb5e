package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/miosa-osa/miosa-mcp/internal/observe"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// tracerShutdownGrace bounds how long the exit waits for buffered spans to
// reach the collector.
const tracerShutdownGrace = 5 * time.Second

// observe sets up what the server reports (internal/observe): metrics when
// --metrics-listen asks for them, traces when the OTEL_* environment does,
// and the per-call log line at info level.
func (in *instance) observe(o serverOpts) error {
	var tracer trace.Tracer
	if in.cfg.Tracing.Enabled {
		tp, err := in.cfg.Tracing.NewTracerProvider(context.Background(), Version())
		if err != nil {
			return err
		}
		log := in.log
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("OpenTelemetry: exporting traces failed", "error", err)
		}))
		tracer = tp.Tracer(observe.TracerName, trace.WithInstrumentationVersion(Version()))
		closeRest := in.close
		in.close = func() {
			ctx, cancel := context.WithTimeout(context.Background(), tracerShutdownGrace)
			defer cancel()
			if err := tp.Shutdown(ctx); err != nil {
				log.Warn("OpenTelemetry: flushing traces at exit failed", "error", err)
			}
			closeRest()
		}
		in.log.Info("tracing: exporting spans with OTLP over HTTP (OTEL_* environment)")
	}
	if o.metrics {
		in.metrics = observe.NewMetrics(Version())
	}
	in.obs = observe.New(observe.Options{Catalog: in.catalog, Metrics: in.metrics, Tracer: tracer, Logger: in.log, Mode: o.mode})
	return nil
}

// serveMetrics serves /metrics on addr (--metrics-listen; "" serves
// nothing) until stop is called.
func (in *instance) serveMetrics(addr string, env Env) (stop func(), err error) {
	if addr == "" || in.metrics == nil {
		return func() {}, nil
	}
	a, err := observe.MetricsAddr(addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen=%s: %w", addr, err)
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	hs := &http.Server{
		Handler:           in.metrics.Handler(),
		ReadHeaderTimeout: defaultHeaderReadTimeout,
		ReadTimeout:       30 * time.Second,
		ErrorLog:          slog.NewLogLogger(in.log.Handler(), slog.LevelWarn),
	}
	go hs.Serve(ln)
	in.announce(env, fmt.Sprintf("serving Prometheus metrics at http://%s/metrics", ln.Addr()))
	return func() { hs.Close() }, nil
}

// announce tells the operator where the server listens, whatever the log
// level: a plain line, or with MIOSA_LOG_FORMAT=json an info record, so that
// every line of stderr stays JSON.
func (in *instance) announce(env Env, msg string) {
	if in.cfg.LogFormat == "json" {
		slog.New(slog.NewJSONHandler(env.Stderr, nil)).Info(msg)
		return
	}
	fmt.Fprintf(env.Stderr, "miosa-mcp: %s\n", msg)
}

// metricsFlag registers --metrics-listen (stdio and http).
func metricsFlag(fs *flag.FlagSet) *string {
	return fs.String("metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics (off by default; \":9090\" binds loopback, 0.0.0.0:9090 every interface)")
}

// httpErrorLog is the HTTP server's log of connection-level errors (TLS
// handshakes, malformed requests, a panic's value): plain lines as before,
// or with MIOSA_LOG_FORMAT=json warnings of the structured log. Both are
// scrubbed of the configured key like every other log line.
func httpErrorLog(in *instance, env Env) *log.Logger {
	if in.cfg.LogFormat == "json" {
		return slog.NewLogLogger(in.log.Handler(), slog.LevelWarn)
	}
	return log.New(scrubbedWriter{env.Stderr, runtime.NewScrubber(in.cfg.APIKey)}, "miosa-mcp http: ", 0)
}

// scrubbedWriter writes each line scrubbed of the keys; log.Logger writes
// a whole line per call, so a key is never split across writes.
type scrubbedWriter struct {
	w  io.Writer
	sc *runtime.Scrubber
}

func (s scrubbedWriter) Write(p []byte) (int, error) {
	if _, err := s.w.Write(s.sc.Bytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
