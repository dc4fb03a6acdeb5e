package toolgen

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// resolver turns one tools.yaml entry and its operation into a Tool. Each
// step below handles one concept of the tools.yaml language, in the order
// resolveTool runs them; the input schema (props, required) grows as the
// steps bind arguments.
type resolver struct {
	spec       *ToolSpec
	op         *Operation
	ops        map[string]*Operation
	composites map[string]bool
	kinds      map[string]*Resource // tools.yaml resources: by path parameter

	t        *Tool
	props    map[string]any  // input schema properties by tool-facing name
	required []string        // required tool-facing names
	apiSeen  map[string]bool // API names bound so far
	probs    []string
}

// resolveTool resolves one tool, returning every problem found in it.
func resolveTool(toolset string, spec *ToolSpec, op *Operation, ops map[string]*Operation, composites map[string]bool, kinds map[string]*Resource) (*Tool, []string) {
	r := &resolver{
		spec: spec, op: op, ops: ops, composites: composites, kinds: kinds,
		props: map[string]any{}, apiSeen: map[string]bool{},
		t: &Tool{
			Name: spec.Name, Toolset: toolset, Title: strings.TrimSpace(spec.Title),
			Description: strings.Join(strings.Fields(spec.Description), " "),
			Operation:   op, Handler: spec.Handler, Line: spec.line,
		},
	}
	r.errorRules()  // errors:
	r.resultKind()  // result: (and which of logs/wait it allows)
	r.handler()     // handler:, extra_args: needs it
	r.parameters()  // path, query and header parameters, customised by args:
	r.body()        // the JSON or raw request body, customised by args:
	r.unknownArgs() // every args: key names an API field
	r.extraArgs()   // extra_args:
	r.logs()        // logs:
	r.wait()        // wait:
	r.resource()    // fallback: and the resources: kind of a path parameter
	r.describeRanges()
	r.inputSchema()
	r.local()       // local: (a local-file argument, stdio only)
	r.annotations() // annotations:
	r.outputSchema()
	return r.t, r.probs
}

func (r *resolver) addf(format string, a ...any) {
	r.probs = append(r.probs, fmt.Sprintf(format, a...))
}

// errorRules: `errors:` replaces the text of matching upstream errors.
func (r *resolver) errorRules() {
	r.t.Errors = r.spec.Errors
	for i, e := range r.spec.Errors {
		if strings.TrimSpace(e.Message) == "" || (e.Status == 0 && e.Code == "" && e.Contains == "") {
			r.addf("errors[%d]: needs a message and at least one of status, code, contains", i)
		}
		if e.Status != 0 && (e.Status < 100 || e.Status > 599) {
			r.addf("errors[%d]: status %d is not an HTTP status, so the rule would never match", i, e.Status)
		}
	}
}

// resultKind: `result:` says how a success becomes content, and `logs:
// true` makes a JSON result a log snapshot, a kind of its own. An image or
// a file is returned as it came, so `logs` (cutting the last lines) and
// `wait` (polling a JSON status) cannot apply to it, and a log snapshot is
// never awaited: each pair is refused rather than one of it ignored.
func (r *resolver) resultKind() {
	r.t.Result = r.spec.Result
	if r.t.Result == "" {
		r.t.Result = "json"
	}
	switch r.t.Result {
	case "json", "image", "file":
	default:
		r.addf("result must be json, image or file, got %q", r.t.Result)
		return
	}
	if r.t.Result != "json" {
		if r.spec.Logs {
			r.addf("logs: true needs result: json (result: %s is returned whole, so lines would be ignored)", r.t.Result)
		}
		if r.spec.Wait != nil {
			r.addf("wait needs result: json (result: %s has no status to poll)", r.t.Result)
		}
	}
	if r.spec.Logs && r.spec.Wait != nil {
		r.addf("logs and wait cannot be combined (a log snapshot has nothing to wait for)")
	}
	if r.spec.Logs && r.t.Result == "json" {
		r.t.Result = "logs"
	}
}

// handler: `handler:` names a hand-written composite; only composites take
// `extra_args:`.
func (r *resolver) handler() {
	if r.spec.Handler != "" && !r.composites[r.spec.Handler] {
		r.addf("handler %q is not a known composite handler (known: %s)", r.spec.Handler, strings.Join(sortedKeys(r.composites), ", "))
	}
	if r.spec.Handler == "" && len(r.spec.ExtraArgs) > 0 {
		r.addf("extra_args are only for composite tools (set handler)")
	}
}

