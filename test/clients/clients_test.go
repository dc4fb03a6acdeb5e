package clients_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/test/clients/fakemodel"
)

// Transports the suite runs each client over.
const (
	overStdio = "stdio"
	overHTTP  = "http"
)

// session is one client run: its scratch directories and what it talks to.
type session struct {
	e         env
	home, dir string // HOME and the working directory (the "project")
	shimDir   string // holds the miosa-mcp shim, first on PATH
	keyFile   string // where the shim records the MIOSA_API_KEY it got
	model     string // the fake model's base URL
	mcpURL    string // HTTP transport: the MCP endpoint
	prompt    string
}

// baseEnv is a clean environment: PATH (shim, pinned Node, system), HOME,
// the key the configs reference, and switches that keep a CLI from calling
// home (nothing outside loopback is reachable anyway).
func (s *session) baseEnv(extra ...string) []string {
	return append([]string{
		"PATH=" + s.shimDir + ":" + s.e.nodeBin + ":/usr/bin:/bin",
		"HOME=" + s.home,
		"TMPDIR=" + os.TempDir(),
		"MIOSA_API_KEY=" + mockKey,
		"NO_COLOR=1",
		"TERM=dumb",
	}, extra...)
}

// clientDef is how the suite installs a config into one client and starts
// it headless against the fake model.
type clientDef struct {
	name    string // as in known_failures.yml
	dialect fakemodel.Dialect
	// configure writes the client's MCP config the way a user would (the
	// snippet `miosa-mcp config` prints, or the CLI's own `mcp add`).
	configure func(t *testing.T, s *session, transport string)
	// command returns the headless invocation.
	command func(s *session) (name string, args []string, env []string)
}

// snippet runs `miosa-mcp config NAME` and returns stdout.
func snippet(t *testing.T, e env, name string) string {
	t.Helper()
	out, err := exec.Command(e.bin, "config", name).Output()
	if err != nil {
		t.Fatalf("miosa-mcp config %s: %v", name, err)
	}
	return string(out)
}

// localURL points a hosted-endpoint snippet at the suite's HTTP server.
func localURL(snip string, s *session) string {
	return strings.ReplaceAll(snip, "https://api.miosa.ai/api/v1/mcp", s.mcpURL)
}

