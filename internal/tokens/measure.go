package tokens

import (
	"encoding/json"
	"fmt"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// ToolCost is the size of one tool's tools/list entry.
type ToolCost struct {
	Name, Toolset string
	Bytes, Tokens int
}

// Stats summarises a catalog's tools/list cost.
type Stats struct {
	Tools       []ToolCost
	TotalBytes  int
	TotalTokens int
}

// ByToolset aggregates the costs per toolset, in first-seen order.
func (s Stats) ByToolset() []ToolCost {
	idx := map[string]int{}
	var out []ToolCost
	for _, t := range s.Tools {
		i, ok := idx[t.Toolset]
		if !ok {
			i = len(out)
			idx[t.Toolset] = i
			out = append(out, ToolCost{Name: t.Toolset, Toolset: t.Toolset})
		}
		out[i].Bytes += t.Bytes
		out[i].Tokens += t.Tokens
	}
	return out
}

// Measure renders each tool exactly as tools/list does and counts it. The
// total is the whole tools/list result (the tools array in its envelope).
// The generator (budget, docs/tools.md) and the binary (`tools --stats`,
// `version`) both measure with it, so their figures agree.
func Measure(tools []runtime.Tool) (Stats, error) {
	var st Stats
	all := make([]any, 0, len(tools))
	for i := range tools {
		mt := tools[i].MCPTool()
		b, err := json.Marshal(mt)
		if err != nil {
			return st, fmt.Errorf("tool %s: %w", tools[i].Name, err)
		}
		n, err := Count(string(b))
		if err != nil {
			return st, err
		}
		st.Tools = append(st.Tools, ToolCost{Name: tools[i].Name, Toolset: tools[i].Toolset, Bytes: len(b), Tokens: n})
		all = append(all, mt)
	}
	b, err := json.Marshal(map[string]any{"tools": all})
	if err != nil {
		return st, err
	}
	st.TotalBytes = len(b)
	st.TotalTokens, err = Count(string(b))
	return st, err
}