// parameters binds path parameters in template order, then query and
// header parameters by name (query first).
func (r *resolver) parameters() {
	in := &converter{input: true}
	byName := map[string]*openapi3.Parameter{}
	for _, p := range r.op.Params {
		byName[p.Value.In+":"+p.Value.Name] = p.Value
	}
	for _, name := range pathParamOrder(r.op.Path) {
		p := byName["path:"+name]
		if p == nil {
			r.addf("path parameter %s of %s is not declared", name, r.op.ID)
			continue
		}
		s, err := paramSchema(in, p, r.op.ID)
		if err != nil {
			r.probs = append(r.probs, err.Error())
			continue
		}
		goType := "string"
		switch {
		case s["type"] == "integer":
			goType = "int"
		case p.Extensions[pathLikeExt] == true:
			goType = pathLikeType
			if s["pattern"] != nil {
				r.addf("path parameter %s of %s is %s and has a pattern: declare one or the other", name, r.op.ID, pathLikeExt)
			}
		case s["pattern"] == nil:
			r.addf("path parameter %s of %s declares neither a pattern (an id) nor %s: true (an object key or file path); see api/README.md", name, r.op.ID, pathLikeExt)
		}
		r.bind(name, InPath, s, true, goType)
	}
	var rest []*openapi3.Parameter
	for _, p := range r.op.Params {
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
		s, err := paramSchema(in, p, r.op.ID)
		if err != nil {
			r.probs = append(r.probs, err.Error())
			continue
		}
		r.bind(p.Name, p.In, s, p.Required, "")
	}
}

// body binds the top-level properties of a JSON body by name, or the three
// arguments of a raw-bytes body.
func (r *resolver) body() {
	if body, _ := jsonBodySchema(r.op.Op); body != nil {
		r.t.Body = "json"
		s, err := (&converter{input: true}).convert(body, r.op.ID+" body")
		if err != nil {
			r.probs = append(r.probs, err.Error())
			return
		}
		if s["type"] != "object" {
			r.addf("%s: JSON request body must be an object", r.op.ID)
			return
		}
		req := map[string]bool{}
		for _, n := range asStrings(s["required"]) {
			req[n] = true
		}
		bp := s["properties"].(map[string]any)
		for _, name := range sortedKeys(bp) {
			if r.apiSeen[name] {
				r.addf("body property %q clashes with a parameter of the same name", name)
				continue
			}
			r.bind(name, InBody, bp[name].(map[string]any), req[name], "")
		}
		return
	}
	if rawBody(r.op.Op) {
		r.t.Body = "raw"
		r.bind("content", InRaw, map[string]any{"type": "string", "description": "Object content"}, true, "")
		r.bind("encoding", InRaw, map[string]any{"type": "string", "enum": []any{"utf8", "base64"}, "default": "utf8", "description": "How content is encoded"}, false, "")
		r.bind("content_type", InRaw, map[string]any{"type": "string", "default": "application/octet-stream", "description": "MIME type stored with the object"}, false, "")
	}
}

// unknownArgs: every `args:` key must name a parameter or body property.
func (r *resolver) unknownArgs() {
	for _, api := range sortedKeys(r.spec.Args) {
		if !r.apiSeen[api] {
			r.addf("args.%s: %s has no parameter or body property %q", api, r.op.ID, api)
		}
	}
}

// extraArgs: `extra_args:` are a composite handler's own arguments.
func (r *resolver) extraArgs() {
	for _, name := range sortedKeys(r.spec.ExtraArgs) {
		ea := r.spec.ExtraArgs[name]
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
		case "string", "boolean":
			if ea.Minimum != nil || ea.Maximum != nil {
				r.addf("extra_args.%s: minimum and maximum apply to integer and number arguments, not %s", name, ea.Type)
			}
		case "integer", "number":
		default:
			r.addf("extra_args.%s: type must be string, integer, number or boolean", name)
		}
		r.bind(name, InExtra, s, ea.Required, "")
	}
}

// logs: `logs: true` returns the last `lines` lines of a log snapshot.
func (r *resolver) logs() {
	if !r.spec.Logs {
		return
	}
	if !r.apiSeen["lines"] {
		r.bind("lines", InControl, map[string]any{}, false, "")
	}
	// The runtime enforces the same bounds when it cuts the snapshot.
	r.props["lines"] = map[string]any{"type": "integer", "minimum": 1, "maximum": runtime.MaxLogLines, "default": runtime.DefaultLogLines, "description": "Return the last N lines"}
}

// wait: `wait:` polls a GET operation until the resource is ready and adds
// the wait and wait_timeout_sec arguments.
func (r *resolver) wait() {
	w := r.spec.Wait
	if w == nil {
		return
	}
	r.t.Wait = w
	r.t.WaitOp = r.ops[w.Operation]
	switch {
	case r.t.WaitOp == nil:
		r.addf("wait.operation %q does not exist", w.Operation)
	case r.t.WaitOp.Method != http.MethodGet || len(pathParamOrder(r.t.WaitOp.Path)) != 1:
		r.addf("wait.operation %s must be a GET with exactly one path parameter", w.Operation)
	}
	if w.Field == "" || len(w.Ready) == 0 || w.ID == "" {
		r.addf("wait needs id, field and ready")
	}
	if arg, ok := strings.CutPrefix(w.ID, "arg:"); ok {
		if _, exists := r.props[arg]; !exists {
			r.addf("wait.id names argument %q, which the tool does not have", arg)
		}
	}
	r.bind("wait", InControl, map[string]any{"type": "boolean", "default": false, "description": "Block until ready, sending progress"}, false, "")
	r.bind("wait_timeout_sec", InControl, map[string]any{"type": "integer", "minimum": 1, "maximum": runtime.MaxWaitTimeoutSec, "default": runtime.DefaultWaitTimeoutSec, "description": "Max seconds to wait"}, false, "")
}

