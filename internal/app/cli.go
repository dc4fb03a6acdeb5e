package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// Env is the process environment the command reads.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

const usage = `miosa-mcp — the MCP server for the MIOSA cloud.

Usage:
  miosa-mcp [stdio] [flags]          serve MCP over stdio (what editors spawn)
  miosa-mcp http [flags]             serve stateless streamable HTTP at /mcp and /api/v1/mcp
  miosa-mcp tools [flags]            list the tool catalog (--json, --stats)
  miosa-mcp tools describe NAME      print one tool's description and schemas
  miosa-mcp call NAME '{json}'       call one tool and print the result (--mock for the offline mock)
  miosa-mcp config CLIENT            print the MCP config snippet for claude-code, gemini, codex, cursor, windsurf, vscode or claude-desktop (*-http: the hosted endpoint)
  miosa-mcp version                  print the version, commit, Go and protocol versions, and the catalog's cost

Environment:
  MIOSA_API_KEY           your msk_u_… key (stdio; HTTP callers send Authorization: Bearer)
  MIOSA_API_URL           API host (default https://api.miosa.ai; https unless loopback)
  MIOSA_DEFAULT_TEMPLATE  template when sandbox_create omits one (default miosa-sandbox)
  MIOSA_TIMEOUT_MS        per-request timeout in ms (default 30000)
  MIOSA_LOG_LEVEL         debug, info, warn or error (default warn); logs go to stderr
  MIOSA_LOG_FORMAT        text or json (default text); info adds one line per tool call
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   turn on tracing (OTLP over HTTP); OTEL_SDK_DISABLED=true turns it off
  MIOSA_TOOLSETS, MIOSA_TOOLS, MIOSA_EXCLUDE_TOOLS, MIOSA_READ_ONLY   same as the flags

Run "miosa-mcp COMMAND --help" for a command's flags.
`

// Run executes the command line and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	cmd := "stdio"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		cmd = "help" // the command list, not the stdio flags
	} else if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		cmd = "--version" // one line, for scripts and `npx -y @miosa/mcp --version`
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	case "version":
		return runVersion(args, env)
	case "--version":
		fmt.Fprintf(env.Stdout, "miosa-mcp %s\n", Version())
		return 0
	case "stdio":
		return runStdio(ctx, args, env)
	case "http":
		return runHTTP(ctx, args, env)
	case "tools":
		return runTools(args, env)
	case "call":
		return runCall(ctx, args, env)
	case "config":
		return runConfig(args, env)
	}
	if len(args) == 0 && (cmd == "-h" || cmd == "--help") {
		fmt.Fprint(env.Stdout, usage)
		return 0
	}
	fmt.Fprintf(env.Stderr, "miosa-mcp: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// commonFlags are shared by every command that builds a server.
type commonFlags struct {
	toolsets, tools, exclude string
	readOnly                 bool
	mock                     bool
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.toolsets, "toolsets", "", "comma-separated toolsets or profiles to enable (default all; e.g. core). Env MIOSA_TOOLSETS")
	fs.StringVar(&c.tools, "tools", "", "comma-separated tools to enable (alone: an allowlist). Env MIOSA_TOOLS")
	fs.StringVar(&c.exclude, "exclude-tools", "", "comma-separated tools to disable. Env MIOSA_EXCLUDE_TOOLS")
	fs.BoolVar(&c.readOnly, "read-only", false, "serve only read-only tools (enforced by the server). Env MIOSA_READ_ONLY")
	fs.BoolVar(&c.mock, "mock", false, "serve against the built-in offline mock of the MIOSA API (no account needed)")
}

// apply lets flags override the environment's selection.
func (c *commonFlags) apply(cfg *Config, fs *flag.FlagSet) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["toolsets"] {
		cfg.Selection.Toolsets = runtime.SplitList(c.toolsets)
	}
	if set["tools"] {
		cfg.Selection.Tools = runtime.SplitList(c.tools)
	}
	if set["exclude-tools"] {
		cfg.Selection.Exclude = runtime.SplitList(c.exclude)
	}
	if set["read-only"] {
		cfg.Selection.ReadOnly = c.readOnly
	}
}

func newFlagSet(name, synopsis string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse handles --help (exit 0) and bad flags (exit 2).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

func loadConfig(env Env, c *commonFlags, fs *flag.FlagSet) (Config, error) {
	cfg, err := LoadConfig(env.Getenv)
	if err != nil {
		return cfg, err
	}
	c.apply(&cfg, fs)
	return cfg, nil
}
