package app

import (
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/tokens"
)

// runTools prints the catalog for humans: a table, JSON (--json, the exact
// tools/list entries), per-toolset costs (--stats), or one tool (describe).
func runTools(args []string, env Env) int {
	if len(args) > 0 && args[0] == "describe" {
		return runDescribe(args[1:], env)
	}
	fs := newFlagSet("tools", "miosa-mcp tools [--toolsets …] [--json] [--stats]", env)
	var c commonFlags
	c.register(fs)
	var l localFlags
	l.register(fs)
	asJSON := fs.Bool("json", false, "print the tools/list entries as JSON")
	stats := fs.Bool("stats", false, "print tools, bytes and cl100k tokens per toolset")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	in, code := buildForCLI(env, &c, &l, fs)
	if in == nil {
		return code
	}
	defer in.close()
	switch {
	case *asJSON:
		list := make([]any, len(in.enabled))
		for i := range in.enabled {
			list[i] = in.enabled[i].MCPTool()
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"tools": list})
	case *stats:
		return printStats(in.enabled, env)
	default:
		w := tabwriter.NewWriter(env.Stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(w, "TOOL\tTOOLSET\tHINTS\tTITLE")
		for _, t := range in.enabled {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Name, t.Toolset, hints(t), t.Title)
		}
		w.Flush()
		fmt.Fprintf(env.Stdout, "\n%d tools. Hints: R read-only, D destructive, I idempotent.\n", len(in.enabled))
	}
	return 0
}

func hints(t runtime.Tool) string {
	h := ""
	if t.Annotations.ReadOnly {
		h += "R"
	}
	if t.Annotations.Destructive {
		h += "D"
	}
	if t.Annotations.Idempotent {
		h += "I"
	}
	if h == "" {
		h = "-"
	}
	return h
}

func printStats(ts []runtime.Tool, env Env) int {
	st, err := tokens.Measure(ts)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	counts := map[string]int{}
	for _, t := range st.Tools {
		counts[t.Toolset]++
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 2, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "toolset\ttools\tbytes\ttokens\t")
	for _, r := range st.ByToolset() {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t\n", r.Toolset, counts[r.Toolset], r.Bytes, r.Tokens)
	}
	fmt.Fprintf(w, "all (tools/list)\t%d\t%d\t%d\t\n", len(ts), st.TotalBytes, st.TotalTokens)
	w.Flush()
	return 0
}

func runDescribe(args []string, env Env) int {
	fs := newFlagSet("tools describe", "miosa-mcp tools describe NAME", env)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	var c commonFlags
	var l localFlags
	in, code := buildForCLI(env, &c, &l, fs)
	if in == nil {
		return code
	}
	defer in.close()
	name := fs.Arg(0)
	for _, t := range in.catalog {
		if t.Name != name {
			continue
		}
		fmt.Fprintf(env.Stdout, "%s — %s\ntoolset: %s   API: %s %s (%s)   hints: %s\n\n%s\n\nInput schema:\n", t.Name, t.Title, t.Toolset, t.Method, t.Path, t.Operation, hints(t), t.Description)
		printIndented(env, t.InputSchema)
		if t.OutputSchema != nil {
			fmt.Fprintln(env.Stdout, "\nOutput schema:")
			printIndented(env, t.OutputSchema)
		}
		return 0
	}
	names := make([]string, len(in.catalog))
	for i, t := range in.catalog {
		names[i] = t.Name
	}
	sort.Strings(names)
	fmt.Fprintf(env.Stderr, "miosa-mcp: unknown tool %q; valid tools: %s\n", name, strings.Join(names, ", "))
	return 2
}

func printIndented(env Env, raw json.RawMessage) {
	var v any
	json.Unmarshal(raw, &v)
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// buildForCLI builds a server for the CLI commands (inspection and one-shot
// calls); it never serves a transport.
func buildForCLI(env Env, c *commonFlags, l *localFlags, fs *flag.FlagSet) (*instance, int) {
	cfg, err := loadConfig(env, c, fs)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return nil, 2
	}
	local, err := loadLocal(&cfg, l, fs)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return nil, 2
	}
	in, err := build(cfg, serverOpts{mode: runtime.ModeStdio, mock: c.mock, local: local}, env.Stderr)
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return nil, 2
	}
	return in, 0
}
