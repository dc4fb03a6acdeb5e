package runtime

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestIDKey: a request id's identity is its JSON type and value: 7 and "7"
// differ, and one id spelt two ways is the same id.
func TestIDKey(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{`7`, `"7"`, false},
		{`"7"`, `"\u0037"`, true},
		{`7`, ` 7 `, true},
		{`-0`, `0`, true},
		{`0`, `"0"`, false},
		{`"a"`, `"A"`, false},
		{`9007199254740991`, `"9007199254740991"`, false},
		{`""`, `"\u0000"`, false},
	}
	for _, c := range cases {
		ka, oka := idKey(json.RawMessage(c.a))
		kb, okb := idKey(json.RawMessage(c.b))
		if !oka || !okb {
			t.Errorf("idKey(%s), idKey(%s): not keys", c.a, c.b)
			continue
		}
		if (ka == kb) != c.same {
			t.Errorf("idKey(%s) = %q, idKey(%s) = %q; same = %v, want %v", c.a, ka, c.b, kb, ka == kb, c.same)
		}
	}
	for _, bad := range []string{``, `null`, `1.5`, `{}`, `"unterminated`} {
		if k, ok := idKey(json.RawMessage(bad)); ok {
			t.Errorf("idKey(%s) = %q, want no key", bad, k)
		}
	}
}

func TestEncodeResponse(t *testing.T) {
	text := func(s string) *mcp.CallToolResult { return mcp.NewToolResultText(s) }
	structured := func(v any) *mcp.CallToolResult {
		r := mcp.NewToolResultText("x")
		r.StructuredContent = v
		return r
	}
	tests := []struct {
		name string
		resp mcp.JSONRPCMessage
	}{
		{"a text result", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(7)), text("plain"))},
		{"a string id", mcp.NewJSONRPCResultResponse(mcp.NewRequestId("a\"b"), text("plain"))},
		{"HTML and line separators", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), text("<script>&\u2028é\x00"))},
		{"raw structured content with space and HTML", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), structured(json.RawMessage(` {"a" : "<b>&", "n": 1.50} `)))},
		{"structured content as a map", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), structured(map[string]any{"truncated": true, "bytes": 3}))},
		{"an error result", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(2)), mcp.NewToolResultError("failed <here>"))},
		{"an image", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(3)), &mcp.CallToolResult{Content: []mcp.Content{mcp.NewImageContent("aGk=", "image/png")}})},
		{"not a tool result", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(4)), map[string]any{"tools": []any{}})},
		{"a nil tool result", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(5)), (*mcp.CallToolResult)(nil))},
		{"an error response", mcp.NewJSONRPCError(mcp.NewRequestId(int64(6)), mcp.INVALID_PARAMS, "bad", nil)},
		{"no content", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(8)), &mcp.CallToolResult{})},
		{"a negative id", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(-9007199254740991)), text("x"))},
		// HandleMessage answers with the id decoded into an interface: a float64.
		{"a float id", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(float64(7)), text("x"))},
		{"a float id of 2^53", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(float64(1<<53)), text("x"))},
		{"a float id of minus zero", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(math.Copysign(0, -1)), text("x"))},
		{"a float id with a fraction", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(1.5), text("x"))},
		{"a float id of 1e21", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(1e21), text("x"))},
		{"a float id just below 1e21", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(999999999999999868928.0), text("x"))},
		{"every member", mcp.NewJSONRPCResultResponse(mcp.NewRequestId("every"), &mcp.CallToolResult{
			Result:               mcp.Result{Meta: &mcp.Meta{AdditionalFields: map[string]any{"k": "<v>"}}, ResultType: "complete"},
			MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{"q": mcp.NewRootsInputRequest()}, RequestState: "state"},
			Content:              []mcp.Content{mcp.NewTextContent("a"), mcp.NewImageContent("aGk=", "image/png")},
			StructuredContent:    map[string]any{"b": 1},
			IsError:              true,
		})},
		{"raw structured content wins over the value", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(10)), &mcp.CallToolResult{
			Content: []mcp.Content{mcp.NewTextContent("a")}, StructuredContent: map[string]any{"value": true}, RawStructuredContent: json.RawMessage(`{"raw": true}`),
		})},
		{"a typed nil structured content", mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(11)), &mcp.CallToolResult{StructuredContent: (*struct{})(nil)})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeResponse(tc.resp)
			want, werr := json.Marshal(tc.resp)
			if err != nil || werr != nil || string(got) != string(want) {
				t.Fatalf("encodeResponse = %s, %v\njson.Marshal  = %s, %v", got, err, want, werr)
			}
		})
	}
}

