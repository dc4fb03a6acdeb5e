package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/mock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeKey looks like a real key; no command may print it.
const fakeKey = "msk_u_live_7f3a9c2e51d84b6f"

type result struct {
	code           int
	stdout, stderr string
}

// run executes the CLI in-process with the given environment.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := app.Run(ctx, args, app.Env{
		Getenv: func(k string) string { return env[k] },
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
	})
	return result{code, out.String(), errb.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func TestConfigSnippetPerClient(t *testing.T) {
	env := map[string]string{"MIOSA_API_KEY": fakeKey}
	tests := []struct {
		client      string
		serversKey  string // where the server entry lives
		keyRef      string // how the snippet references the key
		args        []string
		stderrHints []string
	}{
		{"claude-code", "mcpServers", "${MIOSA_API_KEY}", []string{}, []string{".mcp.json", "~/.claude.json",
			`claude mcp add-json --scope user miosa '{"type":"stdio","command":"miosa-mcp","env":{"MIOSA_API_KEY":"${MIOSA_API_KEY}"}}'`, "does not read ~/.claude/mcp.json"}},
		{"gemini", "mcpServers", "$MIOSA_API_KEY", []string{}, []string{"~/.gemini/settings.json", "trustedFolders.json", "TRUST_FOLDER"}},
		{"cursor", "mcpServers", "${env:MIOSA_API_KEY}", []string{"--toolsets", "core"}, []string{"~/.cursor/mcp.json", "40 tools"}},
		{"windsurf", "mcpServers", "${env:MIOSA_API_KEY}", []string{"--toolsets", "core"}, []string{"~/.codeium/windsurf/mcp_config.json", "50 tools", "Cascade"}},
		{"vscode", "servers", "${input:miosa-api-key}", []string{"--toolsets", "core"}, []string{".vscode/mcp.json", "128 tools"}},
		{"claude-desktop", "mcpServers", "msk_u_REPLACE_WITH_YOUR_KEY", []string{}, []string{"claude_desktop_config.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			r := run(t, env, "config", tt.client)
			if r.code != 0 {
				t.Fatalf("want exit 0:\n%s", r)
			}
			if strings.Contains(r.stdout+r.stderr, fakeKey) {
				t.Fatalf("the key from the environment was printed:\n%s", r)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatalf("stdout is not JSON (%v):\n%s", err, r.stdout)
			}
			servers, _ := doc[tt.serversKey].(map[string]any)
			entry, _ := servers["miosa"].(map[string]any)
			if entry == nil {
				t.Fatalf("no %s.miosa entry in %s", tt.serversKey, r.stdout)
			}
			if entry["command"] != "miosa-mcp" {
				t.Errorf("command = %v, want miosa-mcp", entry["command"])
			}
			gotArgs, _ := json.Marshal(entry["args"])
			wantArgs, _ := json.Marshal(tt.args)
			if string(gotArgs) != string(wantArgs) {
				t.Errorf("args = %s, want %s", gotArgs, wantArgs)
			}
			envBlock, _ := entry["env"].(map[string]any)
			if envBlock["MIOSA_API_KEY"] != tt.keyRef {
				t.Errorf("env.MIOSA_API_KEY = %v, want %q", envBlock["MIOSA_API_KEY"], tt.keyRef)
			}
			for _, h := range tt.stderrHints {
				if !strings.Contains(r.stderr, h) {
					t.Errorf("stderr lacks %q:\n%s", h, r.stderr)
				}
			}
			if tt.client == "vscode" {
				inputs, _ := doc["inputs"].([]any)
				in, _ := inputs[0].(map[string]any)
				if in["id"] != "miosa-api-key" || in["password"] != true {
					t.Errorf("vscode input = %v, want a password prompt with id miosa-api-key", in)
				}
			}
		})
	}
}

// TestConfigSnippetHostedAndTOML covers the snippets that are not a stdio
// mcpServers entry: the hosted endpoint (*-http) and Codex's TOML. The real
// clients read them in test/clients.
func TestConfigSnippetHostedAndTOML(t *testing.T) {
	env := map[string]string{"MIOSA_API_KEY": fakeKey}
	tests := []struct {
		client      string
		stdout      []string // exact lines or fragments of the snippet
		stderrHints []string
	}{
		{"claude-code-http", []string{`"type": "http"`, `"url": "https://api.miosa.ai/api/v1/mcp"`, `"Authorization": "Bearer ${MIOSA_API_KEY}"`},
			[]string{`claude mcp add --scope user --transport http miosa https://api.miosa.ai/api/v1/mcp --header 'Authorization: Bearer ${MIOSA_API_KEY}'`, "Single quotes"}},
		{"gemini-http", []string{`"httpUrl": "https://api.miosa.ai/api/v1/mcp"`, `"Authorization": "Bearer $MIOSA_API_KEY"`}, []string{"~/.gemini/settings.json", "TRUST_FOLDER"}},
		{"codex", []string{"[mcp_servers.miosa]\ncommand = \"miosa-mcp\"\nargs = []\nenv_vars = [\"MIOSA_API_KEY\"]"}, []string{"~/.codex/config.toml", "env_vars"}},
		{"codex-http", []string{"[mcp_servers.miosa]\nurl = \"https://api.miosa.ai/api/v1/mcp\"\nbearer_token_env_var = \"MIOSA_API_KEY\""}, []string{"~/.codex/config.toml", "bearer_token_env_var"}},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			r := run(t, env, "config", tt.client)
			if r.code != 0 {
				t.Fatalf("want exit 0:\n%s", r)
			}
			if strings.Contains(r.stdout+r.stderr, fakeKey) {
				t.Fatalf("the key from the environment was printed:\n%s", r)
			}
			if lang := app.SnippetLang(tt.client); lang == "json" {
				var doc map[string]any
				if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
					t.Fatalf("stdout is not JSON (%v):\n%s", err, r.stdout)
				}
			} else if lang != "toml" {
				t.Fatalf("SnippetLang = %q", lang)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			for _, h := range tt.stderrHints {
				if !strings.Contains(r.stderr, h) {
					t.Errorf("stderr lacks %q:\n%s", h, r.stderr)
				}
			}
		})
	}
}

func TestConfigBadUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown client", []string{"config", "emacs"}},
		{"no client", []string{"config"}},
		{"two clients", []string{"config", "cursor", "vscode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != 2 {
				t.Fatalf("want exit 2:\n%s", r)
			}
			if r.stdout != "" {
				t.Errorf("stdout should be empty, got %q", r.stdout)
			}
			for _, c := range app.ClientNames() {
				if !strings.Contains(r.stderr, c) {
					t.Errorf("stderr does not list valid client %q:\n%s", c, r.stderr)
				}
			}
		})
	}
}

// TestVersion checks `version` against its sources: the build's version,
// mcp-go's protocol versions, the Go toolchain, and the catalog's size and
// tools/list cost as the generator measured them (docs/tools.md). `internal/dist`'s
// TestBuildIsReproducible checks a stamped release binary the same way.
func TestVersion(t *testing.T) {
	r := run(t, nil, "version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and no stderr:\n%s", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 6 || lines[0] != "miosa-mcp "+app.Version() {
		t.Fatalf("want 6 lines starting with `miosa-mcp %s`:\n%s", app.Version(), r.stdout)
	}
	if want := "go        " + goruntime.Version() + " " + goruntime.GOOS + "/" + goruntime.GOARCH; lines[2] != want {
		t.Errorf("go line %q, want %q", lines[2], want)
	}
	if want := "protocol  " + strings.Join(mcp.ValidProtocolVersions, ", ") + " (initialize negotiates up to " + mcp.LATEST_LEGACY_PROTOCOL_VERSION + ")"; lines[3] != want {
		t.Errorf("protocol line %q, want %q", lines[3], want)
	}
	// The generator's figures, as docs/tools.md states them.
	m := regexp.MustCompile("(\\d+) tools in (\\d+) toolsets; `tools/list` costs (\\d+) bytes, (\\d+) tokens").FindStringSubmatch(readRepoFile(t, "docs/tools.md"))
	if m == nil {
		t.Fatal("docs/tools.md states no catalog cost")
	}
	if want := fmt.Sprintf("catalog   %s tools in %s toolsets; tools/list costs %s bytes, %s tokens (cl100k)", m[1], m[2], m[3], m[4]); lines[4] != want {
		t.Errorf("catalog line %q, want %q (docs/tools.md)", lines[4], want)
	}
	if !strings.HasPrefix(lines[5], "update    npx -y "+app.NPMPackage+"@latest") {
		t.Errorf("update line %q", lines[5])
	}

	r = run(t, nil, "--version")
	if r.code != 0 || r.stdout != "miosa-mcp "+app.Version()+"\n" || r.stderr != "" {
		t.Errorf("--version: want the version line only:\n%s", r)
	}
	if r = run(t, nil, "version", "extra"); r.code != 2 {
		t.Errorf("version extra: want exit 2:\n%s", r)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	tests := []struct {
		args []string
		want []string // in stdout+stderr
	}{
		{[]string{"--help"}, []string{"Usage:", "miosa-mcp http", "miosa-mcp tools", "miosa-mcp call", "miosa-mcp config", "MIOSA_API_KEY"}},
		{[]string{"-h"}, []string{"Usage:", "miosa-mcp config"}},
		{[]string{"help"}, []string{"Usage:", "miosa-mcp config"}},
		{[]string{"stdio", "--help"}, []string{"Usage: miosa-mcp [stdio]", "-toolsets", "-read-only", "-mock"}},
		{[]string{"http", "--help"}, []string{"Usage: miosa-mcp http", "-listen", "-allowed-origins", "-shutdown-grace"}},
		{[]string{"tools", "--help"}, []string{"Usage: miosa-mcp tools", "-json", "-stats"}},
		{[]string{"tools", "describe", "--help"}, []string{"Usage: miosa-mcp tools describe NAME"}},
		{[]string{"call", "--help"}, []string{"Usage: miosa-mcp call NAME", "-out", "-mock"}},
		{[]string{"config", "--help"}, []string{"Usage: miosa-mcp config", "CLIENT", "clients: "}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != 0 {
				t.Fatalf("want exit 0:\n%s", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("help lacks %q:\n%s", w, r)
				}
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	r := run(t, nil, "serve")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "serve"`) || !strings.Contains(r.stderr, "Usage:") {
		t.Fatalf("want exit 2 with the usage:\n%s", r)
	}
}

func TestToolsTable(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		count string
		has   []string
		lacks []string
	}{
		{"all", []string{"tools"}, nil, "151 tools.", []string{"computer_create", "settings_compute_pricing"}, nil},
		{"core profile", []string{"tools", "--toolsets", "core"}, nil, "35 tools.", []string{"sandbox_exec"}, []string{"billing_plan"}},
		{"env selection", []string{"tools"}, map[string]string{"MIOSA_TOOLSETS": "billing,regions"}, "3 tools.", []string{"region_list"}, []string{"sandbox_exec"}},
		{"flag overrides env", []string{"tools", "--toolsets", "regions"}, map[string]string{"MIOSA_TOOLSETS": "billing"}, "1 tools.", []string{"region_list"}, []string{"billing_plan"}},
		{"read-only", []string{"tools", "--toolsets", "sandbox", "--read-only"}, nil, "", []string{"sandbox_list"}, []string{"sandbox_destroy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, tt.args...)
			if r.code != 0 {
				t.Fatalf("want exit 0:\n%s", r)
			}
			if !strings.HasPrefix(r.stdout, "TOOL") {
				t.Errorf("no table header:\n%s", r.stdout)
			}
			if tt.count != "" && !strings.Contains(r.stdout, "\n"+tt.count) {
				t.Errorf("want %q in:\n%s", tt.count, r.stdout)
			}
			for _, h := range tt.has {
				if !strings.Contains(r.stdout, h+" ") {
					t.Errorf("want %s listed", h)
				}
			}
			for _, l := range tt.lacks {
				if strings.Contains(r.stdout, l+" ") {
					t.Errorf("%s should not be listed", l)
				}
			}
		})
	}
}

func TestToolsJSON(t *testing.T) {
	r := run(t, nil, "tools", "--json")
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	var doc struct {
		Tools []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"inputSchema"`
			Annotations map[string]any  `json:"annotations"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if len(doc.Tools) != 151 {
		t.Fatalf("%d tools, want 151", len(doc.Tools))
	}
	seen := map[string]bool{}
	for _, tl := range doc.Tools {
		if seen[tl.Name] {
			t.Errorf("duplicate tool %s", tl.Name)
		}
		seen[tl.Name] = true
		var schema map[string]any
		if err := json.Unmarshal(tl.InputSchema, &schema); err != nil || schema["type"] != "object" {
			t.Errorf("%s: inputSchema is not an object schema: %s", tl.Name, tl.InputSchema)
		}
		if tl.Description == "" || tl.Annotations == nil {
			t.Errorf("%s: missing description or annotations", tl.Name)
		}
	}
}

func TestToolsStats(t *testing.T) {
	r := run(t, nil, "tools", "--stats")
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "toolset tools bytes tokens" {
		t.Errorf("header = %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[strings.Join(f[:len(f)-3], " ")] = f[len(f)-3:]
	}
	for _, ts := range tools.Toolsets {
		if rows[ts.Name] == nil {
			t.Errorf("no row for toolset %s", ts.Name)
		}
	}
	if rows["desktop"] != nil && rows["desktop"][0] != "30" {
		t.Errorf("desktop row = %v, want 30 tools", rows["desktop"])
	}
	total := rows["all (tools/list)"]
	if total == nil || total[0] != "151" {
		t.Fatalf("total row = %v, want 151 tools:\n%s", total, r.stdout)
	}
	if len(lines) != len(tools.Toolsets)+2 {
		t.Errorf("%d lines, want header + %d toolsets + total", len(lines), len(tools.Toolsets))
	}
}

func TestToolsDescribe(t *testing.T) {
	r := run(t, nil, "tools", "describe", "computer_create")
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	for _, w := range []string{"computer_create — Create computer", "POST /computers", "Input schema:", `"template"`, `"wait"`, `"wait_timeout_sec"`, "Boot a Linux desktop VM"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("describe lacks %q:\n%s", w, r.stdout)
		}
	}
	// The schema part is valid JSON.
	schema := r.stdout[strings.Index(r.stdout, "Input schema:\n")+len("Input schema:\n"):]
	if i := strings.Index(schema, "\nOutput schema:"); i >= 0 {
		schema = schema[:i]
	}
	if !json.Valid([]byte(schema)) {
		t.Errorf("input schema is not JSON:\n%s", schema)
	}
}

func TestToolsDescribeUnknown(t *testing.T) {
	r := run(t, nil, "tools", "describe", "computer_explode")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown tool "computer_explode"`) || !strings.Contains(r.stderr, "computer_create") || !strings.Contains(r.stderr, "sandbox_exec") {
		t.Fatalf("want exit 2 listing valid tools:\n%s", r)
	}
}

func TestCallMock(t *testing.T) {
	r := run(t, map[string]string{"MIOSA_API_KEY": fakeKey}, "call", "sandbox_list", "{}", "--mock")
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not JSON (%v):\n%s", err, r.stdout)
	}
	if _, ok := doc["data"]; !ok {
		t.Errorf("no data in %s", r.stdout)
	}
	if !strings.Contains(r.stderr, "OFFLINE MOCK") {
		t.Errorf("stderr does not say the mock is in use:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, fakeKey) {
		t.Errorf("the key was printed:\n%s", r)
	}
}

func TestCallBadUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"invalid JSON", []string{"call", "sandbox_list", "{not json", "--mock"}, "must be a JSON object"},
		{"JSON array", []string{"call", "sandbox_list", "[1]", "--mock"}, "must be a JSON object"},
		{"unknown tool", []string{"call", "sandbox_explode", "{}", "--mock"}, `tool "sandbox_explode" is not enabled`},
		{"no tool", []string{"call"}, "Usage: miosa-mcp call"},
		{"too many arguments", []string{"call", "a", "{}", "{}"}, "Usage: miosa-mcp call"},
		{"unknown flag", []string{"call", "sandbox_list", "--bogus"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("want exit 2 and %q:\n%s", tt.want, r)
			}
		})
	}
}

