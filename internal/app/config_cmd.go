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
		file: "the project's .mcp.json (project scope), or add it to ~/.claude.json (user scope) with claude mcp add-json",
		note: "Claude Code expands ${MIOSA_API_KEY} from your environment; it does not read ~/.claude/mcp.json. For every project (user scope, kept in ~/.claude.json), run:\n" +
			"  " + claudeAddJSON + "\n" +
			"# Single quotes keep the placeholder: `claude mcp add --env MIOSA_API_KEY=\"$MIOSA_API_KEY\"` would write the key itself into ~/.claude.json.\n" +
			"# A project's .mcp.json server starts only once approved: run `claude` in the project and accept it (or list it in enabledMcpjsonServers in ~/.claude/settings.json).",
		body: func() any {
			return map[string]any{"mcpServers": map[string]any{"miosa": map[string]any{
				"command": "miosa-mcp", "args": []string{},
				"env": map[string]string{"MIOSA_API_KEY": "${MIOSA_API_KEY}"},
			}}}
		},
	},
	"claude-code-http": {
		file: "the project's .mcp.json, or add it to ~/.claude.json (user scope) with claude mcp add",
		note: "Claude Code expands ${MIOSA_API_KEY} in headers too. For every project (user scope, kept in ~/.claude.json), run:\n" +
			"  " + claudeAddHTTP + "\n" +
			"# Single quotes keep the placeholder; in double quotes the shell would put the key itself into ~/.claude.json.",
		body: func() any {
			return map[string]any{"mcpServers": map[string]any{"miosa": map[string]any{
				"type": "http", "url": HostedMCPURL,
				"headers": map[string]string{"Authorization": "Bearer ${MIOSA_API_KEY}"},
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
	"gemini": {
		file: "~/.gemini/settings.json (or the project's .gemini/settings.json)",
		note: geminiTrust + " Gemini CLI expands $MIOSA_API_KEY in settings from your environment.",
		body: func() any {
			return map[string]any{"mcpServers": map[string]any{"miosa": map[string]any{
				"command": "miosa-mcp", "args": []string{},
				"env": map[string]string{"MIOSA_API_KEY": "$MIOSA_API_KEY"},
			}}}
		},
	},
	"gemini-http": {
		file: "~/.gemini/settings.json (or the project's .gemini/settings.json)",
		note: geminiTrust + " Gemini CLI expands $MIOSA_API_KEY in headers from your environment.",
		body: func() any {
			return map[string]any{"mcpServers": map[string]any{"miosa": map[string]any{
				"httpUrl": HostedMCPURL,
				"headers": map[string]string{"Authorization": "Bearer $MIOSA_API_KEY"},
			}}}
		},
	},
	"codex": {
		file: "~/.codex/config.toml",
		lang: "toml",
		note: "Codex starts MCP servers with a minimal environment: env_vars forwards MIOSA_API_KEY from yours, so the key is never written into the file.",
		text: func() string {
			return "[mcp_servers.miosa]\ncommand = \"miosa-mcp\"\nargs = []\nenv_vars = [\"MIOSA_API_KEY\"]\n"
		},
	},
	"codex-http": {
		file: "~/.codex/config.toml",
		lang: "toml",
		note: "Codex sends Authorization: Bearer with the value of the environment variable bearer_token_env_var names; the key is never written into the file.",
		text: func() string {
			return "[mcp_servers.miosa]\nurl = \"" + HostedMCPURL + "\"\nbearer_token_env_var = \"MIOSA_API_KEY\"\n"
		},
	},
}

// HostedMCPURL is MIOSA's hosted MCP endpoint (the docs page's "Two ways
// to use MCP"); the *-http snippets point at it.
const HostedMCPURL = "https://api.miosa.ai/api/v1/mcp"

// The Claude Code commands that keep the ${MIOSA_API_KEY} placeholder (test/clients
// runs them against the real CLI).
const (
	claudeAddJSON = `claude mcp add-json --scope user miosa '{"type":"stdio","command":"miosa-mcp","env":{"MIOSA_API_KEY":"${MIOSA_API_KEY}"}}'`
	claudeAddHTTP = `claude mcp add --scope user --transport http miosa ` + HostedMCPURL + ` --header 'Authorization: Bearer ${MIOSA_API_KEY}'`
)

const geminiTrust = "Gemini CLI loads MCP servers only in trusted folders: run `gemini` in the project once and trust it, or add the folder to ~/.gemini/trustedFolders.json as {\"/path/to/project\": \"TRUST_FOLDER\"} (gemini -p in an untrusted folder stops with an error)."

// clientConfig is one `miosa-mcp config` entry: body is rendered as JSON;
// text, when set, is the snippet as it is (TOML for Codex).
type clientConfig struct {
	file, note string
	lang       string // the snippet's language: "json" (default) or "toml"
	body       func() any
	text       func() string
}

// Lang returns the snippet's language, for a fenced code block.
func (c clientConfig) Lang() string {
	if c.lang == "" {
		return "json"
	}
	return c.lang
}

// SnippetLang returns the language of a client's snippet ("json" or "toml").
func SnippetLang(name string) string { return Clients[name].Lang() }

// ClientNames returns the supported client names, sorted.
func ClientNames() []string {
	names := make([]string, 0, len(Clients))
	for n := range Clients {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ConfigSnippet returns the config for a client (JSON, or TOML for
// Codex). The key is never inlined: it is referenced from the environment
// or a secret prompt.
func ConfigSnippet(name string) ([]byte, error) {
	c, ok := Clients[name]
	if !ok {
		return nil, fmt.Errorf("unknown client %q; valid clients: %s", name, strings.Join(ClientNames(), ", "))
	}
	if c.text != nil {
		return []byte(strings.TrimSuffix(c.text(), "\n")), nil
	}
	return json.MarshalIndent(c.body(), "", "  ")
}

// runConfig prints the snippet on stdout (pipe-able into the file) and the
// where/how notes on stderr.
func runConfig(args []string, env Env) int {
	fs := newFlagSet("config", "miosa-mcp config claude-code|cursor|windsurf|vscode|claude-desktop", env)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		fmt.Fprintf(env.Stderr, "\nclients: %s\n", strings.Join(ClientNames(), ", "))
		return 2
	}
	b, err := ConfigSnippet(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 2
	}
	c := Clients[fs.Arg(0)]
	fmt.Fprintln(env.Stdout, string(b))
	fmt.Fprintf(env.Stderr, "\n# Put this in %s\n# %s\n", c.file, c.note)
	return 0
}
