package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/miosa-osa/miosa-mcp/gen/client"
	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/mock"
	"github.com/miosa-osa/miosa-mcp/internal/observe"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// serverOpts are the flag-level choices that shape a server.
type serverOpts struct {
	mode             runtime.Mode
	mock             bool
	conformanceTools bool
	rateLimit        float64
	pollInterval     time.Duration
	metrics          bool                // collect Prometheus metrics (--metrics-listen)
	local            *runtime.LocalFiles // stdio only; nil: local files off
}

// instance is a built server plus what the commands need around it.
type instance struct {
	cfg     Config
	srv     *runtime.Server
	catalog []runtime.Tool
	enabled []runtime.Tool
	log     *slog.Logger
	obs     *observe.Observer
	metrics *observe.Metrics // nil: not collected
	close   func()
}

// newLogger writes logs to stderr only (stdout is reserved for JSON-RPC in
// stdio mode), as text or one JSON object per line (MIOSA_LOG_FORMAT), drops
// any attribute whose name suggests a secret, and scrubs every message and
// attribute value of the given keys (the configured key in stdio mode) and of
// the key in each record's context (the caller's key over HTTP; see
// runtime.ScrubLogHandler). Both formats take the same options and the same
// scrubbing wrapper.
func newLogger(w io.Writer, level slog.Level, format string, keys ...runtime.APIKey) *slog.Logger {
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			k := strings.ToLower(a.Key)
			if k == "authorization" || strings.Contains(k, "key") || strings.Contains(k, "token") || strings.Contains(k, "secret") {
				return slog.String(a.Key, "[redacted]")
			}
			return a
		},
	}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(runtime.ScrubLogHandler(h, keys...))
}

const keyMissingStdio = "MIOSA_API_KEY is not set: the environment variable is missing from this server's entry in your MCP config. " +
	`Add "env": {"MIOSA_API_KEY": "${MIOSA_API_KEY}"} to it with the key exported in your shell (Claude Code: the project's .mcp.json, or ~/.claude.json via "claude mcp add-json"; ` +
	`Gemini CLI: ~/.gemini/settings.json with "$MIOSA_API_KEY"; Codex: env_vars = ["MIOSA_API_KEY"] in ~/.codex/config.toml; ` +
	"Cursor: Settings → MCP; Windsurf: ~/.codeium/windsurf/mcp_config.json; VS Code: .vscode/mcp.json), make sure the key starts with msk_u_, " +
	"and restart the client. `miosa-mcp config <client>` prints a ready-made snippet."

const keyMissingHTTP = "No API key: send `Authorization: Bearer msk_u_…` with each request (the word Bearer, a space, then your MIOSA key)."

// noOAuthHTTP is what the OAuth discovery paths answer over HTTP
// (runtime.Settings.NoOAuth): no double quotes or angle brackets, so it
// reads the same raw or JSON-decoded.
const noOAuthHTTP = "miosa-mcp uses MIOSA API keys, not OAuth: there is nothing to discover or register. " +
	"Send your key with every request as the header Authorization: Bearer msk_u_... " +
	"(Claude Code: claude mcp add --transport http miosa URL --header 'Authorization: Bearer msk_u_...')."

// settings name this app's settings in the runtime's advice texts: the
// environment variables, and over HTTP the Authorization header each
// caller sends.
func settings(mode runtime.Mode) runtime.Settings {
	st := runtime.Settings{
		KeyMissing:  keyMissingStdio,
		KeyRejected: "Check MIOSA_API_KEY in your MCP config (it starts with msk_u_) and that the key is active under Dashboard → Settings → API Keys.",
		APIURL:      "MIOSA_API_URL",
		Timeout:     "MIOSA_TIMEOUT_MS",
		// Local files are stdio's (over HTTP they are never on).
		LocalOff:       "--no-local-files / MIOSA_NO_LOCAL_FILES",
		LocalMaxBytes:  "--local-max-bytes / MIOSA_LOCAL_MAX_BYTES",
		LocalMaxFiles:  "--local-max-files / MIOSA_LOCAL_MAX_FILES",
		LocalAllowDirs: "--allow-dir / MIOSA_ALLOW_DIRS",
	}
	if mode == runtime.ModeHTTP {
		st.KeyMissing = keyMissingHTTP
		st.KeyRejected = "Send `Authorization: Bearer msk_u_…` (the word Bearer, then the key), and check the key is active under Dashboard → Settings → API Keys."
		st.AllowedOrigins = "--allowed-origins"
		st.NoOAuth = noOAuthHTTP
	}
	return st
}

