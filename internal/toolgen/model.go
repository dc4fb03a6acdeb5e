package toolgen

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Arg locations, mirrored by internal/runtime.
const (
	InPath    = "path"
	InQuery   = "query"
	InHeader  = "header"
	InBody    = "body"    // top-level property of the JSON request body
	InRaw     = "raw"     // content/encoding/content_type of a raw-bytes body
	InControl = "control" // runtime controls: wait, wait_timeout_sec, lines
	InExtra   = "extra"   // composite-handler arguments
)

// pathLikeExt marks a string path parameter that may hold slashes (an
// object key, a file path); every other string path parameter is an id and
// declares a pattern. The runtime checks the two kinds differently
// (runtime.Call.PathLike and runtime.Call.Path).
const pathLikeExt = "x-path-like"

// pathLikeType is Arg.GoType for a path-like parameter: a string read with
// Call.PathLike.
const pathLikeType = "path-like"

// idempotencyHeader is set by the runtime, never by the caller.
const idempotencyHeader = "Idempotency-Key"

// Tool is the generator's resolved view of one tool.
type Tool struct {
	Name, Toolset, Title, Description string
	Operation                         *Operation
	Args                              []Arg
	Input                             map[string]any
	Output                            map[string]any // nil: no structured output
	WrapOutput                        bool           // non-object JSON is wrapped as {"result": …}
	Annotations                       Annotations
	Result                            string // json, image, file or logs (tools.yaml logs: true)
	Wait                              *WaitSpec
	WaitOp                            *Operation
	Handler                           string
	Errors                            []ErrorSpec
	SendsIdempotencyKey               bool   // the operation accepts Idempotency-Key; the runtime sends one
	Body                              string // "", "json" or "raw"
	Local                             *LocalTool
	Resource                          *ResourceArg // the id a call may omit (tools.yaml resources:, fallback:)
	Line                              int
}

// LocalTool is a resolved `local:` declaration. Input and Description are
// the tool's input schema with the local argument and its description
// with a sentence about it, served over stdio.
type LocalTool struct {
	Arg, Direction, Field, Encoding, Remote string
	Set                                     map[string]json.RawMessage
	Input                                   map[string]any
	Description                             string
}

// Arg binds one tool argument to where it goes in the request.
type Arg struct {
	Name, API, In  string
	Fixed, Default json.RawMessage
	EnvDefault     string
	Transform      string
	Hidden         bool
	GoType         string // path params: Go type of the generated client parameter, or pathLikeType
}

// Annotations are the four MCP tool hints, always all set.
type Annotations struct {
	ReadOnly, Destructive, Idempotent, OpenWorld bool
}

var toolNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
var argNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// toolWordRE finds what reads as a tool name in prose (snake_case words),
// so that hints never advise a tool the catalog does not have.
var toolWordRE = regexp.MustCompile(`\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b`)

// problems collects every disagreement so one run reports all of them.
type problems []string

func (p *problems) addf(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

// buildTools checks tools.yaml against the spec in both directions and
// resolves every tool. It returns all problems found, not just the first.
func buildTools(tf *ToolsFile, ops map[string]*Operation, opOrder []string, composites map[string]bool) ([]*Tool, []*Resource, problems) {
	var probs problems
	kinds := resourceKinds(tf, &probs)
	if tf.Version != 1 {
		probs.addf("tools.yaml: version must be 1, got %d", tf.Version)
	}
	used := map[string]bool{}
	names := map[string]string{}
	toolsets := map[string]bool{}
	var tools []*Tool
	for _, ts := range tf.Toolsets {
		if !regexp.MustCompile(`^[a-z][a-z_]*$`).MatchString(ts.Name) {
			probs.addf("tools.yaml: toolset name %q must match [a-z][a-z_]*", ts.Name)
		}
		if toolsets[ts.Name] {
			probs.addf("tools.yaml: toolset %q declared twice", ts.Name)
		}
		toolsets[ts.Name] = true
		for i := range ts.Tools {
			spec := &ts.Tools[i]
			where := fmt.Sprintf("tools.yaml:%d: tool %s", spec.line, spec.Name)
			if !toolNameRE.MatchString(spec.Name) {
				probs.addf("%s: name must match %s (MCP clients cap names at 64 characters)", where, toolNameRE)
			}
			if prev, dup := names[spec.Name]; dup {
				probs.addf("%s: duplicate tool name (also in toolset %s)", where, prev)
			}
			names[spec.Name] = ts.Name
			if strings.TrimSpace(spec.Description) == "" || strings.TrimSpace(spec.Title) == "" {
				probs.addf("%s: title and description are required", where)
			}
			op := ops[spec.Operation]
			if op == nil {
				probs.addf("%s: operation %q does not exist in api/openapi.yaml%s", where, spec.Operation, suggest(spec.Operation, opOrder))
				continue
			}
			used[op.ID] = true
			t, tp := resolveTool(ts.Name, spec, op, ops, composites, kinds)
			for _, p := range tp {
				probs.addf("%s: %s", where, p)
			}
			if t != nil {
				if t.WaitOp != nil {
					used[t.WaitOp.ID] = true
				}
				tools = append(tools, t)
			}
		}
	}
	excluded := map[string]bool{}
	for _, e := range tf.Excluded {
		if ops[e.Operation] == nil {
			probs.addf("tools.yaml: excluded operation %q does not exist in api/openapi.yaml", e.Operation)
		}
		if strings.TrimSpace(e.Reason) == "" {
			probs.addf("tools.yaml: excluded operation %q needs a reason", e.Operation)
		}
		if used[e.Operation] {
			probs.addf("tools.yaml: operation %q is both used by a tool and excluded", e.Operation)
		}
		excluded[e.Operation] = true
	}
	for _, id := range opOrder {
		if !used[id] && !excluded[id] {
			op := ops[id]
			probs.addf("api/openapi.yaml: operation %s (%s %s) is used by no tool; map it in tools.yaml or list it under excluded: with a reason", id, op.Method, op.Path)
		}
	}
	for _, h := range []struct{ key, text string }{
		{"file_too_long", tf.Hints.FileTooLong}, {"file_too_large", tf.Hints.FileTooLarge},
		{"payment_required", tf.Hints.PaymentRequired}, {"timeout", tf.Hints.Timeout},
	} {
		for _, w := range toolWordRE.FindAllString(h.text, -1) {
			if _, ok := names[w]; !ok {
				probs.addf("tools.yaml: hints.%s names %q, which is no tool", h.key, w)
			}
		}
	}
	for _, pname := range sortedKeys(tf.Profiles) {
		if toolsets[pname] {
			probs.addf("tools.yaml: profile %q has the name of a toolset", pname)
		}
		for _, n := range tf.Profiles[pname].Tools {
			if _, ok := names[n]; !ok {
				probs.addf("tools.yaml: profile %s names unknown tool %q", pname, n)
			}
		}
	}
	resources := checkResources(kinds, tools, &probs)
	return tools, resources, probs
}

// suggest proposes the closest operationId for a misspelling.
func suggest(id string, ids []string) string {
	best, bestD := "", 4
	for _, c := range ids {
		if d := editDistance(strings.ToLower(id), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(normalizeYAML(v))
	if err != nil {
		panic(err)
	}
	return b
}

// normalizeYAML turns yaml.v3's map[string]any / map[any]any into JSON-able values.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = normalizeYAML(e)
		}
		return m
	case map[any]any:
		m := map[string]any{}
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeYAML(e)
		}
		return out
	}
	return v
}
