package runtime

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// Mode is the transport the server is serving; it changes what is
// advertised (logging) and how busy refusals are counted.
type Mode int

const (
	ModeStdio Mode = iota
	ModeHTTP
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	Name, Version string
	Tools         []Tool        // the enabled tools (already filtered)
	Toolsets      []ToolsetInfo // for the instructions
	Instructions  string        // introduction of the instructions
	BaseURL       *url.URL      // the API base, e.g. https://api.miosa.ai/api/v1
	Timeout       time.Duration // per upstream request (default DefaultTimeout)
	// Defaults are the server settings tool arguments fall back to
	// (Arg.EnvDefault names one).
	Defaults map[string]string
	Limits   Limits
	Mode     Mode
	Logger   *slog.Logger
	// Mock marks a server running against the offline mock; the
	// instructions and logs say so.
	Mock bool
	// PollInterval is the wait loop's polling period (default
	// DefaultPollInterval).
	PollInterval time.Duration
	// RateLimit limits tool calls per API key (zero: unlimited).
	RateLimit RateLimit
	// ExtraTools are registered as they are (the conformance test tools).
	// They call nothing upstream, so over HTTP they are callable without a key.
	ExtraTools []server.ServerTool
	// Logging advertises the logging capability over HTTP too (stdio always
	// has it). Only the conformance run sets it: over stateless HTTP, mcp-go
	// v1.2.1 keeps one log level for all callers (a logging/setLevel from
	// one sets it for every other).
	Logging bool
	// Settings name the app's settings in advice texts.
	Settings Settings
	// Hints are the catalog's advice (tools.yaml `hints:`, gen/tools.Hints).
	Hints Hints
	// Observer is told about each call for metrics, traces and logs
	// (select.go; nil: nothing is observed).
	Observer Observer
	// LocalFiles turns on the local-file arguments (local.go); only a
	// stdio server uses it, and nil turns them off.
	LocalFiles *LocalFiles
	// Resources are the kinds of resource a call may leave out the id of
	// (bind.go; gen/tools.Resources), and Catalog every tool, enabled
	// or not, so that a kind's list tool finds candidates even when the
	// selection leaves it out (nil: Tools).
	Resources []Resource
	Catalog   []Tool
}

// DefaultPollInterval is how often a wait polls (Options.PollInterval).
const DefaultPollInterval = 2 * time.Second

// Settings name, in advice texts, what a person changes to fix what the
// server cannot: the runtime knows what went wrong, the app (internal/app)
// which of its settings, flags or headers is the way out. An empty field
// takes a generic wording.
type Settings struct {
	// KeyMissing is the error text of a call without any API key
	// (default "No API key is configured.").
	KeyMissing string
	// KeyRejected follows "The API key was rejected." when the API answers
	// 401: how to send or check the key.
	KeyRejected string
	// APIURL names the setting of the API's address (e.g. an environment
	// variable), for answers that suggest a wrong one.
	APIURL string
	// Timeout names the setting of the per-request timeout, in
	// milliseconds, for requests that ran out of it.
	Timeout string
	// The local-file settings (local.go), quoted where a local transfer
	// meets them: what turns local files off, the byte cap of one call,
	// the file cap of one directory upload, the directories allowed when
	// the client declares no roots.
	LocalOff, LocalMaxBytes, LocalMaxFiles, LocalAllowDirs string
	// AllowedOrigins names the setting of the browser origins accepted
	// over HTTP, for the 403 of a foreign Origin.
	AllowedOrigins string
	// NoOAuth is what the OAuth discovery and registration paths answer
	// (http.go noOAuth); default defaultNoOAuth.
	NoOAuth string
}

// defaultNoOAuth is Settings.NoOAuth's default. It has no double quotes or
// angle brackets, so it reads the same raw or JSON-decoded.
const defaultNoOAuth = "This server takes API keys, not OAuth: there is nothing to discover or register. " +
	"Send the key with every request as the header Authorization: Bearer followed by the key."

// Limits bound what one tool result may carry. Zero fields take defaults.
type Limits struct {
	// ReadBytes caps how much of an upstream body is read (default 16 MiB).
	ReadBytes int64
	// TextBytes caps text returned to the model (default 80,000 bytes,
	// about 20k tokens: under the 25,000-token result cap of common clients).
	TextBytes int
	// BinaryBytes caps images and blobs before base64 (default 4 MiB).
	BinaryBytes int
	// AnswerBytes is the server-wide budget of upstream-answer bytes held
	// beyond the first MiB of each (default 16 MiB, at least one answer
	// at the largest size kept): large images, files and log answers wait
	// for room instead of all being held at once.
	AnswerBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.ReadBytes <= 0 {
		l.ReadBytes = 16 << 20
	}
	if l.TextBytes <= 0 {
		l.TextBytes = 80_000
	}
	if l.BinaryBytes <= 0 {
		l.BinaryBytes = 4 << 20
	}
	if l.AnswerBytes <= 0 {
		l.AnswerBytes = 16 << 20
	}
	// One answer at the largest size it may keep always fits.
	l.AnswerBytes = max(l.AnswerBytes, int64(fileJSONBytes(l)), logJSONBytes+1)
	return l
}