// TestCallAgainstAPIURLSavesScreenshot drives `call` against an API at
// MIOSA_API_URL (the mock on a loopback httptest server, so state survives
// between calls): create a computer with wait, then save its screenshot with
// --out. The key goes to the API in the Authorization header and nowhere else.
func TestCallAgainstAPIURLSavesScreenshot(t *testing.T) {
	m, err := mock.New(mock.Options{ReadyAfter: mock.Immediately})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	auth := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth[r.Header.Get("Authorization")]++
		mu.Unlock()
		m.ServeHTTP(w, r)
	}))
	defer srv.Close()
	env := map[string]string{"MIOSA_API_URL": srv.URL, "MIOSA_API_KEY": fakeKey}

	r := run(t, env, "call", "computer_create", `{"name": "cli-test", "wait": true, "wait_timeout_sec": 30}`)
	if r.code != 0 {
		t.Fatalf("computer_create: want exit 0:\n%s", r)
	}
	var created struct {
		Data struct{ ID, Status string } `json:"data"`
	}
	if err := json.NewDecoder(strings.NewReader(r.stdout)).Decode(&created); err != nil || created.Data.ID == "" {
		t.Fatalf("computer_create printed no JSON with data.id (%v):\n%s", err, r.stdout)
	}
	if created.Data.Status != "running" || !strings.Contains(r.stdout, "Ready: "+created.Data.ID+" is running") {
		t.Errorf("wait=true should end with the computer running:\n%s", r.stdout)
	}

	out := filepath.Join(t.TempDir(), "shot.png")
	r = run(t, env, "call", "desktop_screenshot", `{"computer_id": "`+created.Data.ID+`"}`, "--out", out)
	if r.code != 0 {
		t.Fatalf("desktop_screenshot: want exit 0:\n%s", r)
	}
	if !strings.Contains(r.stdout, "[image image/png, ") || !strings.Contains(r.stdout, "saved to "+out) {
		t.Errorf("stdout does not say where the image went:\n%s", r.stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", out, err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Errorf("screenshot is %v, want a screen-sized image", b)
	}

	// Without --out the image is described, not dumped on the terminal.
	r = run(t, env, "call", "desktop_screenshot", `{"computer_id": "`+created.Data.ID+`"}`)
	if r.code != 0 || !strings.Contains(r.stdout, "pass --out FILE to save it") || len(r.stdout) > 200 {
		t.Errorf("without --out: want a one-line description:\n%s", r)
	}

	mu.Lock()
	defer mu.Unlock()
	for h, n := range auth {
		if h != "Bearer "+fakeKey {
			t.Errorf("%d requests had Authorization %q, want the Bearer key", n, h)
		}
	}
	if strings.Contains(r.stdout+r.stderr, fakeKey) {
		t.Errorf("the key was printed:\n%s", r)
	}
}

