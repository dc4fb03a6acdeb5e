package runtime

import "github.com/mark3labs/mcp-go/mcp"

// MCPTool is the tool as it appears in tools/list. The generator uses the
// same function to measure the catalog's token cost, so the budget it
// enforces is the cost of exactly these bytes.
func (t *Tool) MCPTool() mcp.Tool {
	return mcp.Tool{
		Name:            t.Name,
		Title:           t.Title,
		Description:     t.Description,
		RawInputSchema:  t.InputSchema,
		RawOutputSchema: t.OutputSchema,
		Annotations: mcp.ToolAnnotation{
			ReadOnlyHint:    mcp.ToBoolPtr(t.Annotations.ReadOnly),
			DestructiveHint: mcp.ToBoolPtr(t.Annotations.Destructive),
			IdempotentHint:  mcp.ToBoolPtr(t.Annotations.Idempotent),
			OpenWorldHint:   mcp.ToBoolPtr(t.Annotations.OpenWorld),
		},
	}
}