// Server serves the tools with mcp-go. It holds the stages of a tool call
// (handler), each a small type of its own file, configured once here.
type Server struct {
	mcp     *server.MCPServer
	mode    Mode
	tools   map[string]*Tool
	keyless map[string]bool // ExtraTools: no key needed over HTTP
	log     *slog.Logger
	obs     Observer

	// The stages of a call, in order (handler).
	sel      selector
	localOff string // select: why local-file arguments are refused ("": they are on)
	valid    validator
	defaults map[string]string // bind: Options.Defaults
	res      *resources        // bind: the resource context
	local    *localFiles       // after bind: local-file transfers (nil: off)
	send     sender
	shape    shaper
	fail     failures
	notify   notifier // progress notifications (waits, local trees)
}

// NewServer builds the MCP server for the given tools.
func NewServer(o Options) *Server {
	limits := o.Limits.withDefaults()
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Settings.KeyMissing == "" {
		o.Settings.KeyMissing = "No API key is configured."
	}
	host := ""
	if o.BaseURL != nil {
		host = o.BaseURL.Host
	}
	s := &Server{
		mode: o.Mode, tools: map[string]*Tool{}, keyless: map[string]bool{},
		// Every record is scrubbed with the key of the call it belongs to.
		log:      slog.New(ScrubLogHandler(o.Logger.Handler())),
		obs:      observerOrNop(o.Observer),
		defaults: o.Defaults,
	}
	s.sel = selector{limiter: newKeyLimiter(o.RateLimit), keyMissing: o.Settings.KeyMissing, obs: s.obs}
	s.send = sender{timeout: o.Timeout, limits: limits, answers: newAnswerBudget(limits.AnswerBytes), log: s.log}
	catalog := o.Catalog
	if catalog == nil {
		catalog = o.Tools
	}
	s.res = newResources(o.Resources, catalog, &s.send, s.log)
	s.valid.res = s.res
	s.fail = failures{host: host, timeout: o.Timeout, settings: o.Settings, hints: o.Hints, res: s.res}
	s.shape = shaper{limits: limits, hints: o.Hints, settings: o.Settings}
	opts := []server.ServerOption{
		server.WithToolCapabilities(false),
		// Not server.WithRecovery: that turns a panic into a JSON-RPC
		// internal error; a tool result lets the model carry on.
		server.WithToolHandlerMiddleware(s.recoverTool),
		server.WithInstructions(BuildInstructions(o.Instructions, o.Toolsets, o.Tools, o.Mock)),
	}
	if o.Mode == ModeHTTP {
		// Only an HTTP request narrows the tools (its X-MIOSA-* headers,
		// select.go); with a filter registered, mcp-go copies the tool into
		// a fresh slice for it on every call.
		opts = append(opts, server.WithToolFilter(s.filterForRequest))
		// Over HTTP a call returns only once its notifications are written
		// (notify.go); over stdio the loop's one writer orders them.
		opts = append(opts, server.WithToolHandlerMiddleware(notificationFlush))
	}
	opts = append(opts, observerOptions(s.obs)...)
	if o.Mode == ModeStdio || o.Logging {
		// Over stateless HTTP mcp-go keeps one log level for every caller,
		// so logging is only advertised where there is a single caller.
		opts = append(opts, server.WithLogging())
	}
	s.mcp = server.NewMCPServer(o.Name, o.Version, opts...)
	s.notify = notifier{mcp: s.mcp, log: s.log, obs: s.obs}
	o.Tools = s.setupLocal(o)
	pollTools := map[string]string{} // the first GET tool of each operation
	var st []server.ServerTool
	for i := range o.Tools {
		t := &o.Tools[i]
		s.tools[t.Name] = t
		if _, dup := pollTools[t.Operation]; !dup && t.Method == http.MethodGet {
			pollTools[t.Operation] = t.Name
		}
		st = append(st, server.ServerTool{Tool: t.MCPTool(), Handler: s.handler(t)})
	}
	s.shape.wait = &waiter{
		send: &s.send, shape: &s.shape, fail: &s.fail, notify: &s.notify,
		poll: o.PollInterval, pollTools: pollTools, obs: s.obs,
	}
	st = append(st, o.ExtraTools...)
	for _, t := range o.ExtraTools {
		s.keyless[t.Tool.Name] = true
	}
	s.mcp.AddTools(st...)
	return s
}

// MCP returns the underlying mcp-go server.
func (s *Server) MCP() *server.MCPServer { return s.mcp }

// Tool returns an enabled tool by name.
func (s *Server) Tool(name string) (*Tool, bool) { t, ok := s.tools[name]; return t, ok }
