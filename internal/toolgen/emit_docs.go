package toolgen

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// docsMarkdown renders docs/tools.md: the catalog as users read it, checked
// for drift like the generated code.
func docsMarkdown(tf *ToolsFile, tools []*Tool, st Stats) []byte {
	var b bytes.Buffer
	b.WriteString("<!-- " + generatedHeader + " -->\n\n")
	fmt.Fprintf(&b, "# MIOSA MCP tool catalog\n\n%d tools in %d toolsets; `tools/list` costs %d bytes, %d tokens (cl100k).\n\n", len(tools), len(tf.Toolsets), st.TotalBytes, st.TotalTokens)
	b.WriteString("Legend: **R** read-only, **D** destructive, **I** idempotent. `*` marks a required argument; " +
		"`†` a local-file argument, served over stdio only (a local path instead of the inline bytes it replaces; see README, Local files).\n\n")
	cost := map[string]ToolCost{}
	for _, c := range st.Tools {
		cost[c.Name] = c
	}
	if len(tf.Profiles) > 0 {
		b.WriteString("## Profiles\n\n")
		for _, name := range sortedKeys(tf.Profiles) {
			p := tf.Profiles[name]
			fmt.Fprintf(&b, "- `%s` (%d tools): %s\n  %s\n", name, len(p.Tools), strings.Join(strings.Fields(p.Description), " "), "`"+strings.Join(p.Tools, "`, `")+"`")
		}
		b.WriteString("\n")
	}
	byToolset := map[string][]*Tool{}
	for _, t := range tools {
		byToolset[t.Toolset] = append(byToolset[t.Toolset], t)
	}
	for _, ts := range tf.Toolsets {
		fmt.Fprintf(&b, "## %s (`%s`, %d tools)\n\n%s\n\n", ts.Title, ts.Name, len(byToolset[ts.Name]), strings.Join(strings.Fields(ts.Guide), " "))
		b.WriteString("| Tool | Hints | API | Arguments | Description |\n|---|---|---|---|---|\n")
		for _, t := range byToolset[ts.Name] {
			hints := ""
			if t.Annotations.ReadOnly {
				hints += "R"
			}
			if t.Annotations.Destructive {
				hints += "D"
			}
			if t.Annotations.Idempotent {
				hints += "I"
			}
			fmt.Fprintf(&b, "| `%s` | %s | `%s %s` | %s | %s |\n", t.Name, hints, t.Operation.Method, t.Operation.Path, argList(t), strings.ReplaceAll(t.Description, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func argList(t *Tool) string {
	props, _ := t.Input["properties"].(map[string]any)
	req := map[string]bool{}
	for _, r := range asStrings(t.Input["required"]) {
		req[r] = true
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if req[names[i]] != req[names[j]] {
			return req[names[i]]
		}
		return names[i] < names[j]
	})
	for i, n := range names {
		if req[n] {
			names[i] = "`" + n + "`*"
		} else {
			names[i] = "`" + n + "`"
		}
	}
	if t.Local != nil {
		names = append(names, "`"+t.Local.Arg+"`†")
	}
	if len(names) == 0 {
		return "–"
	}
	return strings.Join(names, ", ")
}
