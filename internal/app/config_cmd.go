package app

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Clients lists the editors `miosa-mcp config` knows.
var Clients = map[string]clientConfig{
	"claude-code": {
		file: "~/.claude/mcp.json (or the project's .mcp.json)",
		note: "Claude Code expands ${MIOSA_API_KEY} from your environment. Or run:\n  claude mcp add miosa --env MIOSA_API_KEY=\"$MIOSA_API_KEY\" -- miosa-mcp",
		body: func() any {
			return map[string]any{"mcpServers": map[string]any{"miosa": map[string]any{
				"command": "miosa-mcp", "args": []string{},
				"env": map[string]string{"MIOSA_API_KEY": "${MIOSA_API_KEY}"},
			}}}
		},
	},
	"cursor": {
		file: "~/.cursor/mcp.json (Cursor → Settings → MCP)",
		note: "Cursor expands ${env:MIOSA_API_KEY}. Cursor sends at most 40 tools: the core profile fits. Validate the file with: node -e \"JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'))\" ~/.cursor/mcp.json",
		body: func() any {
			return map[string]any{"mcpServers": map[string]any{"miosa": map[string]any{
				"command": "miosa-mcp", "args": []string{"--toolsets", "core"},
				"env": map[string]string{"MIOSA_API_KEY": "${env:MIOSA_API_KEY}"},
			}}}
		},
	},
	"windsurf": {
		file: "~/.codeium/windsurf/mcp_config.json",
		note: "Windsurf expands ${env:MIOSA_API_KEY}; it accepts at most 50 tools, so this uses the core profile. Reload Windsurf; the tools appear in the Cascade panel.",
		body: func() any {
			return map[string]any{"mcpServers": map[string]any{"miosa": map[string]any{
				"command": "miosa-mcp", "args": []string{"--toolsets", "core"},
				"env": map[string]string{"MIOSA_API_KEY": "${env:MIOSA_API_KEY}"},
			}}}
		},
	},
	"vscode": {
		file: ".vscode/mcp.json",
		note: "VS Code prompts for the key once and stores it in its secret storage. VS Code accepts at most 128 tools across all servers and the full catalog has 151, so this uses the core profile (35); add toolsets to the list (e.g. core,storage,databases) while the total stays under 128.",
		body: func() any {
			return map[string]any{
				"inputs": []any{map[string]any{"type": "promptString", "id": "miosa-api-key", "description": "MIOSA API key (msk_u_…)", "password": true}},
				"servers": map[string]any{"miosa": map[string]any{
					"type": "stdio", "command": "miosa-mcp", "args": []string{"--toolsets", "core"},
					"env": map[string]string{"MIOSA_API_KEY": "${input:miosa-api-key}"},
				}},
			}
		},
	},
	"claude-desktop": {
		file: "~/Library/Application Support/Claude/claude_desktop_config.json (macOS) or %APPDATA%\\Claude\\claude_desktop_config.json (Windows)",
		note: "Claude Desktop does not expand environment variables: replace the placeholder with your key in that file only, never in a file you commit.",
		body: func() any {
			return map[string]any{"mcpServers": map[string]any{"miosa": map[string]any{
				"command": "miosa-mcp", "args": []string{},
				"env": map[string]string{"MIOSA_API_KEY": "msk_u_REPLACE_WITH_YOUR_KEY"},
			}}}
		},
	},
}

type clientConfig struct {
	file, note string
	body       func() any
}

// ClientNames returns the supported client names, sorted.
func ClientNames() []string {
	names := make([]string, 0, len(Clients))
	for n := range Clients {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ConfigSnippet returns the JSON config for a client. The key is never
// inlined: it is referenced from the environment or a secret prompt.
func ConfigSnippet(name string) ([]byte, error) {
	c, ok := Clients[name]
	if !ok {
		return nil, fmt.Errorf("unknown client %q; valid clients: %s", name, strings.Join(ClientNames(), ", "))
	}
	return json.MarshalIndent(c.body(), "", "  ")
}

// NPXConfigSnippet is ConfigSnippet for a machine without the binary: the
// client starts `npx -y @miosa/mcp` (packaging/npm), with the same
// arguments and environment. It applies to the snippets that start the
// binary (not to those for a hosted URL).
func NPXConfigSnippet(name string) ([]byte, error) {
	c, ok := Clients[name]
	if !ok {
		return nil, fmt.Errorf("unknown client %q; valid clients: %s", name, strings.Join(ClientNames(), ", "))
	}
	if c.body == nil {
		return nil, fmt.Errorf("--npx: %s's snippet has no npx form; --npx applies to %s", name, strings.Join(NPXClients(), ", "))
	}
	body, n := viaNPX(c.body())
	if n == 0 {
		return nil, fmt.Errorf("--npx: %s's snippet does not start miosa-mcp; --npx applies to %s", name, strings.Join(NPXClients(), ", "))
	}
	return json.MarshalIndent(body, "", "  ")
}

// NPXClients returns the clients `config --npx` has a snippet for, sorted.
func NPXClients() []string {
	var out []string
	for _, n := range ClientNames() {
		if c := Clients[n]; c.body != nil {
			if _, k := viaNPX(c.body()); k > 0 {
				out = append(out, n)
			}
		}
	}
	return out
}

// viaNPX rewrites every server entry that runs the binary
// ("command": "miosa-mcp") to run it through npx, keeping its arguments,
// and counts the entries it rewrote.
func viaNPX(v any) (any, int) {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		if v["command"] == "miosa-mcp" {
			args, _ := v["args"].([]string)
			v["command"], v["args"] = "npx", append([]string{"-y", NPMPackage}, args...)
			n++
		}
		for k, e := range v {
			var m int
			v[k], m = viaNPX(e)
			n += m
		}
	case []any:
		for i, e := range v {
			var m int
			v[i], m = viaNPX(e)
			n += m
		}
	}
	return v, n
}

// npxNote is what the notes say when the snippet uses npx.
func npxNote(note string) string {
	return strings.ReplaceAll(note, "-- miosa-mcp", "-- npx -y "+NPMPackage) +
		"\n# npx runs " + NPMPackage + " from npm (Node 18+, no Go): the first start downloads it, later starts use npm's cache." +
		"\n# On Windows, clients that cannot start npx directly need \"command\": \"cmd\" with \"args\": [\"/c\", \"npx\", \"-y\", \"" + NPMPackage + "\", …]."
}

// runConfig prints the snippet on stdout (pipe-able into the file) and the
// where/how notes on stderr.
func runConfig(args []string, env Env) int {
	fs := newFlagSet("config", "miosa-mcp config [--npx] claude-code|cursor|windsurf|vscode|claude-desktop", env)
	npx := fs.Bool("npx", false, "start the server with `npx -y "+NPMPackage+"` (no Go or installed binary needed)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		fmt.Fprintf(env.Stderr, "\nclients: %s\n", strings.Join(ClientNames(), ", "))
		return 2
	}
	snippet, note := ConfigSnippet, func(n string) string { return n }
	if *npx {
		snippet, note = NPXConfigSnippet, npxNote
	}
	b, err := snippet(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 2
	}
	c := Clients[fs.Arg(0)]
	fmt.Fprintln(env.Stdout, string(b))
	fmt.Fprintf(env.Stderr, "\n# Put this in %s\n# %s\n", c.file, note(c.note))
	return 0
}
