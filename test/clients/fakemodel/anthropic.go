package fakemodel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// anthropicDialect is the Anthropic Messages API (POST /v1/messages, SSE
// when stream is true) as Claude Code calls it through ANTHROPIC_BASE_URL.
// Claude Code names MCP tools mcp__<server>__<tool> and, with many tools,
// only lists their names until the model loads them with its ToolSearch
// tool ("select:a,b,…"); a loaded tool then appears in `tools`.
type anthropicDialect struct{}

const (
	claudePrefix     = "mcp__miosa__"
	claudeToolSearch = "ToolSearch"
	// claudeSelectChunk is how many tools one ToolSearch call selects
	// (Claude Code 2.1 returns at most 64 per call).
	claudeSelectChunk = 64
)

var claudeToolName = regexp.MustCompile(`\bmcp__miosa__([a-z0-9_]+)`)

func (anthropicDialect) route(r *http.Request) route {
	switch {
	case r.Method == http.MethodHead || r.Method == http.MethodGet:
		return routeOK // connectivity probes such as HEAD /api/hello
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/messages/count_tokens"):
		return routeCount
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/messages"):
		return routeModel
	}
	return routeNone
}

type anthropicRequest struct {
	Model    string            `json:"model"`
	Stream   bool              `json:"stream"`
	System   json.RawMessage   `json:"system"`
	Messages []json.RawMessage `json:"messages"`
	Tools    []json.RawMessage `json:"tools"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ToolUseID string          `json:"tool_use_id"`
	IsError   bool            `json:"is_error"`
	Content   json.RawMessage `json:"content"`
	Source    struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
	} `json:"source"`
}

func (anthropicDialect) parse(_ *http.Request, body []byte) (*turn, error) {
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	t := &turn{stream: req.Stream, model: req.Model, tools: map[string]ToolDef{}, results: map[string]Result{}}
	named := map[string]bool{}
	for _, raw := range req.Tools {
		var def struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"input_schema"`
		}
		if json.Unmarshal(raw, &def) != nil {
			continue
		}
		if def.Name == claudeToolSearch {
			t.canSearch = true
		}
		if n, ok := strings.CutPrefix(def.Name, claudePrefix); ok {
			t.tools[n] = ToolDef{Name: n, Raw: compact(raw), Schema: compact(def.Schema)}
		}
	}
	t.main = t.canSearch || len(t.tools) > 0
	if !t.main {
		t.sideAnswer = "OK"
		return t, nil
	}
	var rest []any
	for _, raw := range append([]json.RawMessage{req.System}, req.Messages...) {
		var v any
		if len(raw) > 0 && json.Unmarshal(raw, &v) == nil {
			rest = append(rest, v)
		}
	}
	t.strings = collectStrings(rest, nil)
	for _, s := range t.strings {
		for _, m := range claudeToolName.FindAllStringSubmatch(s, -1) {
			named[m[1]] = true
		}
	}
	for n := range named {
		if _, ok := t.tools[n]; !ok {
			t.deferred = append(t.deferred, n)
		}
	}
	slices.Sort(t.deferred)
	for _, raw := range req.Messages {
		var m struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(raw, &m) != nil || m.Role != "user" {
			continue
		}
		var blocks []anthropicBlock
		if json.Unmarshal(m.Content, &blocks) != nil {
			continue
		}
		for _, b := range blocks {
			if b.Type == "tool_result" {
				t.results[b.ToolUseID] = anthropicResult(b)
			}
		}
	}
	return t, nil
}

// anthropicResult reads a tool_result block: its content is a string or a
// list of text, image and tool_reference blocks.
func anthropicResult(b anthropicBlock) Result {
	res := Result{IsError: b.IsError}
	var s string
	if json.Unmarshal(b.Content, &s) == nil {
		res.Text = s
		return res
	}
	var inner []anthropicBlock
	_ = json.Unmarshal(b.Content, &inner)
	var texts []string
	for _, c := range inner {
		switch c.Type {
		case "text":
			texts = append(texts, c.Text)
		case "image":
			data, err := base64.StdEncoding.DecodeString(c.Source.Data)
			if err == nil && c.Source.Type == "base64" {
				res.Images = append(res.Images, Image{MIME: c.Source.MediaType, Data: data})
			}
		}
	}
	res.Text = strings.Join(texts, "\n")
	return res
}

func (anthropicDialect) write(w http.ResponseWriter, t *turn, a action) {
	var block map[string]any
	var input string
	stop := "end_turn"
	switch {
	case a.tool != "":
		input = mustJSON(a.args)
		block = map[string]any{"type": "tool_use", "id": a.callID, "name": claudePrefix + a.tool, "input": map[string]any{}}
		stop = "tool_use"
	case len(a.search) > 0:
		var names []string
		for _, n := range a.search[:min(len(a.search), claudeSelectChunk)] {
			names = append(names, claudePrefix+n)
		}
		input = mustJSON(map[string]any{"query": "select:" + strings.Join(names, ","), "max_results": len(names)})
		block = map[string]any{"type": "tool_use", "id": a.callID, "name": claudeToolSearch, "input": map[string]any{}}
		stop = "tool_use"
	default:
		block = map[string]any{"type": "text", "text": ""}
	}
	usage := map[string]any{"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	msg := map[string]any{"id": "msg_" + a.callID, "type": "message", "role": "assistant", "model": t.model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": usage}
	if !t.stream {
		full := block
		if input != "" {
			var v any
			_ = json.Unmarshal([]byte(input), &v)
			full["input"] = v
		} else {
			full["text"] = a.text
		}
		msg["content"] = []any{full}
		msg["stop_reason"] = stop
		writeJSON(w, msg)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	ev := func(name string, data any) { fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, mustJSON(data)) }
	ev("message_start", map[string]any{"type": "message_start", "message": msg})
	ev("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": block})
	if input != "" {
		ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "input_json_delta", "partial_json": input}})
	} else {
		ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": a.text}})
	}
	ev("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	ev("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": 10}})
	ev("message_stop", map[string]any{"type": "message_stop"})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (anthropicDialect) writeCount(w http.ResponseWriter, tokens int) {
	writeJSON(w, map[string]any{"input_tokens": tokens})
}