// MockKey is the key a --mock server sends its mock when none is configured
// (the mock accepts any).
const MockKey = "msk_u_mock_local_key"

// build assembles the runtime server from the configuration.
func build(cfg Config, o serverOpts, stderr io.Writer) (*instance, error) {
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat, cfg.APIKey)
	in := &instance{cfg: cfg, log: log, close: func() {}}
	if o.mock {
		m, err := mock.New(mock.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("starting the mock API: %w", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("starting the mock API: %w", err)
		}
		hs := &http.Server{Handler: m, ReadHeaderTimeout: defaultHeaderReadTimeout}
		go hs.Serve(ln)
		in.close = func() { hs.Close() }
		u, _ := ParseAPIURL("http://" + ln.Addr().String())
		in.cfg.APIURL = u
		if in.cfg.APIKey.Empty() {
			in.cfg.APIKey = runtime.NewAPIKey(MockKey)
		}
		log.Warn("running against the OFFLINE MOCK of the MIOSA API: nothing real is created", "mock_url", u.String())
	}
	cl, err := client.NewClient(in.cfg.APIURL.String(),
		client.WithHTTPClient(observe.WrapClient(runtime.NewHTTPClient(runtime.RetryPolicy{OnRetry: observe.OnRetry}))),
		client.WithRequestEditorFn(runtime.Editor(in.cfg.APIURL)))
	if err != nil {
		in.close()
		return nil, err
	}
	in.catalog = tools.All(cl)
	in.enabled, err = runtime.Select(in.catalog, tools.Toolsets, tools.Profiles, cfg.Selection)
	if err != nil {
		in.close()
		return nil, err
	}
	if len(in.enabled) == 0 {
		in.close()
		return nil, errors.New("the tool selection (toolsets/tools/exclude/read-only) leaves no tools")
	}
	if err := in.observe(o); err != nil {
		in.close()
		return nil, err
	}
	ropts := runtime.Options{
		Name: "miosa-mcp", Version: Version(),
		Tools: in.enabled, Toolsets: tools.Toolsets, Instructions: tools.Instructions,
		BaseURL: in.cfg.APIURL, Timeout: cfg.Timeout,
		Defaults: map[string]string{"MIOSA_DEFAULT_TEMPLATE": cfg.DefaultTemplate},
		Mode:     o.mode, Logger: log, Mock: o.mock, PollInterval: o.pollInterval,
		RateLimit: runtime.RateLimit{PerSecond: o.rateLimit},
		Settings:  settings(o.mode), Hints: tools.Hints, Observer: in.obs,
		LocalFiles: o.local,
		Resources:  tools.Resources, Catalog: in.catalog,
	}
	if o.mock && o.pollInterval == 0 {
		ropts.PollInterval = 250 * time.Millisecond
	}
	if o.conformanceTools {
		ropts.ExtraTools = conformanceTools()
		ropts.Logging = true // the suite's logging scenarios; see docs/conformance.md
	}
	in.srv = runtime.NewServer(ropts)
	if o.local != nil && o.mode == runtime.ModeStdio {
		// As tools/list and `tools describe` show them.
		in.enabled, in.catalog = runtime.LocalVariants(in.enabled), runtime.LocalVariants(in.catalog)
	}
	return in, nil
}