// TestToolResultWireKnowsEveryMember: toolResultWire names every member
// mcp-go's CallToolResult has, so a member a new mcp-go version adds (and
// its MarshalJSON writes) cannot be dropped from our encoding unseen.
func TestToolResultWireKnowsEveryMember(t *testing.T) {
	var members func(reflect.Type) []string
	members = func(rt reflect.Type) []string {
		var names []string
		for f := range rt.Fields() {
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				names = append(names, members(f.Type)...)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue // RawStructuredContent: the wire form of structuredContent
			}
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
		}
		slices.Sort(names)
		return names
	}
	have, want := members(reflect.TypeFor[toolResultWire]()), members(reflect.TypeFor[mcp.CallToolResult]())
	if !slices.Equal(have, want) {
		t.Fatalf("toolResultWire has members %v, mcp-go's CallToolResult %v: mirror the new ones (and check CallToolResult.MarshalJSON writes them as named)", have, want)
	}
	var order []string
	for f := range reflect.TypeFor[toolResultWire]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		order = append(order, name)
	}
	if !slices.IsSorted(order) {
		t.Fatalf("toolResultWire's members are in the order %v; mcp-go encodes a map, so they must be sorted", order)
	}
}

// FuzzEncodeResponse: a tool call's response is encoded exactly as
// json.Marshal encodes it, whatever its text and structured content.
func FuzzEncodeResponse(f *testing.F) {
	f.Add("text <b>&", []byte(`{"a": "<b>"}`), true, 7.0)
	f.Add("é\u2028", []byte(`[1, 2.50, null]`), false, -9007199254740991.0)
	f.Add("", []byte(`{}`), false, 1e21)
	f.Fuzz(func(t *testing.T, text string, raw []byte, isError bool, id float64) {
		r := mcp.NewToolResultText(text)
		r.IsError = isError
		if json.Valid(raw) {
			r.StructuredContent = json.RawMessage(raw)
		}
		// HandleMessage answers with a float64 id; an id built in-process
		// may be an int64.
		rid := mcp.NewRequestId(id)
		if math.IsNaN(id) || math.IsInf(id, 0) {
			rid = mcp.NewRequestId(int64(len(text)))
		}
		resp := mcp.NewJSONRPCResultResponse(rid, r)
		got, err := encodeResponse(resp)
		want, werr := json.Marshal(resp)
		if (err != nil) != (werr != nil) || string(got) != string(want) {
			t.Fatalf("encodeResponse = %s, %v\njson.Marshal  = %s, %v", got, err, want, werr)
		}
	})
}

// BenchmarkEncodeResponse is a small tool call's response (the bench's read
// call) encoded by encodeResponse and by json.Marshal.
func BenchmarkEncodeResponse(b *testing.B) {
	body := json.RawMessage(`{"data":{"id":"cmp_bench_0001","name":"bench","status":"running","template":"miosa-desktop","size":"small","region":"us-east-1","ip":"10.0.0.7","created_at":"2026-01-01T00:00:00Z"}}`)
	r := mcp.NewToolResultText(string(body))
	r.StructuredContent = body
	resp := mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(42)), r)
	b.Run("encodeResponse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeResponse(resp)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(resp)
		}
	})
}