// inputSchema closes the input schema over the bound arguments.
func (r *resolver) inputSchema() {
	r.t.Input = map[string]any{"type": "object", "properties": r.props, "additionalProperties": false}
	if len(r.required) > 0 {
		r.t.Input["required"] = sortedCopy(r.required)
	}
}

// annotations: the method's semantics, then the `annotations:` overrides.
func (r *resolver) annotations() {
	r.t.Annotations = deriveAnnotations(r.op.Method, r.spec.Annotations)
	if r.t.Annotations.ReadOnly && r.t.Annotations.Destructive {
		r.addf("annotations: a tool cannot be both read_only and destructive")
	}
}

// outputSchema: a JSON result advertises the response's schema.
func (r *resolver) outputSchema() {
	out, wrap, err := outputSchema(r.op, r.t.Result)
	if err != nil {
		r.probs = append(r.probs, err.Error())
	}
	r.t.Output, r.t.WrapOutput = out, wrap
}

// bind adds one argument: an API field (customised by `args:`), an extra
// argument or a runtime control. Hidden arguments stay out of the schema.
func (r *resolver) bind(api, in string, schema map[string]any, req bool, goType string) {
	r.apiSeen[api] = true
	a := Arg{Name: api, API: api, In: in, GoType: goType}
	as, custom := r.spec.Args[api]
	if in == InExtra || in == InControl {
		custom = false // args: customises API fields only
	}
	if api == idempotencyHeader && in == InHeader {
		if custom {
			r.addf("args.%s: the runtime sends a fresh %s on every call; remove this entry", api, idempotencyHeader)
		}
		r.t.SendsIdempotencyKey = true
		a.Hidden = true
		r.t.Args = append(r.t.Args, a)
		return
	}
	if custom {
		req = r.customise(&a, as, schema, req)
	}
	if !argNameRE.MatchString(a.Name) {
		r.addf("argument %q is not a valid argument name", a.Name)
	}
	r.t.Args = append(r.t.Args, a)
	if a.Hidden {
		return
	}
	if _, clash := r.props[a.Name]; clash {
		r.addf("argument name %q is used twice (rename one in args)", a.Name)
	}
	r.props[a.Name] = schema
	if req {
		r.required = append(r.required, a.Name)
	}
}

// customise applies one `args:` entry to a bound API field and its schema,
// returning whether the tool argument is required. Keys that would be
// ignored in a combination are errors, so every key written has an effect.
func (r *resolver) customise(a *Arg, as ArgSpec, schema map[string]any, req bool) bool {
	where := "args." + a.API
	r.checkArgKeys(where, as, schema)
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
		if req && r.spec.Handler == "" { // a composite handler may supply it
			r.addf("%s: cannot hide a required argument (give it a fixed value instead)", where)
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
			r.addf("%s: env_default %q is not a server setting (only MIOSA_DEFAULT_TEMPLATE)", where, as.EnvDefault)
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
		r.addf("%s: unknown transform %q (known: base64)", where, as.Transform)
	}
	return req
}

// checkArgKeys reports the `args:` key combinations in which one key would
// silently have no effect (tools.schema.json states the first two too).
func (r *resolver) checkArgKeys(where string, as ArgSpec, schema map[string]any) {
	others := func(except string) []string {
		var set []string
		for _, k := range []struct {
			name string
			set  bool
		}{
			{"name", as.Name != ""}, {"description", as.Description != ""}, {"default", as.Default != nil},
			{"env_default", as.EnvDefault != ""}, {"required", as.Required}, {"transform", as.Transform != ""},
			{"fixed", as.Fixed != nil}, {"hide", as.Hide},
		} {
			if k.set && k.name != except {
				set = append(set, k.name)
			}
		}
		return set
	}
	switch {
	case as.Fixed != nil:
		if o := others("fixed"); len(o) > 0 {
			r.addf("%s: a fixed argument is hidden and always sent, so %s would be ignored", where, strings.Join(o, ", "))
		}
		return
	case as.Hide:
		if o := others("hide"); len(o) > 0 {
			r.addf("%s: a hidden argument is never sent, so %s would be ignored", where, strings.Join(o, ", "))
		}
		return
	}
	if as.Default != nil && as.EnvDefault != "" {
		r.addf("%s: default and env_default together: the default would always win, so env_default would be ignored", where)
	}
	if as.Required && (as.Default != nil || as.EnvDefault != "") {
		r.addf("%s: a required argument is always passed, so its default would be ignored", where)
	}
	if as.Transform != "" && schema["type"] != "string" {
		r.addf("%s: transform %s encodes text, but the argument is of type %v", where, as.Transform, schema["type"])
	}
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
// response (of a JSON or log result; images and files have none).
// Non-object JSON is wrapped as {"result": …} because MCP requires
// outputSchema to describe an object.
func outputSchema(op *Operation, result string) (map[string]any, bool, error) {
	if result != "json" && result != "logs" {
		return nil, false, nil
	}
	resp := successResponse(op.Op)
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
