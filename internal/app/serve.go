package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// runStdio serves MCP over stdin/stdout. stdout carries JSON-RPC only; all
// logs go to stderr. A missing MIOSA_API_KEY does not stop the server: it
// lists its tools and every call explains how to set the key.
func runStdio(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("stdio", "miosa-mcp [stdio] [flags]", env)
	var c commonFlags
	c.register(fs)
	var l localFlags
	l.register(fs)
	rate := fs.Float64("rate-limit", 0, "max tool calls per second (0: unlimited)")
	workers := fs.Int("max-concurrent-calls", runtime.DefaultStdioWorkers, "tool calls that run at once; more wait in a queue")
	queue := fs.Int("max-queued-calls", runtime.DefaultStdioQueue, "tool calls that may wait for a free slot; more are refused at once")
	metrics := metricsFlag(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *workers < 1 || *queue < 1 {
		fmt.Fprintln(env.Stderr, "miosa-mcp: --max-concurrent-calls and --max-queued-calls must be at least 1")
		return 2
	}
	cfg, err := loadConfig(env, &c, fs)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 2
	}
	local, err := loadLocal(&cfg, &l, fs)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 2
	}
	in, err := build(cfg, serverOpts{mode: runtime.ModeStdio, mock: c.mock, rateLimit: *rate, local: local, metrics: *metrics != ""}, env.Stderr)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 2
	}
	defer in.close()
	stopMetrics, err := in.serveMetrics(*metrics, env)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	defer stopMetrics()
	if in.cfg.APIKey.Empty() {
		in.log.Warn("MIOSA_API_KEY is not set; tools are listed but every call will explain how to set it")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	in.log.Info("serving MCP over stdio", "tools", len(in.enabled), "api", in.cfg.APIURL.Host)
	// Our own loop (runtime/stdio.go): strict message checks, pings and
	// cancels answered at once, tool calls on a bounded pool.
	stdin, stdout := in.obs.Stdio(env.Stdin, env.Stdout)
	err = in.srv.ServeStdio(ctx, stdin, stdout, runtime.StdioOptions{Key: in.cfg.APIKey, Workers: *workers, Queue: *queue})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	return 0
}

// runHTTP serves stateless streamable HTTP. Each request carries its own
// key; nothing about a caller outlives its request, so any number of
// replicas can run behind a load balancer.
func runHTTP(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("http", "miosa-mcp http [--listen 127.0.0.1:8787] [flags]", env)
	var c commonFlags
	c.register(fs)
	listen := fs.String("listen", DefaultListen, "address to listen on; binding beyond loopback exposes the server to the network")
	origins := fs.String("allowed-origins", "", "comma-separated browser origins allowed besides loopback ones (\"*\" allows any)")
	maxBody := fs.Int64("max-body-bytes", runtime.DefaultMaxBodyBytes, "maximum request body size")
	grace := fs.Duration("shutdown-grace", 25*time.Second, "how long in-flight calls may finish after SIGTERM")
	headerTimeout := fs.Duration("header-read-timeout", defaultHeaderReadTimeout, "how long a client may take to send its request headers before the connection is closed")
	rate := fs.Float64("rate-limit", 0, "max tool calls per second per API key (0: unlimited)")
	conf := fs.Bool("conformance-tools", false, "also register the MCP conformance suite's test tools (testing only)")
	maxConns := fs.Int("max-connections", runtime.DefaultMaxConnections, "open connections; beyond it the longest-idle one is closed, or the new one gets 503")
	maxCalls := fs.Int("max-concurrent-calls", runtime.DefaultMaxConcurrentCalls, "tool calls that run at once; more wait in a queue")
	maxQueued := fs.Int("max-queued-calls", runtime.DefaultMaxQueuedCalls, "tool calls that may wait for a free slot; more are answered \"busy\" at once")
	maxInflight := fs.Int64("max-inflight-body-bytes", runtime.DefaultMaxInflightBodyBytes, "request-body bytes processed at once, server-wide; larger bodies wait for room")
	metrics := metricsFlag(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *maxConns < 1 || *maxCalls < 1 || *maxQueued < 1 || *maxInflight < 1 {
		fmt.Fprintln(env.Stderr, "miosa-mcp: --max-connections, --max-concurrent-calls, --max-queued-calls and --max-inflight-body-bytes must be at least 1")
		return 2
	}
	if *headerTimeout <= 0 {
		fmt.Fprintln(env.Stderr, "miosa-mcp: --header-read-timeout must be positive")
		return 2
	}
	cfg, err := loadConfig(env, &c, fs)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 2
	}
	// HTTP callers bring their own key; a server-wide key would be shared
	// by every caller, so it is ignored here.
	cfg.APIKey = runtime.APIKey{}
	in, err := build(cfg, serverOpts{mode: runtime.ModeHTTP, mock: c.mock, rateLimit: *rate, conformanceTools: *conf, metrics: *metrics != ""}, env.Stderr)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 2
	}
	defer in.close()
	stopMetrics, err := in.serveMetrics(*metrics, env)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	defer stopMetrics()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	defer tuneGC()()
	return serveHTTP(ctx, in, ln, runtime.HTTPOptions{
		AllowedOrigins: runtime.SplitList(*origins), MaxBodyBytes: *maxBody,
		MaxInflightBodyBytes: *maxInflight, MaxConcurrentCalls: *maxCalls, MaxQueuedCalls: *maxQueued,
		Catalog: in.catalog, Toolsets: tools.Toolsets, Profiles: tools.Profiles,
	}, httpServerLimits{maxConns: *maxConns, grace: *grace, headerTimeout: *headerTimeout}, env)
}

