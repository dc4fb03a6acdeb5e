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
		body: func() any {
			return map[string]any{"mcp_servers": map[string]any{"miosa": map[string]any{
				"command": "miosa-mcp", "args": []string{}, "env_vars": []string{"MIOSA_API_KEY"},
			}}}
		},
	},
	"codex-http": {
		file: "~/.codex/config.toml",
		lang: "toml",
		note: "Codex sends Authorization: Bearer with the value of the environment variable bearer_token_env_var names; the key is never written into the file.",
		body: func() any {
			return map[string]any{"mcp_servers": map[string]any{"miosa": map[string]any{
				"url": HostedMCPURL, "bearer_token_env_var": "MIOSA_API_KEY",
			}}}
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

// clientConfig is one `miosa-mcp config` entry: body is rendered as JSON,
// or as TOML tables when lang is "toml" (Codex).
type clientConfig struct {
	file, note string
	lang       string // the snippet's language: "json" (default) or "toml"
	body       func() any
}

// render writes a snippet body in the entry's language.
func (c clientConfig) render(body any) ([]byte, error) {
	if c.Lang() == "toml" {
		return renderTOML(body)
	}
	return json.MarshalIndent(body, "", "  ")
}

// renderTOML writes the one shape Codex's snippets have: top-level tables
// of tables ({"mcp_servers": {"miosa": {key: string or []string}}}) as
// [mcp_servers.miosa] with command and args first, then the other keys sorted.
func renderTOML(body any) ([]byte, error) {
	var b strings.Builder
	top, _ := body.(map[string]any)
	for _, section := range sortedKeys(top) {
		tables, ok := top[section].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("toml: %s is not a table of tables", section)
		}
		for _, name := range sortedKeys(tables) {
			kv, ok := tables[name].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("toml: %s.%s is not a table", section, name)
			}
			fmt.Fprintf(&b, "[%s.%s]\n", section, name)
			keys := sortedKeys(kv)
			sort.SliceStable(keys, func(i, j int) bool { return tomlRank(keys[i]) < tomlRank(keys[j]) })
			for _, k := range keys {
				v, err := json.Marshal(kv[k]) // a JSON string or string array is valid TOML
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(&b, "%s = %s\n", k, strings.ReplaceAll(string(v), `","`, `", "`))
			}
		}
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

func tomlRank(k string) int {
	switch k {
	case "command", "url":
		return 0
	case "args":
		return 1
	}
	return 2
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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
	return c.render(c.body())
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
	body, n := viaNPX(c.body())
	if n == 0 {
		return nil, fmt.Errorf("--npx: %s's snippet does not start miosa-mcp; --npx applies to %s", name, strings.Join(NPXClients(), ", "))
	}
	return c.render(body)
}

// NPXClients returns the clients `config --npx` has a snippet for, sorted.
func NPXClients() []string {
	var out []string
	for _, n := range ClientNames() {
		if _, k := viaNPX(Clients[n].body()); k > 0 {
			out = append(out, n)
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
	note = strings.ReplaceAll(note, "-- miosa-mcp", "-- npx -y "+NPMPackage)
	note = strings.ReplaceAll(note, `"command":"miosa-mcp"`, `"command":"npx","args":["-y","`+NPMPackage+`"]`)
	return note +
		"\n# npx runs " + NPMPackage + " from npm (Node 18+, no Go): the first start downloads it, later starts use npm's cache." +
		"\n# On Windows, clients that cannot start npx directly need \"command\": \"cmd\" with \"args\": [\"/c\", \"npx\", \"-y\", \"" + NPMPackage + "\", …]."
}

// runConfig prints the snippet on stdout (pipe-able into the file) and the
// where/how notes on stderr.
func runConfig(args []string, env Env) int {
	fs := newFlagSet("config", "miosa-mcp config [--npx] CLIENT\n\nclients: "+strings.Join(ClientNames(), ", "), env)
	npx := fs.Bool("npx", false, "start the server with `npx -y "+NPMPackage+"` (no Go or installed binary needed)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
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
