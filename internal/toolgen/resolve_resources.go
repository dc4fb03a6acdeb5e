package toolgen

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The resource context (tools.yaml `resources:` and a tool's `fallback:`,
// issue #11): an id argument that names a kind of resource may be omitted,
// and the runtime (internal/runtime/bind.go) picks the session's
// current resource of that kind, or the only running one in the account.

// Fallbacks of a tool's resource id (tools.yaml `fallback:`).
const (
	FallbackFull    = "full"    // the session's current one, else the only running one
	FallbackNone    = "none"    // the id stays required (destructive tools never guess)
	FallbackHandler = "handler" // the composite handler decides
)

// ResourceArg is a tool's resolved resource id: the argument (tool-facing
// name and API path parameter), the kind it names and its fallback.
type ResourceArg struct {
	Kind, Arg, API, Fallback string
}

// Resource is a resolved `resources:` entry.
type Resource struct {
	Kind                  string
	Param                 string
	List, Create, Created string
	PageArg               string // the list tool's page-size argument ("": none)
	ID, Name, Status      string
	Running, Starting     []string
	listTool, createTool  *Tool
	usedBy                int
}

var kindRE = regexp.MustCompile(`^[a-z][a-z ]*[a-z]$`)

// resourceKinds indexes the `resources:` entries by path parameter and
// reports the entries' own problems (those that need the tools come in
// checkResources).
func resourceKinds(tf *ToolsFile, probs *problems) map[string]*Resource {
	byParam := map[string]*Resource{}
	for _, kind := range sortedKeys(tf.Resources) {
		rs := tf.Resources[kind]
		where := "tools.yaml: resources." + kind
		if !kindRE.MatchString(kind) {
			probs.addf("%s: a kind is lower-case words (it is written in texts: \"the current %s\")", where, kind)
		}
		r := &Resource{
			Kind: kind, Param: rs.Param, List: rs.List, Create: rs.Create,
			Created: cmp.Or(rs.Created, "data.id"),
			ID:      cmp.Or(rs.ID, "id"), Name: cmp.Or(rs.Name, "name"), Status: cmp.Or(rs.Status, "status"),
			Running: rs.Running, Starting: rs.Starting,
		}
		if r.Status == "-" {
			r.Status = ""
			if len(r.Running) > 0 || len(r.Starting) > 0 {
				probs.addf("%s: status \"-\" (items have none) cannot have running or starting statuses", where)
			}
		} else if len(r.Running) == 0 {
			probs.addf("%s: running is required: the statuses that make a list item a candidate (or status: \"-\")", where)
		}
		for _, s := range r.Starting {
			for _, run := range r.Running {
				if s == run {
					probs.addf("%s: status %q is both running and starting", where, s)
				}
			}
		}
		if rs.Param == "" || !argNameRE.MatchString(rs.Param) {
			probs.addf("%s: param must name the API path parameter of this kind (e.g. computer_id)", where)
		}
		if prev, dup := byParam[rs.Param]; dup {
			probs.addf("%s: param %s is also the param of %s", where, rs.Param, prev.Kind)
			continue
		}
		if !dottedRE.MatchString(r.Created) {
			probs.addf("%s: created %q is not a dotted path", where, r.Created)
		}
		byParam[rs.Param] = r
	}
	return byParam
}

// resource: the tool's first path parameter that names a kind of
// resource is its resource id. With fallback full or handler it is
// optional, and its description says so (briefly: the rule itself is
// written once, in the instructions). Runs before inputSchema.
func (r *resolver) resource() {
	fb := r.spec.Fallback
	switch fb {
	case "", FallbackFull, FallbackNone, FallbackHandler:
	default:
		r.addf("fallback must be full, none or handler, got %q", fb)
		return
	}
	var res *Resource
	var arg *Arg
	for i := range r.t.Args {
		a := &r.t.Args[i]
		if a.In != InPath || a.Hidden {
			continue
		}
		if k := r.kinds[a.API]; k != nil {
			res, arg = k, a
			break
		}
	}
	if res == nil {
		if fb != "" {
			r.addf("fallback: %s, but no path parameter of the tool names a kind of resources:", fb)
		}
		return
	}
	res.usedBy++
	if fb == "" {
		fb = FallbackFull
		if r.op.Method == http.MethodDelete {
			fb = FallbackNone
		}
	}
	switch {
	case fb == FallbackFull && r.op.Method == http.MethodDelete:
		r.addf("fallback: full on a DELETE: a tool that deletes never guesses which %s (use none)", res.Kind)
	case fb == FallbackHandler && r.spec.Handler == "":
		r.addf("fallback: handler needs a composite handler (handler:)")
	}
	r.t.Resource = &ResourceArg{Kind: res.Kind, Arg: arg.Name, API: arg.API, Fallback: fb}
	if fb == FallbackNone {
		return
	}
	// A handler's id says its own rule (args: description).
	var req []string
	for _, n := range r.required {
		if n != arg.Name {
			req = append(req, n)
		}
	}
	r.required = req
	if fb == FallbackHandler {
		return
	}
	s := r.props[arg.Name].(map[string]any)
	d, _ := s["description"].(string)
	s["description"] = sentence(d) + "Omit for the current " + res.Kind + "."
}

// sentence ends a description with a full stop and a space, so another
// sentence can follow ("" stays "").
func sentence(d string) string {
	d = strings.TrimSpace(d)
	if d == "" {
		return ""
	}
	if !strings.HasSuffix(d, ".") {
		d += "."
	}
	return d + " "
}

// checkResources checks the `resources:` entries against the tools: the
// list and create tools exist and fit, and every kind is used by a tool.
func checkResources(kinds map[string]*Resource, tools []*Tool, probs *problems) []*Resource {
	byName := map[string]*Tool{}
	for _, t := range tools {
		byName[t.Name] = t
	}
	var out []*Resource
	for _, param := range sortedKeys(kinds) {
		r := kinds[param]
		where := "tools.yaml: resources." + r.Kind
		lt, ct := byName[r.List], byName[r.Create]
		switch {
		case lt == nil:
			probs.addf("%s: list %q is no tool", where, r.List)
		case lt.Operation.Method != http.MethodGet || len(pathParamOrder(lt.Operation.Path)) > 0 || lt.Result != "json" || lt.Handler != "":
			probs.addf("%s: list %s must be a GET tool without path parameters and with a JSON result (one call lists the candidates)", where, r.List)
		default:
			for _, a := range lt.Args {
				if (a.Name == "per_page" || a.Name == "limit") && !a.Hidden {
					r.PageArg = a.Name
				}
			}
		}
		if ct == nil {
			probs.addf("%s: create %q is no tool", where, r.Create)
		} else if ct.Operation.Method != http.MethodPost {
			probs.addf("%s: create %s must be a POST tool", where, r.Create)
		}
		if r.usedBy == 0 {
			probs.addf("%s: no tool has the path parameter %s, so the kind is never used", where, r.Param)
		}
		r.listTool, r.createTool = lt, ct
		out = append(out, r)
	}
	return out
}

// describeRanges writes each top-level integer or number argument's
// range (when it has both bounds) and default into its description ("Max seconds to wait (1-600,
// default 120)"): some clients strip minimum, maximum and default from
// the schema before the model sees it (issue #11 §2). Runs before
// inputSchema.
func (r *resolver) describeRanges() {
	for _, name := range sortedKeys(r.props) {
		s, ok := r.props[name].(map[string]any)
		if !ok || (s["type"] != "integer" && s["type"] != "number") {
			continue
		}
		// A lone bound (x >= 0, a timeout >= 1) says what the model
		// assumes anyway; it is left to the schema, to spare tokens.
		var parts []string
		lo, hasLo := s["minimum"]
		hi, hasHi := s["maximum"]
		if hasLo && hasHi {
			parts = append(parts, fmt.Sprintf("%v-%v", lo, hi))
		}
		if d, ok := s["default"]; ok {
			parts = append(parts, fmt.Sprintf("default %v", d))
		}
		if len(parts) == 0 {
			continue
		}
		note := "(" + strings.Join(parts, ", ") + ")"
		d, _ := s["description"].(string)
		if strings.Contains(d, note) {
			continue
		}
		s["description"] = strings.TrimSpace(strings.TrimSpace(d) + " " + note)
	}
}
