package fakemodel

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var png1x1 = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

func TestWorkflowsFileParses(t *testing.T) {
	s, err := LoadScript("../workflows.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range s.Workflows {
		names = append(names, w.Name)
	}
	if diff := cmp.Diff([]string{"computer-screenshot", "deploy-sandbox", "cron-job", "database-credentials"}, names); diff != "" {
		t.Errorf("the docs' four usage examples, in order (-want +got):\n%s", diff)
	}
}

func TestParseScriptRejects(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown value", "values: {}\nworkflows: [{name: w, steps: [{call: a, args: {id: $nope}, expect: x}]}]", "unknown value $nope"},
		{"no check", "workflows: [{name: w, steps: [{call: a}]}]", "no expect, until or image"},
		{"bad variant", "workflows: [{name: w, steps: [{call: a, only: sometimes, expect: x}]}]", "not a variant"},
		{"unknown field", "workflows: [{name: w, steps: [{call: a, expect: x, argz: {}}]}]", "argz"},
		{"duplicate workflow", "workflows: [{name: w, steps: [{call: a, expect: x}]}, {name: w, steps: [{call: a, expect: x}]}]", "unique name"},
		{"no workflows", "workflows: []", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScript([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestArgsResolvePlaceholders(t *testing.T) {
	s, err := ParseScript([]byte(`
values:
  sandbox: {pattern: '\bsbx_[0-9a-z]+\b', docs: "sbx_..."}
workflows:
  - name: w
    steps:
      - {call: a, args: {command: ls, src: $sandbox}, with_ids: {id: $sandbox}, expect: x}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := s.Workflows[0].Steps[0]
	tests := []struct {
		name    string
		v       Variant
		earlier []string
		want    map[string]any
	}{
		{"nothing earlier: the docs' placeholder", AsWritten, nil, map[string]any{"command": "ls", "src": "sbx_..."}},
		{"the newest result, its last match", AsWritten, []string{"sbx_old1", "made sbx_a1 then sbx_b2"},
			map[string]any{"command": "ls", "src": "sbx_b2"}},
		{"with-ids adds the id", WithIDs, []string{"sbx_a1"}, map[string]any{"command": "ls", "src": "sbx_a1", "id": "sbx_a1"}},
		{"an older result when the newest has none", AsWritten, []string{"sbx_a1", "no id here"}, map[string]any{"command": "ls", "src": "sbx_a1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, s.args(st, tt.v, tt.earlier)); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestLongestPrefix(t *testing.T) {
	tests := []struct {
		want  string
		texts []string
		n     int
	}{
		{"hello world", []string{"say hello world!"}, 11},
		{"hello world", []string{"say hello wor… [truncated]"}, 9},
		{"hello world", []string{"xyz"}, 0},
		{"hello world", []string{"nothing"}, 1}, // "h"
		{"hello world", []string{"hell", "a hello w"}, 7},
		{"", []string{"x"}, 0},
	}
	for _, tt := range tests {
		if got := longestPrefix(tt.want, tt.texts); got != tt.n {
			t.Errorf("longestPrefix(%q, %q) = %d, want %d", tt.want, tt.texts, got, tt.n)
		}
	}
}

func TestSchemaDiff(t *testing.T) {
	ours := `{"type":"object","additionalProperties":false,"required":["id"],"properties":{
		"id":{"type":"string","description":"ID","pattern":"^x"},
		"n":{"type":"integer","minimum":1,"maximum":600,"default":120},
		"tags":{"type":"array","items":{"type":"string","format":"uri"}}}}`
	theirs := `{"type":"object","additionalProperties":false,"required":["id"],"properties":{
		"id":{"type":"STRING","description":"ID"},
		"n":{"type":"integer"},
		"tags":{"type":"array","items":{"type":"string"}},
		"wait_for_previous":{"type":"boolean"}}}`
	d := NewSchemaDiff()
	d.Compare(json.RawMessage(ours), json.RawMessage(theirs))
	want := SchemaDiff{
		Stripped: map[string]int{"pattern": 1, "minimum": 1, "maximum": 1, "default": 1, "format": 1},
		Added:    map[string]int{"properties.wait_for_previous": 1},
		Changed:  map[string]int{"type": 1},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Error(diff)
	}
	same := NewSchemaDiff()
	same.Compare(json.RawMessage(ours), json.RawMessage(ours))
	if !same.Empty() {
		t.Errorf("a schema differs from itself: %+v", same)
	}
}

func TestAnthropicParse(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(png1x1)
	body := `{"model":"m","stream":true,
	 "system":[{"type":"text","text":"deferred:\nmcp__miosa__b\nmcp__miosa__a"}],
	 "tools":[{"name":"ToolSearch","input_schema":{}},{"name":"mcp__miosa__a","description":"A","input_schema":{"type":"object"},"defer_loading":true},{"name":"Bash","input_schema":{}}],
	 "messages":[{"role":"user","content":"go"},
	  {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"mcp__miosa__a","input":{}}]},
	  {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":[{"type":"text","text":"shot"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + img + `"}}]},
	   {"type":"tool_result","tool_use_id":"c2","is_error":true,"content":"boom"}]}]}`
	tr, err := anthropicDialect{}.parse(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !tr.main || !tr.canSearch || len(tr.tools) != 1 || tr.tools["a"].Name != "a" {
		t.Fatalf("turn = %+v", tr)
	}
	if diff := cmp.Diff([]string{"b"}, tr.deferred); diff != "" {
		t.Errorf("deferred: %s", diff)
	}
	want := map[string]Result{
		"c1": {Text: "shot", Images: []Image{{MIME: "image/png", Data: png1x1}}},
		"c2": {Text: "boom", IsError: true},
	}
	if diff := cmp.Diff(want, tr.results); diff != "" {
		t.Errorf("results: %s", diff)
	}
	side, _ := anthropicDialect{}.parse(nil, []byte(`{"model":"haiku","messages":[{"role":"user","content":"title?"}]}`))
	if side.main {
		t.Error("a request without our tools or ToolSearch is a side request")
	}
}

func TestGeminiParse(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(png1x1)
	body := `{"contents":[{"role":"user","parts":[{"text":"go"}]},
	  {"role":"model","parts":[{"functionCall":{"id":"c1","name":"mcp_miosa_a","args":{}}},{"functionCall":{"name":"mcp_miosa_b","args":{}}}]},
	  {"role":"user","parts":[{"functionResponse":{"id":"c1","name":"mcp_miosa_a","response":{"output":"ok"}}},{"inlineData":{"mimeType":"image/png","data":"` + img + `"}},
	   {"functionResponse":{"name":"mcp_miosa_b","response":{"error":"params must have required property 'id'"}}}]}],
	 "tools":[{"functionDeclarations":[{"name":"mcp_miosa_a","parametersJsonSchema":{"type":"object"}},{"name":"read_file"}]}]}`
	r := httptest.NewRequest(http.MethodPost, "/v1beta/models/gemini-x:streamGenerateContent?alt=sse", nil)
	tr, err := geminiDialect{}.parse(r, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !tr.main || !tr.stream || tr.model != "gemini-x" || len(tr.tools) != 1 {
		t.Fatalf("turn = %+v", tr)
	}
	want := map[string]Result{
		"c1": {Text: "ok", Images: []Image{{MIME: "image/png", Data: png1x1}}},
		"":   {Text: "params must have required property 'id'", IsError: true},
	}
	if diff := cmp.Diff(want, tr.results); diff != "" {
		t.Errorf("results: %s", diff)
	}
	side, _ := geminiDialect{}.parse(r, []byte(`{"contents":[],"generationConfig":{"responseJsonSchema":{"type":"object","properties":{"next_speaker":{"type":"string","enum":["model","user"]},"score":{"type":"integer"}}}}}`))
	if side.main || side.sideAnswer != `{"next_speaker":"user","score":1}` {
		t.Errorf("side answer = %q", side.sideAnswer)
	}
}

func TestResponsesParse(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(png1x1)
	body := `{"model":"gpt","stream":true,"tools":[{"type":"tool_search"},{"type":"function","name":"exec_command"}],
	 "input":[{"type":"message","role":"developer","content":[{"type":"input_text","text":"<tools>\nDeferred tool namespaces:\n- mcp__miosa: First line.\n</tools>"}]},
	  {"type":"tool_search_call","call_id":"s1"},
	  {"type":"tool_search_output","call_id":"s1","tools":[{"type":"namespace","name":"mcp__miosa","description":"All.","tools":[{"type":"function","name":"a","parameters":{"type":"object"}}]}]},
	  {"type":"function_call_output","call_id":"c1","output":"Output:\n{\"data\":{}}"},
	  {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"Output:"},{"type":"input_image","image_url":"data:image/png;base64,` + img + `"}]}]}`
	tr, err := responsesDialect{}.parse(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !tr.main || !tr.canSearch || !tr.deferredNamespace || len(tr.tools) != 1 {
		t.Fatalf("turn = %+v", tr)
	}
	want := map[string]Result{
		"s1": {},
		"c1": {Text: "Output:\n{\"data\":{}}"},
		"c2": {Text: "Output:", Images: []Image{{MIME: "image/png", Data: png1x1}}},
	}
	if diff := cmp.Diff(want, tr.results); diff != "" {
		t.Errorf("results: %s", diff)
	}
}

// TestServerDrivesScript plays a client against the server (Anthropic
// dialect): load the deferred tools, run a two-step workflow with a poll,
// feed the results back, and read the recording.
func TestServerDrivesScript(t *testing.T) {
	script, err := ParseScript([]byte(`