// HTTP-mode garbage collector settings, used unless GOGC or GOMEMLIMIT is
// set. GOGC stays at Go's default, 100: a busy HTTP server keeps a small
// live heap (about 3 MB at 64 concurrent clients) and allocates about 26 KB
// per call, and at 100 it holds bare mcp-go's throughput with the least
// memory (64 clients on 2 cores: 1.00-1.04x its calls/s, 40 MB peak RSS,
// against 1.03-1.09x and 55-56 MB at GOGC=400; BENCHMARKS.md, "Memory under
// the 64-client load"). GOGC=400 was the setting while a call went through
// mcp-go's StreamableHTTPServer, which allocated half as much again.
//
// The soft limit sits at half the 256 MiB container limit of
// docs/hosting.md: under a burst of large answers or uploads the collector
// works harder before the heap passes it, so it, plus some 20 MB outside
// the heap, bounds the peak RSS under such a burst (RELIABILITY.md), while
// what can be live at once is bounded by the request-body and answer
// budgets.
const (
	httpGCPercent   = 100
	httpMemoryLimit = 128 << 20
)

// tuneGC applies the HTTP-mode GC settings and returns a func restoring
// the previous ones.
func tuneGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	gc := debug.SetGCPercent(httpGCPercent)
	limit := debug.SetMemoryLimit(httpMemoryLimit)
	return func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	}
}

// defaultHeaderReadTimeout is how long a client may take to send its
// request headers (--header-read-timeout), here and on the server's other
// listeners (the mock, the metrics).
const defaultHeaderReadTimeout = 10 * time.Second

// httpServerLimits are the http.Server's own limits.
type httpServerLimits struct {
	maxConns      int
	grace         time.Duration // to finish in-flight calls after SIGTERM
	headerTimeout time.Duration
}

func serveHTTP(ctx context.Context, in *instance, ln net.Listener, o runtime.HTTPOptions, lim httpServerLimits, env Env) int {
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if !runtime.IsLoopbackHost(host) {
		in.log.Warn("listening beyond loopback: anyone who can reach this address can use the server with their own MIOSA key; put it behind TLS and a firewall", "addr", ln.Addr().String())
	}
	conns := runtime.NewConnLimiter(lim.maxConns)
	conns.OnRefuse = in.obs.ConnRefused
	conns.Setting = "--max-connections"
	ln = conns.Listener(ln)
	hs := &http.Server{
		Handler:           in.obs.HTTP(in.srv.HTTPHandler(o)),
		ConnState:         conns.ConnState,
		ReadHeaderTimeout: lim.headerTimeout,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          httpErrorLog(in, env),
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	in.announce(env, fmt.Sprintf("serving MCP over HTTP at http://%s%s (and %s), %d tools", ln.Addr(), runtime.MCPPaths[0], strings.Join(runtime.MCPPaths[1:], ", "), len(in.enabled)))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
			return 1
		}
		return 0
	case <-ctx.Done():
	}
	in.log.Info("shutting down; letting in-flight calls finish", "grace", lim.grace)
	sctx, cancel := context.WithTimeout(context.Background(), lim.grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp: shutdown:", err)
		hs.Close()
		return 1
	}
	return 0
}