var claudeCode = clientDef{
	name:    "claude-code",
	dialect: fakemodel.Anthropic,
	configure: func(t *testing.T, s *session, transport string) {
		// The README's commands, run as written (no shell: the single
		// quotes of the README are what keeps ${MIOSA_API_KEY} literal).
		var args []string
		if transport == overStdio {
			args = []string{"mcp", "add-json", "--scope", "user", "miosa", claudeStdioEntry(t, s.e)}
		} else {
			args = []string{"mcp", "add", "--scope", "user", "--transport", "http", "miosa", s.mcpURL,
				"--header", "Authorization: Bearer ${MIOSA_API_KEY}"}
		}
		ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
		defer cancel()
		out, errOut, err := run(ctx, s.dir, s.baseEnv(), filepath.Join(s.e.modules, ".bin", "claude"), args...)
		if err != nil {
			t.Fatalf("claude %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		assertPlaceholderKept(t, filepath.Join(s.home, ".claude.json"), "${MIOSA_API_KEY}")
	},
	command: func(s *session) (string, []string, []string) {
		return filepath.Join(s.e.modules, ".bin", "claude"),
			[]string{"-p", s.prompt, "--allowedTools", "mcp__miosa", "--output-format", "json"},
			s.baseEnv("ANTHROPIC_BASE_URL="+s.model, "ANTHROPIC_API_KEY=sk-ant-fake-model",
				"DISABLE_AUTOUPDATER=1", "DISABLE_TELEMETRY=1", "DISABLE_ERROR_REPORTING=1",
				"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1")
	},
}

// claudeStdioEntry is the server entry of `miosa-mcp config claude-code`
// in the shape `claude mcp add-json` takes.
func claudeStdioEntry(t *testing.T, e env) string {
	t.Helper()
	var doc struct {
		MCPServers map[string]map[string]any `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(snippet(t, e, "claude-code")), &doc); err != nil {
		t.Fatal(err)
	}
	entry := doc.MCPServers["miosa"]
	entry["type"] = "stdio"
	b, _ := json.Marshal(entry)
	return string(b)
}

var geminiCLI = clientDef{
	name:    "gemini-cli",
	dialect: fakemodel.Gemini,
	configure: func(t *testing.T, s *session, transport string) {
		name := "gemini"
		if transport == overHTTP {
			name = "gemini-http"
		}
		var settings map[string]any
		if err := json.Unmarshal([]byte(localURL(snippet(t, s.e, name), s)), &settings); err != nil {
			t.Fatal(err)
		}
		settings["security"] = map[string]any{"auth": map[string]any{"selectedType": "gemini-api-key"}}
		settings["privacy"] = map[string]any{"usageStatisticsEnabled": false}
		settings["general"] = map[string]any{"enableAutoUpdate": false, "enableAutoUpdateNotification": false}
		writeJSONFile(t, filepath.Join(s.home, ".gemini", "settings.json"), settings)
		// The trusted-folder requirement, met as the README says.
		writeJSONFile(t, filepath.Join(s.home, ".gemini", "trustedFolders.json"), map[string]string{s.dir: "TRUST_FOLDER"})
	},
	command: func(s *session) (string, []string, []string) {
		return filepath.Join(s.e.nodeBin, "node"),
			[]string{filepath.Join(s.e.modules, "@google", "gemini-cli", "bundle", "gemini.js"),
				"-p", s.prompt, "--yolo", "--output-format", "json"},
			s.baseEnv("GOOGLE_GEMINI_BASE_URL="+s.model, "GEMINI_API_KEY=fake-model-key")
	},
}

var codex = clientDef{
	name:    "codex",
	dialect: fakemodel.Responses,
	configure: func(t *testing.T, s *session, transport string) {
		name := "codex"
		if transport == overHTTP {
			name = "codex-http"
		}
		// A custom model provider for the fake model, then the snippet as
		// printed. model is a real slug so Codex uses that model's metadata
		// (tool search included), as a user's session would.
		provider := fmt.Sprintf("model = %q\nmodel_provider = \"fake\"\n\n[model_providers.fake]\nname = \"fake model\"\nbase_url = %q\nwire_api = \"responses\"\nenv_key = \"FAKE_MODEL_KEY\"\n\n",
			codexModel, s.model+"/v1")
		writeFile(t, filepath.Join(s.home, ".codex", "config.toml"), provider+localURL(snippet(t, s.e, name), s))
	},
	command: func(s *session) (string, []string, []string) {
		return filepath.Join(s.e.modules, ".bin", "codex"),
			// Headless, approval policy "never": the MIOSA tools are
			// approved up front, as --allowedTools and --yolo do for the
			// other two (Codex asks before any tool not marked read-only).
			[]string{"exec", "--skip-git-repo-check", "--json",
				"-c", `mcp_servers.miosa.default_tools_approval_mode="approve"`, s.prompt},
			s.baseEnv("CODEX_HOME="+filepath.Join(s.home, ".codex"), "FAKE_MODEL_KEY=fake-model-key")
	},
}

// codexModel is the model slug the fake provider claims to serve.
const codexModel = "gpt-5.5"

var allClients = []clientDef{claudeCode, geminiCLI, codex}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// assertPlaceholderKept fails when a written config holds the key itself
// instead of the placeholder.
func assertPlaceholderKept(t *testing.T, path, placeholder string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), mockKey) {
		t.Errorf("%s holds the API key in clear", path)
	}
	if !strings.Contains(string(b), placeholder) {
		t.Errorf("%s lacks the %s placeholder:\n%s", path, placeholder, b)
	}
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatal(err)
	}
}
