package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

const repoRoot = "../.."

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// envVarsRead returns every environment variable the binary reads, by
// recording the Getenv calls of a command that loads the configuration.
func envVarsRead(t *testing.T) []string {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]bool{}
	var out, errb bytes.Buffer
	code := app.Run(context.Background(), []string{"tools"}, app.Env{
		Getenv: func(k string) string {
			mu.Lock()
			defer mu.Unlock()
			seen[k] = true
			return ""
		},
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
	})
	if code != 0 {
		t.Fatalf("tools exited %d: %s", code, errb.String())
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) < 5 {
		t.Fatalf("recorded only %v", names)
	}
	return names
}

type kvInput struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Value       string   `json:"value"`
	Default     *string  `json:"default"`
	Format      string   `json:"format"`
	Choices     []string `json:"choices"`
	IsRequired  bool     `json:"isRequired"`
	IsSecret    bool     `json:"isSecret"`
	Variables   map[string]struct {
		IsRequired bool `json:"isRequired"`
		IsSecret   bool `json:"isSecret"`
	} `json:"variables"`
}

type serverJSON struct {
	Schema      string `json:"$schema"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Version     string `json:"version"`
	Repository  struct {
		URL    string `json:"url"`
		Source string `json:"source"`
	} `json:"repository"`
	Packages []serverPackage `json:"packages"`
	Remotes  []struct {
		Type    string    `json:"type"`
		URL     string    `json:"url"`
		Headers []kvInput `json:"headers"`
	} `json:"remotes"`
}

type serverPackage struct {
	RegistryType     string                `json:"registryType"`
	RegistryBaseURL  string                `json:"registryBaseUrl"`
	Identifier       string                `json:"identifier"`
	Version          string                `json:"version"`
	RuntimeHint      string                `json:"runtimeHint"`
	Transport        struct{ Type string } `json:"transport"`
	PackageArguments []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"packageArguments"`
	EnvironmentVariables []kvInput `json:"environmentVariables"`
}

// pkg returns the one package of a registry type.
func (s serverJSON) pkg(t *testing.T, registryType string) serverPackage {
	t.Helper()
	var found []serverPackage
	for _, p := range s.Packages {
		if p.RegistryType == registryType {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("server.json has %d %s packages, want 1", len(found), registryType)
	}
	return found[0]
}

func loadServerJSON(t *testing.T) serverJSON {
	t.Helper()
	raw := readRepoFile(t, "server.json")
	var s serverJSON
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("server.json does not parse: %v", err)
	}
	return s
}

