package runtime

import (
	"fmt"
	"strings"
)

// BuildInstructions assembles the initialize instructions from tools.yaml
// data: the introduction, then the guide of every toolset that has at least
// one enabled tool. Disabled toolsets are left out so the guide never
// recommends a tool the client cannot call.
func BuildInstructions(intro string, sets []ToolsetInfo, tools []Tool, mock bool) string {
	enabled := map[string]int{}
	for _, t := range tools {
		enabled[t.Toolset]++
	}
	var b strings.Builder
	if mock {
		b.WriteString("NOTE: this server is running against the OFFLINE MOCK of the MIOSA API: nothing is created in a real account and results are simulated.\n\n")
	}
	b.WriteString(strings.TrimSpace(intro))
	b.WriteString("\n")
	for _, ts := range sets {
		if enabled[ts.Name] == 0 || ts.Guide == "" {
			continue
		}
		fmt.Fprintf(&b, "\n- %s: %s", ts.Title, ts.Guide)
	}
	return b.String()
}
