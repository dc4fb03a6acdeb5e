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
  MIOSA_NO_LOCAL_FILES, MIOSA_ALLOW_DIRS, MIOSA_LOCAL_MAX_BYTES, MIOSA_LOCAL_MAX_FILES
                          local files (stdio): same as --no-local-files, --allow-dir, --local-max-*

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

// localFlags are the local-file flags of the commands that run on the
// user's machine (stdio, call, tools); `http` has none.
type localFlags struct {
	allowDirs []string
	off       bool
	maxBytes  int64
	maxFiles  int
}

func (l *localFlags) register(fs *flag.FlagSet) {
	fs.Func("allow-dir", "a directory local paths may use when the client declares no roots, besides the working directory (repeatable). Env MIOSA_ALLOW_DIRS", func(v string) error {
		l.allowDirs = append(l.allowDirs, v)
		return nil
	})
	fs.BoolVar(&l.off, "no-local-files", false, "turn off the local-file arguments (local_path, save_to). Env MIOSA_NO_LOCAL_FILES")
	fs.Int64Var(&l.maxBytes, "local-max-bytes", runtime.DefaultLocalMaxBytes, "bytes one call may move to or from local files. Env MIOSA_LOCAL_MAX_BYTES")
	fs.IntVar(&l.maxFiles, "local-max-files", runtime.DefaultLocalMaxFiles, "files one directory upload may send. Env MIOSA_LOCAL_MAX_FILES")
}

// apply lets the flags override the environment.
func (l *localFlags) apply(cfg *LocalConfig, fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["allow-dir"] {
		cfg.AllowDirs = l.allowDirs
	}
	if set["no-local-files"] {
		cfg.Off = l.off
	}
	if set["local-max-bytes"] {
		if l.maxBytes < 1 {
			return fmt.Errorf("--local-max-bytes must be at least 1")
		}
		cfg.MaxBytes = l.maxBytes
	}
	if set["local-max-files"] {
		if l.maxFiles < 1 {
			return fmt.Errorf("--local-max-files must be at least 1")
		}
		cfg.MaxFiles = l.maxFiles
	}
	return nil
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

// loadLocal applies the local-file flags to cfg and returns the runtime's
// local-file settings (nil when off).
func loadLocal(cfg *Config, l *localFlags, fs *flag.FlagSet) (*runtime.LocalFiles, error) {
	if err := l.apply(&cfg.Local, fs); err != nil {
		return nil, err
	}
	return localFiles(cfg.Local)
}

func loadConfig(env Env, c *commonFlags, fs *flag.FlagSet) (Config, error) {
	cfg, err := LoadConfig(env.Getenv)
	if err != nil {
		return cfg, err
	}
	c.apply(&cfg, fs)
	return cfg, nil
}
