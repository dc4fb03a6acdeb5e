package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	genclient "github.com/miosa-osa/miosa-mcp/gen/client"
	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// catalogSize is the number of tools tools.yaml defines.
const catalogSize = 151

// defaultTemplate is the MIOSA_DEFAULT_TEMPLATE the servers run with.
const defaultTemplate = "e2e-default-template"

// catalog returns the generated tool metadata: the source of the derived
// per-tool expectations.
func catalog(t *testing.T) []runtime.Tool {
	t.Helper()
	cl, err := genclient.NewClient("https://api.invalid/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	all := tools.All(cl)
	if len(all) != catalogSize {
		t.Fatalf("tools.All returned %d tools, want %d", len(all), catalogSize)
	}
	return all
}

// jsonSchema is the subset of JSON Schema the generated input schemas use.
type jsonSchema struct {
	Type                 string                 `json:"type"`
	Properties           map[string]*jsonSchema `json:"properties"`
	Required             []string               `json:"required"`
	Enum                 []any                  `json:"enum"`
	Minimum              *float64               `json:"minimum"`
	Maximum              *float64               `json:"maximum"`
	Format               string                 `json:"format"`
	Pattern              string                 `json:"pattern"`
	Items                *jsonSchema            `json:"items"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	MinItems             int                    `json:"minItems"`
}

// patternExamples are values for the patterns the catalog uses; a new
// pattern fails the test until an example is added here.
var patternExamples = map[string]string{
	`^[0-9]{4}-[0-9]{2}$`: "2026-05",
	`^\w[\w.-]*$`:         "e2e-id_1.0", // ids (api/README.md decision 29)
}

// genArgs builds arguments from a tool's input schema: the required ones,
// plus every optional one when full is set. wait is always false.
func genArgs(tool *runtime.Tool, full bool) (map[string]any, error) {
	var s jsonSchema
	if err := json.Unmarshal(tool.InputSchema, &s); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	req := map[string]bool{}
	for _, r := range s.Required {
		req[r] = true
	}
	args := map[string]any{}
	for _, name := range sortedKeys(s.Properties) {
		if name == "wait" {
			args[name] = false
			continue
		}
		// A resource id a call may omit is given here: omitting it is
		// resources_test.go's.
		if !full && !req[name] && (tool.Resource == nil || tool.Resource.Arg != name) {
			continue
		}
		v, err := genValue(tool.Name, name, s.Properties[name])
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", name, err)
		}
		args[name] = v
	}
	return args, nil
}

// hasOptional reports whether a full argument set differs from the minimal one.
func hasOptional(tool *runtime.Tool) bool {
	full, _ := genArgs(tool, true)
	min, _ := genArgs(tool, false)
	return len(full) != len(min)
}

func genValue(tool, name string, s *jsonSchema) (any, error) {
	switch s.Type {
	case "string":
		switch {
		case len(s.Enum) > 0:
			return s.Enum[0], nil
		case s.Format == "date-time":
			return "2026-01-02T03:04:05Z", nil
		case s.Format != "":
			return nil, fmt.Errorf("no generator for format %q", s.Format)
		case s.Pattern != "":
			if v := stringValue(tool, name); regexp.MustCompile(s.Pattern).MatchString(v) {
				return v, nil // the usual per-tool value, when the pattern allows it
			}
			ex, ok := patternExamples[s.Pattern]
			if !ok || !regexp.MustCompile(s.Pattern).MatchString(ex) {
				return nil, fmt.Errorf("no example for pattern %q", s.Pattern)
			}
			return ex, nil
		}
		return stringValue(tool, name), nil
	case "integer":
		lo, hi := 0.0, 40.0
		if s.Minimum != nil {
			lo = *s.Minimum
			hi = lo + 40
		}
		if s.Maximum != nil {
			hi = *s.Maximum
		}
		return int64(lo + math.Floor((hi-lo)/2)), nil
	case "number":
		lo := 0.0
		if s.Minimum != nil {
			lo = *s.Minimum
		}
		v := lo + 1.5
		if s.Maximum != nil && v > *s.Maximum {
			v = *s.Maximum
		}
		return v, nil
	case "boolean":
		return true, nil
	case "object":
		if len(s.Properties) > 0 {
			obj := map[string]any{}
			for _, k := range sortedKeys(s.Properties) {
				v, err := genValue(tool, k, s.Properties[k])
				if err != nil {
					return nil, err
				}
				obj[k] = v
			}
			return obj, nil
		}
		var ap jsonSchema
		if len(s.AdditionalProperties) > 0 && s.AdditionalProperties[0] == '{' {
			if err := json.Unmarshal(s.AdditionalProperties, &ap); err != nil {
				return nil, err
			}
			v, err := genValue(tool, "E2E_VAR", &ap)
			if err != nil {
				return nil, err
			}
			return map[string]any{"E2E_VAR": v}, nil
		}
		return map[string]any{"e2e_" + name: "value-" + tool}, nil
	case "array":
		if s.Items == nil {
			return nil, fmt.Errorf("array without items")
		}
		n := max(1, s.MinItems)
		out := make([]any, 0, n+1)
		for i := range n + 1 {
			v, err := genValue(tool, fmt.Sprintf("%s%d", name, i), s.Items)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("no generator for type %q", s.Type)
}

// stringValue is a distinct, recognisable value per tool and argument, so a
// swapped or misnamed mapping shows. Identifiers are plain; paths and keys
// contain a slash and a space; other strings carry characters that need
// escaping in a query (& =) and non-ASCII text.
func stringValue(tool, name string) string {
	lower := strings.ToLower(name)
	switch {
	case name == "id":
		return "id-" + tool
	case strings.HasSuffix(lower, "_id") || strings.HasSuffix(name, "Id"):
		return name + "-" + tool
	case name == "path" || name == "key" || name == "prefix":
		return "dir/e2e file-" + tool
	case name == "content_type":
		return "application/x-e2e"
	case strings.HasSuffix(lower, "url"):
		return "https://example.com/e2e/" + tool
	}
	return name + "-" + tool + " é&="
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wantRequest is one upstream request a tool call must produce.
type wantRequest struct {
	Method      string
	Path        string     // escaped, including /api/v1
	Query       url.Values // compared parsed (nil: no query)
	RawQuery    *string    // compared exactly when set (hand-written cases)
	JSON        any        // expected JSON body (decoded); nil: see Raw
	Raw         []byte     // expected raw body; nil and JSON nil: no body
	ContentType string     // for Raw
	Idempotent  bool       // an Idempotency-Key header must be present
	Headers     map[string]string
}

// expectFromMeta derives the upstream request(s) of a call from the
// generated metadata, resolving each argument the way the docs describe:
// fixed value, else the caller's value (hidden arguments cannot be passed),
// else the default, else the server setting.
func expectFromMeta(tool *runtime.Tool, args map[string]any, defaults map[string]string) ([]wantRequest, error) {
	for _, a := range tool.Args {
		if a.In == runtime.InExtra {
			return compositeExpect(tool, args)
		}
	}
	w := wantRequest{Method: tool.Method, Path: "/api/v1" + tool.Path, Idempotent: tool.SendsIdempotencyKey}
	var body map[string]any
	raw := map[string]any{}
	for _, a := range tool.Args {
		v, ok, err := resolveArg(&a, args, defaults)
		if err != nil {
			return nil, err
		}
		switch a.In {
		case runtime.InPath:
			if !ok {
				return nil, fmt.Errorf("path parameter %s has no value", a.API)
			}
			s, err := scalar(v)
			if err != nil {
				return nil, fmt.Errorf("path parameter %s: %w", a.API, err)
			}
			ph := "{" + a.API + "}"
			if !strings.Contains(w.Path, ph) {
				return nil, fmt.Errorf("path %s has no placeholder %s", tool.Path, ph)
			}
			w.Path = strings.ReplaceAll(w.Path, ph, url.PathEscape(s))
		case runtime.InQuery:
			if ok {
				s, err := scalar(v)
				if err != nil {
					return nil, fmt.Errorf("query parameter %s: %w", a.API, err)
				}
				if w.Query == nil {
					w.Query = url.Values{}
				}
				w.Query.Add(a.API, s)
			}
		case runtime.InHeader:
			if a.API == "Idempotency-Key" {
				continue
			}
			if ok {
				s, err := scalar(v)
				if err != nil {
					return nil, err
				}
				if w.Headers == nil {
					w.Headers = map[string]string{}
				}
				w.Headers[a.API] = s
			}
		case runtime.InBody:
			if body == nil {
				body = map[string]any{}
			}
			if ok {
				body[a.API] = v
			}
		case runtime.InRaw:
			if ok {
				raw[a.Name] = v
			}
		case runtime.InControl:
		default:
			return nil, fmt.Errorf("argument %s has unknown location %d", a.Name, a.In)
		}
	}
	if strings.ContainsAny(w.Path, "{}") {
		return nil, fmt.Errorf("unresolved path parameter in %s", w.Path)
	}
	if body != nil {
		w.JSON = normalizeJSON(body)
	}
	if hasRaw(tool) {
		content, _ := raw["content"].(string)
		enc, _ := raw["encoding"].(string)
		w.ContentType, _ = raw["content_type"].(string)
		if w.ContentType == "" {
			w.ContentType = "application/octet-stream"
		}
		switch enc {
		case "", "utf8":
			w.Raw = []byte(content)
		case "base64":
			b, err := base64.StdEncoding.DecodeString(content)
			if err != nil {
				return nil, err
			}
			w.Raw = b
		default:
			return nil, fmt.Errorf("unknown encoding %q", enc)
		}
	}
	return []wantRequest{w}, nil
}

func hasRaw(tool *runtime.Tool) bool {
	for _, a := range tool.Args {
		if a.In == runtime.InRaw {
			return true
		}
	}
	return false
}

func resolveArg(a *runtime.Arg, args map[string]any, defaults map[string]string) (any, bool, error) {
	if a.Fixed != nil {
		var v any
		if err := json.Unmarshal(a.Fixed, &v); err != nil {
			return nil, false, err
		}
		return v, true, nil
	}
	if v, ok := args[a.Name]; ok && !a.Hidden {
		switch a.Transform {
		case "":
			return v, true, nil
		case "base64":
			s, ok := v.(string)
			if !ok {
				return nil, false, fmt.Errorf("%s: base64 transform of a non-string", a.Name)
			}
			return base64.StdEncoding.EncodeToString([]byte(s)), true, nil
		}
		return nil, false, fmt.Errorf("%s: unknown transform %q", a.Name, a.Transform)
	}
	if a.Default != nil {
		var v any
		if err := json.Unmarshal(a.Default, &v); err != nil {
			return nil, false, err
		}
		return v, true, nil
	}
	if a.EnvDefault != "" && defaults[a.EnvDefault] != "" {
		return defaults[a.EnvDefault], true, nil
	}
	return nil, false, nil
}

// scalar formats a path, query or header value as it appears on the wire.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("not a scalar: %T", v)
}

// normalizeJSON round-trips v through encoding/json so it compares equal to
// a decoded request body.
func normalizeJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// pythonScript is where sandbox_python writes the snippet.
const pythonScript = "/tmp/_mcp_run.py"

// compositeExpect covers the hand-written handlers (tools.yaml `handler:`),
// whose requests the metadata cannot describe.
func compositeExpect(tool *runtime.Tool, args map[string]any) ([]wantRequest, error) {
	switch tool.Name {
	case "sandbox_python":
		id, _ := args["id"].(string)
		code, _ := args["code"].(string)
		base := "/api/v1/sandboxes/" + url.PathEscape(id)
		exec := map[string]any{"command": "python3 " + pythonScript}
		if timeout, ok := args["timeout"]; ok {
			exec["timeout"] = timeout
		}
		return []wantRequest{
			{Method: "POST", Path: base + "/files", JSON: normalizeJSON(map[string]any{
				"path": pythonScript, "content": base64.StdEncoding.EncodeToString([]byte(code)),
			})},
			{Method: "POST", Path: base + "/exec", JSON: normalizeJSON(exec)},
		}, nil
	case "deployment_publish":
		// With an id, it is the publish alone (without one: resources_test.go).
		id, _ := args["id"].(string)
		body := map[string]any{}
		for _, a := range tool.Args {
			if v, ok := args[a.Name]; ok && a.In == runtime.InBody {
				body[a.API] = v
			}
		}
		return []wantRequest{{Method: "POST", Path: "/api/v1/deployments/" + url.PathEscape(id) + "/publish", JSON: normalizeJSON(body), Idempotent: true}}, nil
	}
	return nil, fmt.Errorf("composite tool %s has no expectation in the e2e suite: add one to compositeExpect", tool.Name)
}

func mustDecode(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}
