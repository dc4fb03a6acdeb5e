package toolgen

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/tokens"
)

// ToolCost is the size of one tool's tools/list entry.
type ToolCost struct {
	Name, Toolset string
	Bytes, Tokens int
}

// Stats summarises the catalog's tools/list cost.
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

// measure renders each tool exactly as tools/list does and counts it. The
// total is the whole tools/list result (tools array in its envelope).
func measure(tools []runtime.Tool) (Stats, error) {
	var st Stats
	var all []any
	for i := range tools {
		mt := tools[i].MCPTool()
		b, err := json.Marshal(mt)
		if err != nil {
			return st, fmt.Errorf("tool %s: %w", tools[i].Name, err)
		}
		n, err := tokens.Count(string(b))
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
	st.TotalTokens, err = tokens.Count(string(b))
	return st, err
}

// checkBudget reports every tool over the per-tool budget and a total over
// the catalog budget, most expensive first.
func checkBudget(st Stats, b Budget) problems {
	var probs problems
	if b.TotalTokens > 0 && st.TotalTokens > b.TotalTokens {
		probs.addf("budget: tools/list is %d tokens (cl100k), over the budget of %d in tools.yaml; shorten descriptions or hide arguments", st.TotalTokens, b.TotalTokens)
	}
	if b.ToolTokens > 0 {
		over := append([]ToolCost(nil), st.Tools...)
		sort.SliceStable(over, func(i, j int) bool { return over[i].Tokens > over[j].Tokens })
		for _, t := range over {
			if t.Tokens > b.ToolTokens {
				probs.addf("budget: tool %s is %d tokens, over the per-tool budget of %d", t.Name, t.Tokens, b.ToolTokens)
			}
		}
	}
	return probs
}

// FormatStats renders a per-toolset table of tools, bytes and tokens.
func FormatStats(st Stats) string {
	var b strings.Builder
	counts := map[string]int{}
	for _, t := range st.Tools {
		counts[t.Toolset]++
	}
	fmt.Fprintf(&b, "%-14s %5s %8s %8s\n", "toolset", "tools", "bytes", "tokens")
	for _, ts := range st.ByToolset() {
		fmt.Fprintf(&b, "%-14s %5d %8d %8d\n", ts.Toolset, counts[ts.Toolset], ts.Bytes, ts.Tokens)
	}
	fmt.Fprintf(&b, "%-14s %5d %8d %8d\n", "all (tools/list)", len(st.Tools), st.TotalBytes, st.TotalTokens)
	return b.String()
}