// TestServerJSON checks server.json against the MCP Registry schema's rules
// (2025-09-29) and against what the binary actually reads and serves.
func TestServerJSON(t *testing.T) {
	s := loadServerJSON(t)
	if s.Schema != "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json" {
		t.Errorf("$schema = %q", s.Schema)
	}
	if s.Name != "io.github.miosa-osa/miosa-mcp" || !regexp.MustCompile(`^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$`).MatchString(s.Name) {
		t.Errorf("name = %q", s.Name)
	}
	if n := len([]rune(s.Description)); n < 1 || n > 100 {
		t.Errorf("description is %d characters; the registry allows 1 to 100", n)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(s.Version) {
		t.Errorf("version %q is not semantic", s.Version)
	}
	if s.Repository.URL != "https://github.com/miosa-osa/miosa-mcp" || s.Repository.Source != "github" {
		t.Errorf("repository = %+v", s.Repository)
	}

	// The npm launcher (npx, no Go) and the container image, both stdio.
	npm, oci := s.pkg(t, "npm"), s.pkg(t, "oci")
	if len(s.Packages) != 2 {
		t.Errorf("%d packages, want npm and oci", len(s.Packages))
	}
	for _, p := range []serverPackage{npm, oci} {
		if p.Identifier == "" || p.Version != s.Version || p.Transport.Type != "stdio" {
			t.Errorf("%s package = %+v, want a stdio package at the server's version %s", p.RegistryType, p, s.Version)
		}
	}
	if npm.Identifier != app.NPMPackage || npm.RegistryBaseURL != "https://registry.npmjs.org" || npm.RuntimeHint != "npx" || len(npm.PackageArguments) != 0 {
		t.Errorf("npm package = %+v, want %s from registry.npmjs.org run with npx and no arguments (stdio is the default command)", npm, app.NPMPackage)
	}
	// The image's default command serves HTTP; stdio needs the argument.
	if oci.RuntimeHint != "docker" || len(oci.PackageArguments) != 1 || oci.PackageArguments[0].Type != "positional" || oci.PackageArguments[0].Value != "stdio" {
		t.Errorf("oci packageArguments = %+v, want the positional stdio command", oci.PackageArguments)
	}

	for _, p := range []serverPackage{npm, oci} {
		t.Run(p.RegistryType+" env vars are exactly the ones the binary reads", func(t *testing.T) {
			var listed []string
			byName := map[string]kvInput{}
			for _, e := range p.EnvironmentVariables {
				listed = append(listed, e.Name)
				byName[e.Name] = e
				if e.Description == "" {
					t.Errorf("%s has no description", e.Name)
				}
			}
			sort.Strings(listed)
			if read := envVarsRead(t); !slices.Equal(listed, read) {
				t.Errorf("server.json lists %v\nthe binary reads %v", listed, read)
			}
			key := byName["MIOSA_API_KEY"]
			if !key.IsRequired || !key.IsSecret {
				t.Errorf("MIOSA_API_KEY must be required and secret: %+v", key)
			}
			defaults := map[string]string{
				"MIOSA_API_URL":          app.DefaultAPIURL,
				"MIOSA_DEFAULT_TEMPLATE": app.DefaultTemplate,
				"MIOSA_TIMEOUT_MS":       strconv.FormatInt(runtime.DefaultTimeout.Milliseconds(), 10),
				"MIOSA_LOG_LEVEL":        app.DefaultLogLevel,
				"MIOSA_READ_ONLY":        "false",
			}
			for name, want := range defaults {
				if d := byName[name].Default; d == nil || *d != want {
					t.Errorf("%s default = %v, want %q", name, d, want)
				}
			}
			for _, e := range p.EnvironmentVariables {
				if e.Name != "MIOSA_API_KEY" && (e.IsRequired || e.IsSecret) {
					t.Errorf("%s should be optional and not secret", e.Name)
				}
			}
		})
	}

	t.Run("remote is the hosted endpoint with a Bearer header", func(t *testing.T) {
		if len(s.Remotes) != 1 {
			t.Fatalf("%d remotes, want 1", len(s.Remotes))
		}
		r := s.Remotes[0]
		u, err := url.Parse(r.URL)
		if err != nil || r.Type != "streamable-http" || u.Scheme+"://"+u.Host != app.DefaultAPIURL || !slices.Contains(runtime.MCPPaths, u.Path) {
			t.Errorf("remote = %s %s, want streamable-http at %s + one of %v", r.Type, r.URL, app.DefaultAPIURL, runtime.MCPPaths)
		}
		if len(r.Headers) != 1 {
			t.Fatalf("headers = %+v", r.Headers)
		}
		h := r.Headers[0]
		if h.Name != "Authorization" || !h.IsRequired || !h.IsSecret || h.Value != "Bearer {api_key}" {
			t.Errorf("header = %+v, want a required secret Authorization: Bearer {api_key}", h)
		}
		if v, ok := h.Variables["api_key"]; !ok || !v.IsSecret || !v.IsRequired {
			t.Errorf("the api_key variable must be required and secret: %+v", h.Variables)
		}
		// The value's form is what the server accepts.
		if _, err := runtime.ParseBearer(strings.ReplaceAll(h.Value, "{api_key}", "msk_u_example")); err != nil {
			t.Errorf("the header value is not accepted by the server: %v", err)
		}
	})
}

// TestDockerfile reads the Dockerfile (docker cannot run in CI here) and
// checks what matters: static build, distroless non-root final stage, the
// registry label, and a default command that listens where EXPOSE says.
func TestDockerfile(t *testing.T) {
	df := readRepoFile(t, "Dockerfile")
	s := loadServerJSON(t)
	stages := regexp.MustCompile(`(?m)^FROM `).FindAllStringIndex(df, -1)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a build and a final stage", len(stages))
	}
	build, final := df[:stages[1][0]], df[stages[1][0]:]
	// The image builds with the minor release make pins (scripts/versions.env).
	pin := regexp.MustCompile(`(?m)^GO_TOOLCHAIN=go(\d+\.\d+)`).FindStringSubmatch(readRepoFile(t, "scripts/versions.env"))
	if pin == nil {
		t.Fatal("scripts/versions.env pins no GO_TOOLCHAIN")
	}
	for _, want := range []string{"FROM --platform=$BUILDPLATFORM golang:" + pin[1] + " AS build", "CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X github.com/miosa-osa/miosa-mcp/internal/app.version=${VERSION}"`, "./cmd/miosa-mcp"} {
		if !strings.Contains(build, want) {
			t.Errorf("build stage lacks %q", want)
		}
	}
	for _, want := range []string{
		"FROM gcr.io/distroless/static-debian12:nonroot",
		fmt.Sprintf("LABEL io.modelcontextprotocol.server.name=%q", s.Name),
		"COPY --from=build /out/miosa-mcp /miosa-mcp",
		"USER nonroot:nonroot",
		`ENTRYPOINT ["/miosa-mcp"]`,
		`CMD ["http", "--listen", "0.0.0.0:8787"]`,
		"EXPOSE 8787",
	} {
		if !strings.Contains(final, want) {
			t.Errorf("final stage lacks %q", want)
		}
	}
	if strings.Contains(final, "USER root") || strings.Contains(final, "MIOSA_API_KEY") {
		t.Error("the final stage must not run as root or bake in a key")
	}
	// The CMD is a valid invocation of the binary.
	r := run(t, nil, "http", "--help")
	if r.code != 0 || !strings.Contains(r.stderr, "-listen") {
		t.Errorf("http --help: %s", r)
	}
	// .dockerignore must not drop what the build needs.
	for _, line := range strings.Split(readRepoFile(t, ".dockerignore"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, needed := range []string{"go.mod", "go.sum", "api", "api/openapi.yaml", "cmd", "gen", "internal", "tools.yaml"} {
			if ok, _ := filepath.Match(line, needed); ok {
				t.Errorf(".dockerignore pattern %q excludes %s", line, needed)
			}
		}
	}
}

// TestConfigFitsClientToolCaps runs `tools` with each snippet's arguments:
// the snippet must enable no more tools than the client accepts.
func TestConfigFitsClientToolCaps(t *testing.T) {
	caps := map[string]int{"cursor": 40, "windsurf": 50, "vscode": 128}
	for client, limit := range caps {
		t.Run(client, func(t *testing.T) {
			raw, err := app.ConfigSnippet(client)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				MCPServers, Servers map[string]struct {
					Args []string `json:"args"`
				}
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			entry, ok := doc.MCPServers["miosa"]
			if client == "vscode" {
				entry, ok = doc.Servers["miosa"]
			}
			if !ok {
				t.Fatalf("no miosa entry in %s", raw)
			}
			args := append([]string{"tools", "--json"}, entry.Args...)
			r := run(t, nil, args...)
			var list struct{ Tools []json.RawMessage }
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil {
				t.Fatalf("%v: %s", args, r)
			}
			if n := len(list.Tools); n == 0 || n > limit {
				t.Errorf("%s's snippet enables %d tools; the client accepts at most %d", client, n, limit)
			}
		})
	}
}

// TestREADME keeps the README honest: the editor snippets are exactly what
// `miosa-mcp config` prints, every environment variable the binary reads is
// documented, every make target it names exists, and relative links resolve.
func TestREADME(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	headings := map[string]string{"claude-code": "Claude Code", "claude-code-http": "Claude Code", "gemini": "Gemini CLI", "gemini-http": "Gemini CLI",
		"codex": "Codex", "codex-http": "Codex", "cursor": "Cursor", "windsurf": "Windsurf", "vscode": "VS Code", "claude-desktop": "Claude Desktop"}
	// Each client's section shows the npx snippet (the no-Go path) and names
	// the command for the installed binary too; a hosted (*-http) entry has
	// no npx form and shows its own snippet.
	npx := map[string]bool{}
	for _, c := range app.NPXClients() {
		npx[c] = true
	}
	for _, c := range app.ClientNames() {
		snippet, cmds := app.ConfigSnippet, []string{"miosa-mcp config " + c + "`"}
		if npx[c] {
			snippet, cmds = app.NPXConfigSnippet, append(cmds, "miosa-mcp config --npx "+c+"`")
		}
		b, err := snippet(c)
		if err != nil {
			t.Fatal(err)
		}
		section := markdownSection(readme, "### "+headings[c])
		if section == "" {
			t.Errorf("README has no ### %s section", headings[c])
			continue
		}
		if !strings.Contains(section, "```"+app.SnippetLang(c)+"\n"+string(b)+"\n```") {
			t.Errorf("README's %s section lacks the exact `%s` snippet:\n%s", headings[c], strings.TrimSuffix(cmds[len(cmds)-1], "`"), b)
		}
		for _, cmd := range cmds {
			if !strings.Contains(section, cmd) {
				t.Errorf("README's %s section does not name `%s", headings[c], cmd)
			}
		}
	}
	// The Claude Code commands that keep the placeholder (test/clients runs
	// them against the real CLI); ~/.claude/mcp.json is named only to say
	// Claude Code does not read it (#11).
	for _, line := range []string{
		`claude mcp add-json --scope user miosa '{"type":"stdio","command":"npx","args":["-y","@miosa/mcp"],"env":{"MIOSA_API_KEY":"${MIOSA_API_KEY}"}}'`,
		`claude mcp add-json --scope user miosa '{"type":"stdio","command":"miosa-mcp","env":{"MIOSA_API_KEY":"${MIOSA_API_KEY}"}}'`,
		`claude mcp add --scope user --transport http miosa https://api.miosa.ai/api/v1/mcp --header 'Authorization: Bearer ${MIOSA_API_KEY}'`,
	} {
		if !strings.Contains(readme, line) {
			t.Errorf("README lacks %s", line)
		}
	}
	if n, m := strings.Count(readme, "~/.claude/mcp.json"), strings.Count(readme, "does not read `~/.claude/mcp.json`"); n != m {
		t.Errorf("README names ~/.claude/mcp.json %d times, %d of them to say Claude Code does not read it", n, m)
	}
	// The install section starts with the no-Go path: npx, then the release
	// archives with their checksums, then go install, then the image.
	install := markdownSection(readme, "## Install")
	order := []string{"npx -y " + app.NPMPackage, "sha256sum --ignore-missing -c SHA256SUMS", "go install github.com/miosa-osa/miosa-mcp/cmd/miosa-mcp@latest", "(#container-image)"}
	at := -1
	for _, want := range order {
		i := strings.Index(install, want)
		if i < 0 || i < at {
			t.Errorf("README's Install section: want %q, in the order %q", want, order)
		}
		at = i
	}
	if s := loadServerJSON(t); !strings.Contains(install, "V="+s.Version+";") {
		t.Errorf("README's archive example does not use the release version %s (server.json)", s.Version)
	}
	if first := regexp.MustCompile("(?s)```sh\n(.*?)\n```").FindStringSubmatch(install); first == nil || !strings.HasPrefix(first[1], "npx -y "+app.NPMPackage) {
		t.Error("README's first install command is not npx")
	}
	for _, v := range envVarsRead(t) {
		if !strings.Contains(readme, "| `"+v+"` |") {
			t.Errorf("README's environment table lacks %s", v)
		}
	}
	if !strings.Contains(readme, "```sh\nmake demo   # ") || !strings.Contains(readme, "\nmake test   # ") {
		t.Error("the quick start must be exactly `make demo` and `make test`")
	}
	makefile := readRepoFile(t, "Makefile")
	for _, m := range regexp.MustCompile("`make ([a-z0-9-]+)`").FindAllStringSubmatch(readme, -1) {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).MatchString(makefile) {
			t.Errorf("README names `make %s`, which the Makefile does not define", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(filepath.Join(repoRoot, m[1])); err != nil {
			t.Errorf("README links to %s, which does not exist", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(readme, -1) {
		if !slices.Contains(headingAnchors(readme), m[1]) {
			t.Errorf("README links to #%s, which is no heading", m[1])
		}
	}
}

// markdownSection returns the text from a heading line to the next heading
// of the same or a higher level.
func markdownSection(md, heading string) string {
	i := strings.Index(md, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	rest := md[i+1+len(heading):]
	level := strings.Index(heading, " ")
	if loc := regexp.MustCompile(fmt.Sprintf(`\n#{1,%d} `, level)).FindStringIndex(rest); loc != nil {
		rest = rest[:loc[0]]
	}
	return rest
}

// headingAnchors computes GitHub's anchors for the Markdown headings.
func headingAnchors(md string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^#{1,6} (.+)$`).FindAllStringSubmatch(md, -1) {
		a := strings.ToLower(strings.TrimSpace(m[1]))
		a = regexp.MustCompile("[^a-z0-9 _-]").ReplaceAllString(a, "")
		out = append(out, strings.ReplaceAll(a, " ", "-"))
	}
	return out
}

// TestHostingDoc keeps docs/hosting.md pointing at deploy/kubernetes rather
// than carrying a copy: no inline Deployment, every relative link resolves,
// the `kubectl apply -k` paths are kustomizations, and the schema sources it
// names are the ones deploy/kubernetes/validate pins. The manifests
// themselves are checked against the binary by that module's tests
// (`make k8s-validate`).
func TestHostingDoc(t *testing.T) {
	doc := readRepoFile(t, "docs/hosting.md")
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(doc, -1) {
		if strings.Contains(m[1], "kind: Deployment") {
			t.Error("docs/hosting.md carries an inline Deployment; point at deploy/kubernetes instead")
		}
	}
	for _, m := range regexp.MustCompile(`\]\(\.\./([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(doc, -1) {
		if _, err := os.Stat(filepath.Join(repoRoot, m[1])); err != nil {
			t.Errorf("docs/hosting.md links to %s, which does not exist", m[1])
		}
	}
	applies := regexp.MustCompile(`kubectl apply -k (deploy/kubernetes/[a-z/-]+)`).FindAllStringSubmatch(doc, -1)
	if len(applies) == 0 {
		t.Error("docs/hosting.md does not say how to deploy (kubectl apply -k deploy/kubernetes/…)")
	}
	for _, m := range applies {
		if _, err := os.Stat(filepath.Join(repoRoot, m[1], "kustomization.yaml")); err != nil {
			t.Errorf("docs/hosting.md applies %s, which is no kustomization", m[1])
		}
	}
	if !strings.Contains(doc, "make k8s-validate") || !regexp.MustCompile(`(?m)^k8s-validate:`).MatchString(readRepoFile(t, "Makefile")) {
		t.Error("docs/hosting.md must name `make k8s-validate`, a Makefile target")
	}
	pins := regexp.MustCompile(`Module:\s+"([^"]+)",\s+Version: "([^"]+)"`).FindAllStringSubmatch(readRepoFile(t, "deploy/kubernetes/validate/source.go"), -1)
	if len(pins) != 2 {
		t.Fatalf("deploy/kubernetes/validate/source.go pins %d sources, want 2", len(pins))
	}
	flat := strings.Join(strings.Fields(doc), " ")
	for _, p := range pins {
		if !strings.Contains(flat, "`"+p[1]+"` "+p[2]) {
			t.Errorf("docs/hosting.md does not name the schema source %s %s", p[1], p[2])
		}
	}
}
