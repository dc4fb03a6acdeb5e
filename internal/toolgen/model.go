package toolgen

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
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
	Result                            string
	Logs                              bool
	Wait                              *WaitSpec
	WaitOp                            *Operation
	Handler                           string
	Errors                            []ErrorSpec
	SendsIdempotencyKey               bool   // the operation accepts Idempotency-Key; the runtime sends one
	Body                              string // "", "json" or "raw"
	Line                              int
}

// Arg binds one tool argument to where it goes in the request.
type Arg struct {
	Name, API, In  string
	Fixed, Default json.RawMessage
	EnvDefault     string
	Transform      string
	Hidden         bool
	GoType         string // path params: Go type of the generated client parameter
}

// Annotations are the four MCP tool hints, always all set.
type Annotations struct {
	ReadOnly, Destructive, Idempotent, OpenWorld bool
}

var toolNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
var argNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// problems collects every disagreement so one run reports all of them.
type problems []string

func (p *problems) addf(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

// buildTools checks tools.yaml against the spec in both directions and
// resolves every tool. It returns all problems found, not just the first.
func buildTools(tf *ToolsFile, ops map[string]*Operation, opOrder []string, composites map[string]bool) ([]*Tool, problems) {
	var probs problems
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
			t, tp := resolveTool(ts.Name, spec, op, ops, composites)
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
	return tools, probs
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

func resolveTool(toolset string, spec *ToolSpec, op *Operation, ops map[string]*Operation, composites map[string]bool) (*Tool, []string) {
	var probs []string
	t := &Tool{
		Name: spec.Name, Toolset: toolset, Title: strings.TrimSpace(spec.Title),
		Description: strings.Join(strings.Fields(spec.Description), " "),
		Operation:   op, Result: spec.Result, Logs: spec.Logs, Handler: spec.Handler, Line: spec.line,
		Errors: spec.Errors,
	}
	for i, e := range spec.Errors {
		if strings.TrimSpace(e.Message) == "" || (e.Status == 0 && e.Code == "" && e.Contains == "") {
			probs = append(probs, fmt.Sprintf("errors[%d]: needs a message and at least one of status, code, contains", i))
		}
	}
	if t.Result == "" {
		t.Result = "json"
	}
	switch t.Result {
	case "json", "image", "file":
	default:
		probs = append(probs, fmt.Sprintf("result must be json, image or file, got %q", t.Result))
	}
	if spec.Handler != "" && !composites[spec.Handler] {
		probs = append(probs, fmt.Sprintf("handler %q is not a known composite handler (known: %s)", spec.Handler, strings.Join(sortedKeys(composites), ", ")))
	}
	if spec.Handler == "" && len(spec.ExtraArgs) > 0 {
		probs = append(probs, "extra_args are only for composite tools (set handler)")
	}

	props := map[string]any{}
	var required []string
	apiSeen := map[string]bool{}
	addArg := func(api, in string, schema map[string]any, req bool, goType string) {
		apiSeen[api] = true
		a := Arg{Name: api, API: api, In: in, GoType: goType}
		as, custom := spec.Args[api]
		if in == InExtra || in == InControl {
			custom = false // args: customises API fields only
		}
		if api == idempotencyHeader && in == InHeader {
			t.SendsIdempotencyKey = true
			a.Hidden = true
			t.Args = append(t.Args, a)
			return
		}
		if custom {
			if as.Name != "" {
				a.Name = as.Name
			}
			if as.Description != "" {
				schema["description"] = as.Description
			}
			if as.Fixed != nil {
				a.Fixed = mustJSON(as.Fixed)
				a.Hidden = true
			}
			if as.Hide {
				if req && as.Fixed == nil && as.Default == nil && spec.Handler == "" {
					probs = append(probs, fmt.Sprintf("args.%s: cannot hide a required argument without fixed or default", api))
				}
				a.Hidden = true
			}
			if as.Default != nil {
				a.Default = mustJSON(as.Default)
				schema["default"] = normalizeYAML(as.Default)
				req = false
			}
			if as.EnvDefault != "" {
				if as.EnvDefault != "MIOSA_DEFAULT_TEMPLATE" {
					probs = append(probs, fmt.Sprintf("args.%s: env_default %q is not a server setting (only MIOSA_DEFAULT_TEMPLATE)", api, as.EnvDefault))
				}
				a.EnvDefault = as.EnvDefault
				req = false
				delete(schema, "default") // the effective default is the server's setting
				d, _ := schema["description"].(string)
				schema["description"] = strings.TrimSpace(d + " (default: server's " + as.EnvDefault + ")")
			}
			if as.Required {
				req = true
			}
			switch as.Transform {
			case "":
			case "base64":
				a.Transform = "base64"
			default:
				probs = append(probs, fmt.Sprintf("args.%s: unknown transform %q (known: base64)", api, as.Transform))
			}
		}
		if !argNameRE.MatchString(a.Name) {
			probs = append(probs, fmt.Sprintf("argument %q is not a valid argument name", a.Name))
		}
		t.Args = append(t.Args, a)
		if a.Hidden {
			return
		}
		if _, clash := props[a.Name]; clash {
			probs = append(probs, fmt.Sprintf("argument name %q is used twice (rename one in args)", a.Name))
		}
		props[a.Name] = schema
		if req {
			required = append(required, a.Name)
		}
	}

	in := &converter{input: true}
	// Path parameters in template order, then query and header parameters by name.
	byName := map[string]*openapi3.Parameter{}
	for _, p := range op.Params {
		byName[p.Value.In+":"+p.Value.Name] = p.Value
	}
	for _, name := range pathParamOrder(op.Path) {
		p := byName["path:"+name]
		if p == nil {
			probs = append(probs, fmt.Sprintf("path parameter %s of %s is not declared", name, op.ID))
			continue
		}
		s, err := paramSchema(in, p, op.ID)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		goType := "string"
		if s["type"] == "integer" {
			goType = "int"
		}
		addArg(name, InPath, s, true, goType)
	}
	var rest []*openapi3.Parameter
	for _, p := range op.Params {
		if p.Value.In == "query" || p.Value.In == "header" {
			rest = append(rest, p.Value)
		}
	}
	sort.Slice(rest, func(i, j int) bool {
		if rest[i].In != rest[j].In {
			return rest[i].In > rest[j].In // query before header
		}
		return rest[i].Name < rest[j].Name
	})
	for _, p := range rest {
		s, err := paramSchema(in, p, op.ID)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		addArg(p.Name, p.In, s, p.Required, "")
	}
	if body, _ := jsonBodySchema(op.Op); body != nil {
		t.Body = "json"
		s, err := in.convert(body, op.ID+" body")
		if err != nil {
			probs = append(probs, err.Error())
		} else if s["type"] != "object" {
			probs = append(probs, fmt.Sprintf("%s: JSON request body must be an object", op.ID))
		} else {
			req := map[string]bool{}
			for _, r := range asStrings(s["required"]) {
				req[r] = true
			}
			bp := s["properties"].(map[string]any)
			for _, name := range sortedKeys(bp) {
				if apiSeen[name] {
					probs = append(probs, fmt.Sprintf("body property %q clashes with a parameter of the same name", name))
					continue
				}
				addArg(name, InBody, bp[name].(map[string]any), req[name], "")
			}
		}
	} else if rawBody(op.Op) {
		t.Body = "raw"
		addArg("content", InRaw, map[string]any{"type": "string", "description": "Object content"}, true, "")
		addArg("encoding", InRaw, map[string]any{"type": "string", "enum": []any{"utf8", "base64"}, "default": "utf8", "description": "How content is encoded"}, false, "")
		addArg("content_type", InRaw, map[string]any{"type": "string", "default": "application/octet-stream", "description": "MIME type stored with the object"}, false, "")
	}
	for _, api := range sortedKeys(spec.Args) {
		if !apiSeen[api] {
			probs = append(probs, fmt.Sprintf("args.%s: %s has no parameter or body property %q", api, op.ID, api))
		}
	}
	for _, name := range sortedKeys(spec.ExtraArgs) {
		ea := spec.ExtraArgs[name]
		s := map[string]any{"type": ea.Type}
		if ea.Description != "" {
			s["description"] = ea.Description
		}
		if ea.Minimum != nil {
			s["minimum"] = *ea.Minimum
		}
		if ea.Maximum != nil {
			s["maximum"] = *ea.Maximum
		}
		switch ea.Type {
		case "string", "integer", "number", "boolean":
		default:
			probs = append(probs, fmt.Sprintf("extra_args.%s: type must be string, integer, number or boolean", name))
		}
		addArg(name, InExtra, s, ea.Required, "")
	}
	if spec.Logs {
		if !apiSeen["lines"] {
			addArg("lines", InControl, map[string]any{}, false, "")
		}
		// The runtime enforces the same bounds when it cuts the snapshot.
		props["lines"] = map[string]any{"type": "integer", "minimum": 1, "maximum": runtime.MaxLogLines, "default": runtime.DefaultLogLines, "description": "Return the last N lines"}
	}
	if spec.Wait != nil {
		t.Wait = spec.Wait
		t.WaitOp = ops[spec.Wait.Operation]
		switch {
		case t.WaitOp == nil:
			probs = append(probs, fmt.Sprintf("wait.operation %q does not exist", spec.Wait.Operation))
		case t.WaitOp.Method != http.MethodGet || len(pathParamOrder(t.WaitOp.Path)) != 1:
			probs = append(probs, fmt.Sprintf("wait.operation %s must be a GET with exactly one path parameter", spec.Wait.Operation))
		}
		if spec.Wait.Field == "" || len(spec.Wait.Ready) == 0 || spec.Wait.ID == "" {
			probs = append(probs, "wait needs id, field and ready")
		}
		if arg, ok := strings.CutPrefix(spec.Wait.ID, "arg:"); ok {
			if _, exists := props[arg]; !exists {
				probs = append(probs, fmt.Sprintf("wait.id names argument %q, which the tool does not have", arg))
			}
		}
		addArg("wait", InControl, map[string]any{"type": "boolean", "default": false, "description": "Block until ready, sending progress"}, false, "")
		addArg("wait_timeout_sec", InControl, map[string]any{"type": "integer", "minimum": 1, "maximum": runtime.MaxWaitTimeoutSec, "default": runtime.DefaultWaitTimeoutSec, "description": "Max seconds to wait"}, false, "")
	}
	t.Input = map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		t.Input["required"] = sortedCopy(required)
	}
	t.Annotations = deriveAnnotations(op.Method, spec.Annotations)
	if t.Annotations.ReadOnly && t.Annotations.Destructive {
		probs = append(probs, "annotations: a tool cannot be both read_only and destructive")
	}
	out, wrap, err := outputSchema(op, t.Result)
	if err != nil {
		probs = append(probs, err.Error())
	}
	t.Output, t.WrapOutput = out, wrap
	return t, probs
}

func paramSchema(c *converter, p *openapi3.Parameter, opID string) (map[string]any, error) {
	if p.Schema == nil {
		return nil, fmt.Errorf("%s: parameter %s has no schema", opID, p.Name)
	}
	s, err := c.convert(p.Schema, opID+" "+p.Name)
	if err != nil {
		return nil, err
	}
	if p.Description != "" {
		s["description"] = p.Description
	}
	return s, nil
}

// deriveAnnotations follows the HTTP method's semantics, then applies the
// tools.yaml overrides. openWorld is true: every tool reaches the cloud.
func deriveAnnotations(method string, o *AnnotationSpec) Annotations {
	a := Annotations{OpenWorld: true}
	switch method {
	case http.MethodGet, http.MethodHead:
		a.ReadOnly, a.Idempotent = true, true
	case http.MethodDelete, http.MethodPut:
		a.Destructive, a.Idempotent = true, true
	}
	if o != nil {
		a.ReadOnly = ptrOr(o.ReadOnly, a.ReadOnly)
		a.Destructive = ptrOr(o.Destructive, a.Destructive)
		a.Idempotent = ptrOr(o.Idempotent, a.Idempotent)
		a.OpenWorld = ptrOr(o.OpenWorld, a.OpenWorld)
	}
	return a
}

// outputSchema derives the advisory output schema from the first 2xx JSON
// response. Non-object JSON is wrapped as {"result": …} because MCP requires
// outputSchema to describe an object.
func outputSchema(op *Operation, result string) (map[string]any, bool, error) {
	if result != "json" {
		return nil, false, nil
	}
	_, resp := successResponse(op.Op)
	if resp == nil {
		return nil, false, fmt.Errorf("%s: no 2xx response", op.ID)
	}
	mt := resp.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil, false, nil
	}
	c := &converter{input: false}
	s, err := c.convert(mt.Schema, op.ID+" response")
	if err != nil {
		return nil, false, err
	}
	if s["type"] == "object" {
		return shallow(s, 0), false, nil
	}
	return map[string]any{"type": "object", "properties": map[string]any{"result": shallow(s, 1)}}, true, nil
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
