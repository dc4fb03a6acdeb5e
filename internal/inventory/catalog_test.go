package inventory_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/miosa-osa/miosa-mcp/gen/client"
	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/tokens"
)

func catalog(t *testing.T) []runtime.Tool {
	t.Helper()
	cl, err := client.NewClient("https://api.miosa.ai/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	return tools.All(cl)
}

// TestSeedNames: the catalog serves exactly the 151 names of the docs page.
func TestSeedNames(t *testing.T) {
	b, err := os.ReadFile("testdata/seed-tools.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(b))
	var got []string
	for _, tool := range catalog(t) {
		got = append(got, tool.Name)
	}
	if len(want) != 151 || !slices.Equal(got, want) {
		t.Fatalf("catalog names differ from the seed list (%d vs %d)\n got: %v\nwant: %v", len(got), len(want), got, want)
	}
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func TestNamesAnnotationsDescriptions(t *testing.T) {
	seen := map[string]bool{}
	composites := 0
	for _, tool := range catalog(t) {
		if !nameRE.MatchString(tool.Name) || seen[tool.Name] {
			t.Errorf("%s: invalid or duplicate name", tool.Name)
		}
		seen[tool.Name] = true
		if len(strings.Fields(tool.Description)) < 4 || tool.Title == "" {
			t.Errorf("%s: needs a title and a real description", tool.Name)
		}
		mt, _ := json.Marshal(tool.MCPTool())
		var m struct {
			Annotations map[string]*bool `json:"annotations"`
		}
		json.Unmarshal(mt, &m)
		for _, k := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
			if m.Annotations[k] == nil {
				t.Errorf("%s: annotation %s is not set", tool.Name, k)
			}
		}
		a := tool.Annotations
		switch tool.Method {
		case "GET":
			if !a.ReadOnly || a.Destructive {
				t.Errorf("%s: GET tools must be read-only and not destructive", tool.Name)
			}
		case "DELETE":
			if a.ReadOnly || (!a.Destructive && tool.Name != "volume_detach") {
				t.Errorf("%s: DELETE tools must be destructive", tool.Name)
			}
		}
		if a.ReadOnly && a.Destructive {
			t.Errorf("%s: read-only and destructive", tool.Name)
		}
		if tool.Call == nil {
			t.Errorf("%s: no handler", tool.Name)
		}
		if tool.Name == "sandbox_python" {
			composites++
		}
	}
}

// TestSchemasCompileAndAreDialectSafe: every schema compiles as JSON Schema
// 2020-12 and avoids what OpenAI strict mode, Gemini or the Anthropic API
// reject.
func TestSchemasCompileAndAreDialectSafe(t *testing.T) {
	for _, tool := range catalog(t) {
		for kind, raw := range map[string]json.RawMessage{"input": tool.InputSchema, "output": tool.OutputSchema} {
			if raw == nil {
				continue
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s %s: %v", tool.Name, kind, err)
			}
			c := jsonschema.NewCompiler()
			c.DefaultDraft(jsonschema.Draft2020)
			if err := c.AddResource("mem:///s.json", doc); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compile("mem:///s.json"); err != nil {
				t.Errorf("%s %s schema does not compile: %v", tool.Name, kind, err)
			}
			root := doc.(map[string]any)
			if root["type"] != "object" {
				t.Errorf("%s %s: root must be an object", tool.Name, kind)
			}
			for _, k := range []string{"oneOf", "anyOf", "allOf", "not", "$schema", "$ref", "$defs"} {
				if _, ok := root[k]; ok {
					t.Errorf("%s %s: top-level %s", tool.Name, kind, k)
				}
			}
			if kind == "input" && root["additionalProperties"] != false {
				t.Errorf("%s: input must set additionalProperties:false", tool.Name)
			}
			walk(t, tool.Name+" "+kind, root, kind == "input")
		}
	}
}

func walk(t *testing.T, where string, s map[string]any, input bool) {
	switch typ := s["type"].(type) {
	case []any:
		t.Errorf("%s: type array %v", where, typ)
	case nil:
		if input {
			t.Errorf("%s: untyped schema", where)
		}
	case string:
		if typ == "array" {
			items, ok := s["items"].(map[string]any)
			if !ok {
				t.Errorf("%s: array without items", where)
			} else {
				walk(t, where+"[]", items, input)
			}
		}
		if typ == "object" {
			props, ok := s["properties"].(map[string]any)
			if !ok && input {
				// Output schemas are advisory and never sent to a model
				// API; they stay shallow to save tokens.
				t.Errorf("%s: object without properties", where)
			}
			req, _ := s["required"].([]any)
			for _, r := range req {
				if _, ok := props[r.(string)]; !ok {
					t.Errorf("%s: required %v is not a property", where, r)
				}
			}
			for k, v := range props {
				walk(t, where+"."+k, v.(map[string]any), input)
			}
			if ap, ok := s["additionalProperties"].(map[string]any); ok {
				walk(t, where+"{}", ap, input)
			}
		}
	}
	if input {
		for _, k := range []string{"oneOf", "anyOf", "allOf", "$ref"} {
			if _, ok := s[k]; ok {
				t.Errorf("%s: %s in an input schema", where, k)
			}
		}
	}
}

func props(t *testing.T, tool runtime.Tool) (map[string]any, []string) {
	var s struct {
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
	}
	if err := json.Unmarshal(tool.InputSchema, &s); err != nil {
		t.Fatal(err)
	}
	return s.Properties, s.Required
}

// TestDocsArgumentNames: the docs page's usage examples and catalog
// argument lists work as written.
func TestDocsArgumentNames(t *testing.T) {
	want := map[string][]string{
		"computer_create":      {"template", "size", "name"},
		"computer_list":        {"workspace_id", "status"},
		"sandbox_create":       {"template", "external_workspace_id", "external_project_id"},
		"deployment_publish":   {"sourceSandboxId", "kind", "outputPath"},
		"cron_create":          {"schedule", "command", "sandboxId"},
		"database_create":      {"name", "region"},
		"database_credentials": {"id"},
		"cron_run_now":         {"id"},
		"desktop_scroll":       {"direction"},
		"sandbox_list":         {"status", "external_workspace_id"},
		"deployment_list":      {"status"},
		"storage_object_list":  {"prefix"},
	}
	byName := map[string]runtime.Tool{}
	for _, tool := range catalog(t) {
		byName[tool.Name] = tool
	}
	for name, args := range want {
		p, _ := props(t, byName[name])
		for _, a := range args {
			if _, ok := p[a]; !ok {
				t.Errorf("%s does not accept %q (has %v)", name, a, keys(p))
			}
		}
	}
	// database_create({name, region}) needs nothing else.
	if _, req := props(t, byName["database_create"]); !slices.Equal(req, []string{"name"}) {
		t.Errorf("database_create requires %v, want only name", req)
	}
	if _, req := props(t, byName["computer_create"]); len(req) != 0 {
		t.Errorf("computer_create requires %v, want nothing", req)
	}
	// desktop_right_click is a click with button fixed to right.
	p, _ := props(t, byName["desktop_right_click"])
	if _, ok := p["button"]; ok {
		t.Errorf("desktop_right_click exposes button")
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// maxCatalogTokens caps the budget tools.yaml may set: the whole catalog
// stays near a tenth of a 200k-token context. It was 22,000 before the id
// patterns of #10 and the local-file arguments of #12.
const maxCatalogTokens = 23000

// TestTokenBudget: tools/list, as stdio serves it (local-file arguments
// included), fits the budget in tools.yaml.
func TestTokenBudget(t *testing.T) {
	var all []any
	maxName, maxTokens := "", 0
	for _, tool := range runtime.LocalVariants(catalog(t)) {
		mt := tool.MCPTool()
		b, _ := json.Marshal(mt)
		n, err := tokens.Count(string(b))
		if err != nil {
			t.Fatal(err)
		}
		if n > maxTokens {
			maxName, maxTokens = tool.Name, n
		}
		if n > tools.Budget.ToolTokens {
			t.Errorf("%s: %d tokens > %d", tool.Name, n, tools.Budget.ToolTokens)
		}
		all = append(all, mt)
	}
	b, _ := json.Marshal(map[string]any{"tools": all})
	n, _ := tokens.Count(string(b))
	if n > tools.Budget.TotalTokens || tools.Budget.TotalTokens > maxCatalogTokens {
		t.Errorf("tools/list = %d tokens, budget %d (must be <= %d)", n, tools.Budget.TotalTokens, maxCatalogTokens)
	}
	t.Logf("tools/list: %d bytes, %d tokens; largest tool %s, %d tokens", len(b), n, maxName, maxTokens)
}

func TestCoreProfileFitsEditorCaps(t *testing.T) {
	for _, p := range tools.Profiles {
		if p.Name == "core" && (len(p.Tools) == 0 || len(p.Tools) > 40) {
			t.Errorf("core profile has %d tools; Cursor accepts 40", len(p.Tools))
		}
	}
}

// TestToolsYAMLMatchesItsSchema validates tools.yaml against tools.schema.json.
func TestToolsYAMLMatchesItsSchema(t *testing.T) {
	raw, err := os.ReadFile("../../tools.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "# yaml-language-server: $schema=./tools.schema.json") {
		t.Error("tools.yaml must start with the yaml-language-server line")
	}
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(v)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	sb, err := os.ReadFile("../../tools.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	sdoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(sb))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	u := (&url.URL{Scheme: "mem", Path: "/tools.schema.json"}).String()
	c.AddResource(u, sdoc)
	s, err := c.Compile(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("tools.yaml does not match tools.schema.json: %v", err)
	}
}

// TestInstructionsBudget: the initialize instructions (built from
// tools.yaml) stay a compact guide.
func TestInstructionsBudget(t *testing.T) {
	cat := catalog(t)
	ins := runtime.BuildInstructions(tools.Instructions, tools.Toolsets, cat, false)
	n, err := tokens.Count(ins)
	if err != nil {
		t.Fatal(err)
	}
	if n > 1500 {
		t.Errorf("instructions are %d tokens, want <= 1500", n)
	}
	for _, ts := range tools.Toolsets {
		if !strings.Contains(ins, ts.Guide) {
			t.Errorf("toolset %s guide missing from the instructions", ts.Name)
		}
	}
	for _, want := range []string{"computer_get", "running", "wait=true", "permanent"} {
		if !strings.Contains(ins, want) {
			t.Errorf("instructions do not mention %q", want)
		}
	}
	// A narrowed server only describes what it serves.
	sel, _ := runtime.Select(cat, tools.Toolsets, tools.Profiles, runtime.Selection{Toolsets: []string{"sandbox"}})
	if small := runtime.BuildInstructions(tools.Instructions, tools.Toolsets, sel, true); strings.Contains(small, "Desktop tools") || !strings.Contains(small, "OFFLINE MOCK") {
		t.Errorf("narrowed/mock instructions wrong:\n%s", small)
	}
	t.Logf("instructions: %d tokens", n)
}

// TestInstructionsFitEveryMode: in every mode and tool selection (--mock or
// not, each profile, read-only, each toolset, local files on or off) the
// instructions stay at or under runtime.MaxInstructionsChars (Claude Code
// cuts at 4,096), the first line says what MIOSA is and what the server
// offers, and the mock notice comes second (#11 §3).
func TestInstructionsFitEveryMode(t *testing.T) {
	cat := catalog(t)
	sels := map[string]runtime.Selection{"all": {}, "read-only": {ReadOnly: true}}
	for _, p := range tools.Profiles {
		sels["profile "+p.Name] = runtime.Selection{Toolsets: []string{p.Name}}
	}
	for _, ts := range tools.Toolsets {
		sels["toolset "+ts.Name] = runtime.Selection{Toolsets: []string{ts.Name}}
	}
	maxLen, maxMode := 0, ""
	for _, name := range sortedKeys(sels) {
		sel, err := runtime.Select(cat, tools.Toolsets, tools.Profiles, sels[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, local := range []bool{false, true} {
			enabled := sel
			if local {
				enabled = runtime.LocalVariants(sel)
			}
			for _, mock := range []bool{false, true} {
				mode := fmt.Sprintf("%s, local files %v, mock %v", name, local, mock)
				ins := runtime.BuildInstructions(tools.Instructions, tools.Toolsets, enabled, mock)
				if len(ins) > maxLen {
					maxLen, maxMode = len(ins), mode
				}
				lines := strings.Split(ins, "\n")
				if !strings.HasPrefix(lines[0], "MIOSA is ") || strings.Contains(strings.ToUpper(lines[0]), "MOCK") {
					t.Errorf("%s: first line %q does not say what MIOSA is", mode, lines[0])
				}
				if mock != (len(lines) > 1 && lines[1] == runtime.MockNotice) {
					t.Errorf("%s: line 2 is %q", mode, lines[min(1, len(lines)-1)])
				}
			}
		}
	}
	if maxLen > runtime.MaxInstructionsChars {
		t.Errorf("instructions are %d characters with %s, over %d", maxLen, maxMode, runtime.MaxInstructionsChars)
	}
	t.Logf("instructions: at most %d characters (%s)", maxLen, maxMode)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestConstraintsInDescriptions: clients strip minimum, maximum and
// default from the schemas (Codex: test/clients), so every top-level
// integer or number argument with both bounds or a default says them in
// its description (#11 §2), e.g. "Max seconds to wait (1-600, default 120)".
func TestConstraintsInDescriptions(t *testing.T) {
	n := 0
	for _, tool := range runtime.LocalVariants(catalog(t)) {
		ps, _ := props(t, tool)
		for name, p := range ps {
			s := p.(map[string]any)
			if s["type"] != "integer" && s["type"] != "number" {
				continue
			}
			d, _ := s["description"].(string)
			lo, hasLo := s["minimum"]
			hi, hasHi := s["maximum"]
			if hasLo && hasHi {
				n++
				if !strings.Contains(d, fmt.Sprintf("%v-%v", lo, hi)) {
					t.Errorf("%s.%s: description %q lacks its range %v-%v", tool.Name, name, d, lo, hi)
				}
			}
			if def, ok := s["default"]; ok {
				n++
				if !strings.Contains(d, fmt.Sprintf("default %v", def)) {
					t.Errorf("%s.%s: description %q lacks its default %v", tool.Name, name, d, def)
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d ranges and defaults checked; the catalog has more", n)
	}
}

// TestOmittableIDs: a resource id is optional and says so exactly when
// its tool may omit it; tools that destroy, delete, stop, restart,
// restore, roll back or detach keep it required (#11 §1).
func TestOmittableIDs(t *testing.T) {
	omittable := 0
	for _, tool := range catalog(t) {
		ra := tool.Resource
		if ra == nil {
			continue
		}
		ps, req := props(t, tool)
		d, _ := ps[ra.Arg].(map[string]any)["description"].(string)
		required := slices.Contains(req, ra.Arg)
		switch ra.Fallback {
		case runtime.FallbackNone:
			if !required || strings.Contains(d, "Omit") {
				t.Errorf("%s: %s never falls back, but required=%v, description %q", tool.Name, ra.Arg, required, d)
			}
		case runtime.FallbackFull, runtime.FallbackHandler:
			omittable++
			if required || !strings.Contains(d, "Omit") {
				t.Errorf("%s: %s may be omitted, but required=%v, description %q", tool.Name, ra.Arg, required, d)
			}
		}
		if ra.Fallback != runtime.FallbackNone && (tool.Method == "DELETE" || regexp.MustCompile(`_(destroy|delete|stop|restart|restore|rollback|detach|promote)$`).MatchString(tool.Name)) {
			t.Errorf("%s: a tool of this kind must never guess its %s (fallback none)", tool.Name, ra.Kind)
		}
	}
	t.Logf("%d tools may omit their resource id", omittable)
}