// A one-shot `call --mock` starts an empty mock: ids from earlier calls do
// not exist there, and the error says what to do instead of failing silently.
func TestCallMockUnknownIDExplains(t *testing.T) {
	r := run(t, nil, "call", "desktop_screenshot", `{"computer_id": "cmp_missing"}`, "--mock")
	if r.code != 1 || !strings.Contains(r.stdout, "404") {
		t.Fatalf("want exit 1 with the API's 404 explained:\n%s", r)
	}
}

// TestFunctionInvokeNotDeployed: the docs promise "Function deployment is
// not yet supported via MCP" when no function is deployed; the mock answers
// 404 FUNCTION_NOT_DEPLOYED for a function created without code.
func TestFunctionInvokeNotDeployed(t *testing.T) {
	m, err := mock.New(mock.Options{ReadyAfter: mock.Immediately})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	env := map[string]string{"MIOSA_API_URL": srv.URL, "MIOSA_API_KEY": fakeKey}
	r := run(t, env, "call", "function_create", `{"name": "f1", "runtime": "node20"}`)
	var created struct {
		Data struct{ ID string } `json:"data"`
	}
	if err := json.NewDecoder(strings.NewReader(r.stdout)).Decode(&created); r.code != 0 || err != nil || created.Data.ID == "" {
		t.Fatalf("function_create: %v\n%s", err, r)
	}
	r = run(t, env, "call", "function_invoke", `{"id": "`+created.Data.ID+`", "payload": {"a": 1}}`)
	if r.code != 1 || !strings.Contains(r.stdout, "Function deployment is not yet supported via MCP") {
		t.Fatalf("function_invoke on an undeployed function:\n%s", r)
	}
}

