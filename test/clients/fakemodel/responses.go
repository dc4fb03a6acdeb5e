package fakemodel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// responsesDialect is the OpenAI Responses API (POST /v1/responses, SSE) as
// Codex calls it through a custom model provider (wire_api = "responses").
// Codex groups an MCP server's tools in a namespace tool named
// mcp__<server>; for models with tool search it only names the namespace
// ("Deferred tool namespaces") until the model calls tool_search, whose
// output then carries the namespace with its tools.
type responsesDialect struct{}

const (
	codexNamespace = "mcp__miosa"
	codexDeferred  = "Deferred tool namespaces:"
)

func (responsesDialect) route(r *http.Request) route {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/responses"):
		return routeModel
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		return routeOK
	}
	return routeNone
}

type responsesTool struct {
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Parameters json.RawMessage   `json:"parameters"`
	Tools      []json.RawMessage `json:"tools"`
}

func (responsesDialect) parse(_ *http.Request, body []byte) (*turn, error) {
	var req struct {
		Model  string            `json:"model"`
		Stream bool              `json:"stream"`
		Input  []json.RawMessage `json:"input"`
		Tools  []responsesTool   `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	t := &turn{stream: req.Stream, model: req.Model, tools: map[string]ToolDef{}, results: map[string]Result{}}
	for _, tool := range req.Tools {
		switch {
		case tool.Type == "tool_search":
			t.canSearch = true
		case tool.Type == "namespace" && tool.Name == codexNamespace:
			t.main = true
			addNamespace(t, tool)
		}
	}
	for _, raw := range req.Input {
		var item struct {
			Type   string          `json:"type"`
			CallID string          `json:"call_id"`
			Output json.RawMessage `json:"output"`
			Tools  []responsesTool `json:"tools"`
		}
		if json.Unmarshal(raw, &item) != nil {
			continue
		}
		switch item.Type {
		case "function_call_output":
			t.results[item.CallID] = responsesResult(item.Output)
		case "tool_search_output":
			t.results[item.CallID] = Result{}
			for _, tool := range item.Tools {
				if tool.Type == "namespace" && tool.Name == codexNamespace {
					addNamespace(t, tool)
				}
			}
		}
	}
	var all map[string]any
	if json.Unmarshal(body, &all) == nil {
		t.strings = collectStrings([]any{all["instructions"], all["input"]}, nil)
		// The namespace description is what the model reads of the
		// server's instructions (before a search, when not deferred).
		if tools, ok := all["tools"].([]any); ok {
			for _, tool := range tools {
				if m, ok := tool.(map[string]any); ok && m["name"] == codexNamespace {
					if d, ok := m["description"].(string); ok {
						t.strings = append(t.strings, d)
					}
				}
			}
		}
	}
	for _, s := range t.strings {
		if i := strings.Index(s, codexDeferred); i >= 0 && strings.Contains(s[i:], "- "+codexNamespace+":") {
			t.deferredNamespace = true
			t.main = true
		}
	}
	if !t.main {
		t.sideAnswer = "OK"
	}
	return t, nil
}

func addNamespace(t *turn, ns responsesTool) {
	for _, raw := range ns.Tools {
		var def responsesTool
		if json.Unmarshal(raw, &def) == nil && def.Name != "" {
			t.tools[def.Name] = ToolDef{Name: def.Name, Raw: compact(raw), Schema: compact(def.Parameters)}
		}
	}
}

// responsesResult reads a function_call_output's output: a string, or a
// list of input_text and input_image items (data: URLs).
func responsesResult(raw json.RawMessage) Result {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return codexText(s)
	}
	var items []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		ImageURL string `json:"image_url"`
	}
	_ = json.Unmarshal(raw, &items)
	var res Result
	var texts []string
	for _, it := range items {
		switch it.Type {
		case "input_text", "output_text", "text":
			texts = append(texts, it.Text)
		case "input_image":
			if mime, data, ok := dataURL(it.ImageURL); ok {
				res.Images = append(res.Images, Image{MIME: mime, Data: data})
			}
		}
	}
	r := codexText(strings.Join(texts, "\n"))
	r.Images = res.Images
	return r
}

// codexText is a result's text. Codex forwards no error flag (a failed
// call reads "Output:" and the server's message, like a successful one),
// so IsError stays false and each step's expectation decides.
func codexText(s string) Result { return Result{Text: s} }

func dataURL(u string) (string, []byte, bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return "", nil, false
	}
	meta, enc, ok := strings.Cut(rest, ",")
	mime, isB64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isB64 {
		return "", nil, false
	}
	data, err := base64.StdEncoding.DecodeString(enc)
	return mime, data, err == nil
}

func (responsesDialect) write(w http.ResponseWriter, t *turn, a action) {
	var item map[string]any
	switch {
	case a.tool != "":
		item = map[string]any{"type": "function_call", "id": "fc_" + a.callID, "call_id": a.callID,
			"name": a.tool, "namespace": codexNamespace, "arguments": mustJSON(a.args), "status": "completed"}
	case len(a.search) > 0:
		item = map[string]any{"type": "tool_search_call", "id": "tsc_" + a.callID, "call_id": a.callID, "execution": "client",
			"status": "completed", "arguments": map[string]any{"query": strings.Join(a.search, " "), "limit": len(a.search)}}
	default:
		item = map[string]any{"type": "message", "id": "msg_" + a.callID, "role": "assistant", "status": "completed",
			"content": []any{map[string]any{"type": "output_text", "text": a.text, "annotations": []any{}}}}
	}
	id := "resp_" + a.callID
	usage := map[string]any{"input_tokens": 100, "input_tokens_details": nil, "output_tokens": 10, "output_tokens_details": nil, "total_tokens": 110}
	w.Header().Set("Content-Type", "text/event-stream")
	ev := func(name string, data map[string]any) {
		data["type"] = name
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, mustJSON(data))
	}
	ev("response.created", map[string]any{"response": map[string]any{"id": id}})
	ev("response.output_item.added", map[string]any{"output_index": 0, "item": item})
	ev("response.output_item.done", map[string]any{"output_index": 0, "item": item})
	ev("response.completed", map[string]any{"response": map[string]any{"id": id, "usage": usage}})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (responsesDialect) writeCount(w http.ResponseWriter, tokens int) {
	writeJSON(w, map[string]any{"input_tokens": tokens})
}
