package runtime

import (
	"strings"
)

// MaxInstructionsChars caps the initialize instructions in every mode and
// tool selection: Claude Code cuts a server's instructions at 4,096
// characters (issue #11), so 4,000 leaves a margin. A test computes the
// maximum over the modes and fails above it.
const MaxInstructionsChars = 4000

// MockNotice is the instructions' second line when the server runs against
// the offline mock: second, because the first says what MIOSA is, and some
// clients show the model only the first line until it searches its tools.
const MockNotice = "NOTE: OFFLINE MOCK of the MIOSA API: nothing real is created; results are simulated."

// BuildInstructions assembles the initialize instructions from tools.yaml
// data: the introduction's first line (what MIOSA is and what this server
// offers), the mock notice, the rest of the introduction, then the guide of
// every toolset that has at least one enabled tool, in order of importance
// (tools.yaml order). Disabled toolsets are left out so the guide never
// recommends a tool the client cannot call.
func BuildInstructions(intro string, sets []ToolsetInfo, tools []Tool, mock bool) string {
	enabled := map[string]int{}
	for _, t := range tools {
		enabled[t.Toolset]++
	}
	first, rest, _ := strings.Cut(strings.TrimSpace(intro), "\n")
	var b strings.Builder
	b.WriteString(strings.TrimSpace(first))
	b.WriteString("\n")
	if mock {
		b.WriteString(MockNotice)
		b.WriteString("\n")
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		b.WriteString(rest)
		b.WriteString("\n")
	}
	for _, ts := range sets {
		if enabled[ts.Name] == 0 || ts.Guide == "" {
			continue
		}
		b.WriteString("- ")
		b.WriteString(ts.Guide)
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