// TestLocalFileSettings: the local-file flags and variables are checked
// at start-up (exit 2 naming the setting), exist for the commands that
// run on the user's machine and not for `http`, and decide whether the
// schemas carry the local arguments.
func TestLocalFileSettings(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"allow-dir that does not exist", nil, []string{"tools", "--allow-dir", missing}, "--allow-dir / MIOSA_ALLOW_DIRS"},
		{"MIOSA_ALLOW_DIRS that does not exist", map[string]string{"MIOSA_ALLOW_DIRS": t.TempDir() + string(filepath.ListSeparator) + missing}, []string{"tools"}, "not a directory"},
		{"max bytes not a number", map[string]string{"MIOSA_LOCAL_MAX_BYTES": "1GB"}, []string{"tools"}, `MIOSA_LOCAL_MAX_BYTES="1GB": must be a whole number of bytes`},
		{"max files zero", map[string]string{"MIOSA_LOCAL_MAX_FILES": "0"}, []string{"tools"}, "MIOSA_LOCAL_MAX_FILES"},
		{"no-local-files not a bool", map[string]string{"MIOSA_NO_LOCAL_FILES": "maybe"}, []string{"tools"}, "MIOSA_NO_LOCAL_FILES"},
		{"flag below 1", nil, []string{"call", "sandbox_list", "--local-max-bytes", "0", "--mock"}, "--local-max-bytes must be at least 1"},
		{"http has no local flags", nil, []string{"http", "--allow-dir", "."}, "flag provided but not defined: -allow-dir"},
		{"http has no --no-local-files", nil, []string{"http", "--no-local-files"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want exit 2 and %q:\n%s", tc.want, r)
			}
		})
	}
	locals := func(r result) int {
		var doc struct {
			Tools []json.RawMessage `json:"tools"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r)
		}
		n := 0
		for _, tl := range doc.Tools {
			if bytes.Contains(tl, []byte(`"local_path"`)) || bytes.Contains(tl, []byte(`"save_to"`)) {
				n++
			}
		}
		return n
	}
	if n := locals(run(t, nil, "tools", "--json")); n != 6 {
		t.Errorf("tools --json: %d tools with a local argument, want 6", n)
	}
	if n := locals(run(t, nil, "tools", "--json", "--no-local-files")); n != 0 {
		t.Errorf("tools --json --no-local-files: %d tools with a local argument", n)
	}
	if n := locals(run(t, map[string]string{"MIOSA_NO_LOCAL_FILES": "true"}, "tools", "--json")); n != 0 {
		t.Errorf("MIOSA_NO_LOCAL_FILES=true: %d tools with a local argument", n)
	}
	if r := run(t, nil, "tools", "describe", "sandbox_upload"); r.code != 0 || !strings.Contains(r.stdout, "local_path") {
		t.Errorf("tools describe shows the stdio schema with local_path:\n%s", r)
	}
}
