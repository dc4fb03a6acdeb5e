package toolgen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/tokens"
)

// ToolCost and Stats are the catalog's measured tools/list cost.
type (
	ToolCost = tokens.ToolCost
	Stats    = tokens.Stats
)

// measure is tokens.Measure, shared with the binary's `tools --stats` and
// `version`.
func measure(tools []runtime.Tool) (Stats, error) { return tokens.Measure(tools) }

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