values:
  thing: {pattern: '\bthg_[0-9a-z]+\b', docs: "thg_..."}
workflows:
  - name: w
    steps:
      - {call: make, args: {size: small}, expect: '"id"'}
      - {call: get, args: {}, with_ids: {id: $thing}, until: 'ready'}
      - {call: shot, args: {}, image: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Dialect: Anthropic, Script: script, Variant: WithIDs, Instructions: "Line one.\nLine two.",
		Tools: []string{"make", "get", "shot"}, PollDelay: time.Millisecond})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// The fake client: it answers each call with a scripted result.
	answers := map[string]string{"make": `{"id":"thg_1"}`, "get": "booting", "shot": "image"}
	var msgs []any
	tools := []any{map[string]any{"name": "ToolSearch", "input_schema": map[string]any{}}}
	system := "## miosa\nLine one.\nLine t… [truncated]\ndeferred: mcp__miosa__make mcp__miosa__get mcp__miosa__shot"
	var calls []string
	for i := 0; i < 20; i++ {
		body := mustJSON(map[string]any{"model": "m", "stream": true, "system": system, "tools": tools, "messages": msgs})
		resp, err := http.Post(ts.URL+"/v1/messages", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		name, id, input, text := readAnthropicSSE(t, resp)
		if text != "" {
			break
		}
		calls = append(calls, name+" "+input)
		msgs = append(msgs, map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": id, "name": name, "input": json.RawMessage(input)}}})
		var content any
		switch name {
		case "ToolSearch":
			for _, n := range []string{"make", "get", "shot"} {
				tools = append(tools, map[string]any{"name": "mcp__miosa__" + n, "input_schema": map[string]any{"type": "object"}})
			}
			content = []any{}
		case "mcp__miosa__shot":
			content = []any{map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": base64.StdEncoding.EncodeToString(png1x1)}}}
		case "mcp__miosa__get":
			if strings.Count("\n"+strings.Join(calls, "\n"), "\nmcp__miosa__get ") >= 2 {
				answers["get"] = "ready"
			}
			content = answers["get"]
		default:
			content = answers[strings.TrimPrefix(name, "mcp__miosa__")]
		}
		msgs = append(msgs, map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": id, "content": content}}})
	}
	want := []string{
		`ToolSearch {"max_results":3,"query":"select:mcp__miosa__get,mcp__miosa__make,mcp__miosa__shot"}`,
		`mcp__miosa__make {"size":"small"}`,
		`mcp__miosa__get {"id":"thg_1"}`,
		`mcp__miosa__get {"id":"thg_1"}`,
		`mcp__miosa__shot {}`,
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	rec := srv.Recording()
	if !rec.Done || rec.Searches != 1 || len(rec.Tools) != 3 || rec.DeferredAtStart != 3 {
		t.Errorf("recording: done=%v searches=%d tools=%d deferred=%d", rec.Done, rec.Searches, len(rec.Tools), rec.DeferredAtStart)
	}
	if rec.InstructionsAtStart != len("Line one.\nLine t") {
		t.Errorf("InstructionsAtStart = %d", rec.InstructionsAtStart)
	}
	if f := rec.Workflows[0].Failures(); len(f) != 0 {
		t.Errorf("failures: %v", f)
	}
	if got := rec.Workflows[0].Steps[1].Attempts; got != 2 {
		t.Errorf("the poll took %d calls, want 2", got)
	}
}

// readAnthropicSSE returns the tool_use (name, id, input) or the text of a
// streamed Messages response.
func readAnthropicSSE(t *testing.T, resp *http.Response) (name, id, input, text string) {
	t.Helper()
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Type         string `json:"type"`
			ContentBlock struct {
				Type, ID, Name string
			} `json:"content_block"`
			Delta struct {
				Type        string `json:"type"`
				PartialJSON string `json:"partial_json"`
				Text        string `json:"text"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("bad SSE data %q: %v", data, err)
		}
		switch {
		case ev.Type == "content_block_start" && ev.ContentBlock.Type == "tool_use":
			name, id = ev.ContentBlock.Name, ev.ContentBlock.ID
		case ev.Delta.Type == "input_json_delta":
			input += ev.Delta.PartialJSON
		case ev.Delta.Type == "text_delta":
			text += ev.Delta.Text
		}
	}
	if name == "" && text == "" {
		t.Fatalf("status %d: neither a tool call nor text", resp.StatusCode)
	}
	return name, id, input, text
}
