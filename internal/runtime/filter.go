package runtime

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// Selection chooses tools. Toolsets holds toolset or profile names ("all",
// or empty, means every toolset unless Tools is given); Tools adds single
// tools (alone, it is an allowlist); Exclude removes tools; ReadOnly keeps
// only tools whose readOnlyHint is true.
type Selection struct {
	Toolsets, Tools, Exclude []string
	ReadOnly                 bool
}

// Empty reports whether the selection narrows nothing.
func (s Selection) Empty() bool {
	return len(s.Toolsets) == 0 && len(s.Tools) == 0 && len(s.Exclude) == 0 && !s.ReadOnly
}

// SplitList splits a comma-separated flag or header value.
func SplitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Select applies a selection to the catalog. Unknown toolset, profile or
// tool names are errors that list the valid names.
func Select(all []Tool, sets []ToolsetInfo, profiles []Profile, sel Selection) ([]Tool, error) {
	names := map[string]bool{}
	for _, t := range all {
		names[t.Name] = true
	}
	setNames := map[string]bool{}
	for _, s := range sets {
		setNames[s.Name] = true
	}
	prof := map[string]Profile{}
	for _, p := range profiles {
		prof[p.Name] = p
	}
	want := map[string]bool{}
	allSets := len(sel.Toolsets) == 0 && len(sel.Tools) == 0
	var wantSets = map[string]bool{}
	for _, n := range sel.Toolsets {
		switch {
		case n == "all":
			allSets = true
		case setNames[n]:
			wantSets[n] = true
		case prof[n].Name != "":
			for _, tn := range prof[n].Tools {
				want[tn] = true
			}
		default:
			var valid []string
			for _, s := range sets {
				valid = append(valid, s.Name)
			}
			for _, p := range profiles {
				valid = append(valid, p.Name+" (profile)")
			}
			return nil, fmt.Errorf("unknown toolset %q; valid toolsets: all, %s", n, strings.Join(valid, ", "))
		}
	}
	for _, n := range append(append([]string(nil), sel.Tools...), sel.Exclude...) {
		if !names[n] {
			return nil, fmt.Errorf("unknown tool %q; valid tools: %s", n, strings.Join(sortedNames(names), ", "))
		}
	}
	for _, n := range sel.Tools {
		want[n] = true
	}
	excl := map[string]bool{}
	for _, n := range sel.Exclude {
		excl[n] = true
	}
	var out []Tool
	for _, t := range all {
		if !(allSets || wantSets[t.Toolset] || want[t.Name]) || excl[t.Name] {
			continue
		}
		if sel.ReadOnly && !t.Annotations.ReadOnly {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Per-request narrowing headers (HTTP mode). They can only remove tools
// from what the server's own flags enabled, never add any.
const (
	HeaderToolsets     = "X-MCP-Toolsets"
	HeaderTools        = "X-MCP-Tools"
	HeaderExcludeTools = "X-MCP-Exclude-Tools"
	HeaderReadonly     = "X-MCP-Readonly"
)

// requestFilter is the set of tools one HTTP request may see and call.
type requestFilter struct{ allowed map[string]bool }

func (f *requestFilter) allows(t *Tool) bool { return f.allowed[t.Name] }

type filterKey struct{}

func requestFilterFrom(ctx context.Context) *requestFilter {
	f, _ := ctx.Value(filterKey{}).(*requestFilter)
	return f
}

// SelectionsFromHeaders reads the narrowing headers. Every value of every
// narrowing header is a selection of its own, and a request may use only
// the tools every one of them allows: a header a gateway adds, or adds
// again, can only narrow further. X-MCP-Toolsets: a,b allows the tools of
// toolsets a and b; X-MCP-Tools: x,y allows x and y; X-MCP-Exclude-Tools
// removes tools; X-MCP-Readonly is true or false (any true makes the request
// read-only; a value that is neither is an error). Blank values narrow
// nothing. The result is empty when no header narrows anything.
func SelectionsFromHeaders(h http.Header) ([]Selection, error) {
	var out []Selection
	for _, v := range h.Values(HeaderToolsets) {
		if l := SplitList(v); len(l) > 0 {
			out = append(out, Selection{Toolsets: l})
		}
	}
	for _, v := range h.Values(HeaderTools) {
		if l := SplitList(v); len(l) > 0 {
			out = append(out, Selection{Tools: l})
		}
	}
	for _, v := range h.Values(HeaderExcludeTools) {
		if l := SplitList(v); len(l) > 0 {
			out = append(out, Selection{Exclude: l})
		}
	}
	readOnly := false
	for _, v := range h.Values(HeaderReadonly) {
		for _, e := range SplitList(v) {
			b, err := strconv.ParseBool(e)
			if err != nil {
				return nil, fmt.Errorf("%s must be true or false, got %q", HeaderReadonly, clip(e, 40))
			}
			readOnly = readOnly || b
		}
	}
	if readOnly {
		out = append(out, Selection{ReadOnly: true})
	}
	return out, nil
}

// narrow computes the request filter: the server's enabled tools that every
// selection allows. Names are checked against the full catalog, so a name
// that exists but is disabled by the server is accepted and simply stays
// disabled.
func (s *Server) narrow(sels []Selection, catalog []Tool, sets []ToolsetInfo, profiles []Profile) (*requestFilter, error) {
	f := &requestFilter{allowed: map[string]bool{}}
	for name := range s.tools {
		f.allowed[name] = true
	}
	for _, sel := range sels {
		chosen, err := Select(catalog, sets, profiles, sel)
		if err != nil {
			return nil, err
		}
		keep := map[string]bool{}
		for _, t := range chosen {
			keep[t.Name] = f.allowed[t.Name]
		}
		for name := range f.allowed {
			if !keep[name] {
				delete(f.allowed, name)
			}
		}
	}
	return f, nil
}

// filterForRequest is mcp-go's per-request tools/list filter.
func (s *Server) filterForRequest(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	f := requestFilterFrom(ctx)
	if f == nil {
		return tools
	}
	out := make([]mcp.Tool, 0, len(tools))
	for _, t := range tools {
		if f.allowed[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

type keyErrKey struct{}

// keyErrorFrom returns why the request's Authorization header is unusable.
func keyErrorFrom(ctx context.Context) error {
	e, _ := ctx.Value(keyErrKey{}).(error)
	return e
}
