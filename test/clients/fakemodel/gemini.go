package fakemodel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// geminiDialect is the Gemini API (POST /v1beta/models/M:generateContent,
// :streamGenerateContent?alt=sse and :countTokens) as Gemini CLI calls it
// through GOOGLE_GEMINI_BASE_URL. Gemini CLI names MCP tools
// mcp_<server>_<tool> and sends them all as functionDeclarations; it has no
// tool search. Its side requests (model routing, next-speaker checks) ask
// for JSON with a responseJsonSchema.
type geminiDialect struct{}

const geminiPrefix = "mcp_miosa_"

func (geminiDialect) route(r *http.Request) route {
	if r.Method != http.MethodPost {
		return routeNone
	}
	switch p := r.URL.Path; {
	case strings.HasSuffix(p, ":countTokens"):
		return routeCount
	case strings.HasSuffix(p, ":generateContent"), strings.HasSuffix(p, ":streamGenerateContent"):
		return routeModel
	}
	return routeNone
}

type geminiPart struct {
	Text         string `json:"text"`
	FunctionCall *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"functionCall"`
	FunctionResponse *struct {
		ID       string          `json:"id"`
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
		Parts    []geminiPart    `json:"parts"`
	} `json:"functionResponse"`
	InlineData *struct {
		MimeType string `json:"mimeType"`
		Data     string `json:"data"`
	} `json:"inlineData"`
}

type geminiContent struct {
	Role  string       `json:"role"`
	Parts []geminiPart `json:"parts"`
}

func (geminiDialect) parse(r *http.Request, body []byte) (*turn, error) {
	var req struct {
		Contents          []geminiContent `json:"contents"`
		SystemInstruction json.RawMessage `json:"systemInstruction"`
		Tools             []struct {
			FunctionDeclarations []json.RawMessage `json:"functionDeclarations"`
		} `json:"tools"`
		GenerationConfig struct {
			ResponseMimeType   string          `json:"responseMimeType"`
			ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
			ResponseSchema     json.RawMessage `json:"responseSchema"`
		} `json:"generationConfig"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	model := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	model, _, _ = strings.Cut(model, ":")
	t := &turn{stream: strings.HasSuffix(r.URL.Path, ":streamGenerateContent"), model: model,
		tools: map[string]ToolDef{}, results: map[string]Result{}}
	for _, group := range req.Tools {
		for _, raw := range group.FunctionDeclarations {
			var def struct {
				Name       string          `json:"name"`
				JSONSchema json.RawMessage `json:"parametersJsonSchema"`
				Parameters json.RawMessage `json:"parameters"`
			}
			if json.Unmarshal(raw, &def) != nil {
				continue
			}
			schema := def.JSONSchema
			if len(schema) == 0 {
				schema = def.Parameters
			}
			if n, ok := strings.CutPrefix(def.Name, geminiPrefix); ok {
				t.tools[n] = ToolDef{Name: n, Raw: compact(raw), Schema: compact(schema)}
			}
		}
	}
	t.main = len(t.tools) > 0
	if !t.main {
		t.sideAnswer = "OK"
		if s := req.GenerationConfig.ResponseJSONSchema; len(s) > 0 {
			t.sideAnswer = mustJSON(sampleJSON(s))
		} else if s := req.GenerationConfig.ResponseSchema; len(s) > 0 {
			t.sideAnswer = mustJSON(sampleJSON(s))
		}
		return t, nil
	}
	var all map[string]any
	if json.Unmarshal(body, &all) == nil {
		t.strings = collectStrings([]any{all["contents"], all["systemInstruction"]}, nil)
	}
	// Results carry our call id when the client echoes it; otherwise they
	// answer the oldest unanswered call of the same tool.
	var open []struct{ id, name string }
	for _, c := range req.Contents {
		cur := "" // the latest functionResponse of this content
		for _, p := range c.Parts {
			switch {
			case p.FunctionCall != nil:
				open = append(open, struct{ id, name string }{p.FunctionCall.ID, p.FunctionCall.Name})
			case p.FunctionResponse != nil:
				fr := p.FunctionResponse
				id := fr.ID
				for i, o := range open {
					if (id != "" && o.id == id) || (id == "" && o.name == fr.Name) {
						id = o.id
						open = append(open[:i], open[i+1:]...)
						break
					}
				}
				res := geminiResult(fr.Response)
				for _, q := range fr.Parts {
					addInline(&res, q)
				}
				t.results[id], cur = res, id
			case p.InlineData != nil && cur != "":
				// An image that follows a functionResponse belongs to it.
				res := t.results[cur]
				addInline(&res, p)
				t.results[cur] = res
			}
		}
	}
	return t, nil
}

func addInline(res *Result, p geminiPart) {
	if p.InlineData == nil {
		return
	}
	data, err := base64.StdEncoding.DecodeString(p.InlineData.Data)
	if err == nil {
		res.Images = append(res.Images, Image{MIME: p.InlineData.MimeType, Data: data})
	}
}

// geminiResult reads a functionResponse.response: Gemini CLI sends
// {"output": "..."} for a result and {"error": "..."} for a failure.
func geminiResult(raw json.RawMessage) Result {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return Result{Text: string(raw)}
	}
	if e, ok := m["error"]; ok {
		return Result{IsError: true, Text: textOf(e)}
	}
	if o, ok := m["output"]; ok {
		return Result{Text: textOf(o)}
	}
	return Result{Text: string(raw)}
}

func textOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return mustJSON(v)
}

func (geminiDialect) write(w http.ResponseWriter, t *turn, a action) {
	var part map[string]any
	switch {
	case a.tool != "":
		part = map[string]any{"functionCall": map[string]any{"id": a.callID, "name": geminiPrefix + a.tool, "args": a.args}}
	default:
		part = map[string]any{"text": a.text}
	}
	resp := map[string]any{
		"candidates":    []any{map[string]any{"content": map[string]any{"role": "model", "parts": []any{part}}, "finishReason": "STOP", "index": 0}},
		"usageMetadata": map[string]any{"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110},
		"modelVersion":  t.model,
	}
	if !t.stream {
		writeJSON(w, resp)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "data: %s\n\n", mustJSON(resp))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (geminiDialect) writeCount(w http.ResponseWriter, tokens int) {
	writeJSON(w, map[string]any{"totalTokens": tokens})
}

// sampleJSON returns a value that satisfies a (Gemini-style) JSON schema:
// every required property filled, "user" preferred among enum values (so
// a next-speaker check hands the turn back to the user).
func sampleJSON(raw json.RawMessage) any {
	var s map[string]any
	if json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	return sample(s)
}

func sample(s map[string]any) any {
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		for _, e := range enum {
			if e == "user" {
				return e
			}
		}
		return enum[0]
	}
	typ, _ := s["type"].(string)
	switch strings.ToLower(typ) {
	case "object", "":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for k, p := range props {
			if ps, ok := p.(map[string]any); ok {
				out[k] = sample(ps)
			}
		}
		return out
	case "array":
		return []any{}
	case "integer":
		return 1 // the lowest score (a routing complexity score is 1-100)
	case "number":
		return 0 // no confidence (a loop check's confidence)
	case "boolean":
		return false
	}
	return "fake model"
}
