package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// TestCheckMessage pins the strict check's answers on the paths of its
// layer over jsontext: what is left to mcp-go (nil), the refusals and their
// precedence, the error texts and ids, and the returned top-level members.
func TestCheckMessage(t *testing.T) {
	deep := func(n int) string {
		return `{"jsonrpc":"2.0","id":1,"method":"x","params":` + strings.Repeat(`[`, n-1) + strings.Repeat(`]`, n-1) + `}`
	}
	cases := []struct {
		name, msg string
		code      int    // 0: accepted or left to mcp-go
		text      string // the whole message, when refused
		id        string // the refusal's id ("" = null)
	}{
		{"accepted call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":[1,2.5,-3e2]}}}`, 0, "", ""},
		{"accepted response", `{"jsonrpc":"2.0","id":"s1","result":{}}`, 0, "", ""},
		{"leading and trailing space", " \t{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n", 0, "", ""},
		{"not JSON is mcp-go's", `{"id":1,`, 0, "", ""},
		{"two values are mcp-go's", `{"method":"a"} {"method":"b"}`, 0, "", ""},
		{"a duplicate before a syntax error is mcp-go's", `{"method":"a","method":"b",}`, 0, "", ""},
		{"nesting 10000 deep is JSON", deep(10000), 0, "", ""},
		{"nesting 10001 deep is mcp-go's", deep(10001), 0, "", ""},
		{"empty", ``, 0, "", ""},
		{"invalid UTF-8 before anything", "{\"id\":1,\xff", codeParseError, "Parse error: the message is not valid UTF-8 (JSON text must be UTF-8)", ""},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, codeInvalidRequest, "Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 removed them); send one message per request", ""},
		{"a string", `"ping"`, codeInvalidRequest, "Invalid Request: a JSON-RPC message must be a JSON object", ""},
		{"duplicate in arguments", `{"id":7,"method":"tools/call","params":{"arguments":{"env":{"A":"1","A":"2"}}}}`, codeInvalidRequest, `Invalid Request: duplicate key "A" in params.arguments.env`, "7"},
		{"duplicate in an array element", `{"id":7,"method":"m","params":{"a":[1,{"k":1,"k":2}]}}`, codeInvalidRequest, `Invalid Request: duplicate key "k" in params.a[1]`, "7"},
		{"escaped duplicate", `{"id":7,"method":"ping","\u006dethod":"tools/call"}`, codeInvalidRequest, `Invalid Request: duplicate key "method" in the message`, "7"},
		{"duplicate id", `{"id":7,"id":8,"method":"ping"}`, codeInvalidRequest, `Invalid Request: duplicate key "id" in the message`, ""},
		{"the id after the refusal, last of two", `{"method":"m","params":{"a":1,"a":2},"id":7,"id":8}`, codeInvalidRequest, `Invalid Request: duplicate key "a" in params`, "8"},
		{"empty key in a path", `{"id":1,"method":"m","":{"x":1,"x":2}}`, codeInvalidRequest, `Invalid Request: duplicate key "x" in ""`, "1"},
		{"case variant", `{"id":1,"Method":"tools/call"}`, codeInvalidRequest, `Invalid Request: member names are case-sensitive: "Method" in the message must be spelt "method"`, "1"},
		{"case variant by Unicode folding", `{"id":1,"method":"m","params":{"argument\u017f":{}}}`, codeInvalidRequest, `Invalid Request: member names are case-sensitive: "argumentſ" in params must be spelt "arguments"`, "1"},
		{"case variant in _meta", `{"id":1,"method":"m","params":{"_meta":{"ProgressToken":1}}}`, codeInvalidRequest, `Invalid Request: member names are case-sensitive: "ProgressToken" in params._meta must be spelt "progressToken"`, "1"},
		{"case variants outside the envelope are the tool's", `{"id":1,"method":"m","params":{"arguments":{"ID":1,"Name":2}}}`, 0, "", ""},
		{"case variants under an escaped params", `{"id":1,"method":"m","p\u0061rams":{"NAME":1}}`, codeInvalidRequest, `Invalid Request: member names are case-sensitive: "NAME" in params must be spelt "name"`, "1"},
		{"integer beyond 2^53", `{"id":1,"method":"m","params":{"a":[0,9007199254740993]}}`, codeInvalidRequest, "Invalid Request: params.a[1]: the integer 9007199254740993 is too large to be represented exactly (the limit is ±9007199254740991)", "1"},
		{"2^53-1 is exact", `{"id":1,"method":"m","params":{"a":9007199254740991,"b":-9007199254740991}}`, 0, "", ""},
		{"overflow", `{"id":1,"method":"m","params":{"t":1e999}}`, codeInvalidRequest, "Invalid Request: params.t: the number 1e999 is out of range", "1"},
		{"long decimal", `{"id":1,"method":"m","params":{"t":0.` + strings.Repeat("1", 400) + `}}`, 0, "", ""},
		{"unpaired surrogate wins over an earlier duplicate", `{"id":1,"method":"m","a":1,"a":2,"b":"x\udc00"}`, codeParseError, `Parse error: the message contains an unpaired UTF-16 surrogate escape (\udc00); strings must be valid Unicode`, "1"},
		{"high surrogate then text", `{"id":1,"method":"m","b":"\ud83dx"}`, codeParseError, `Parse error: the message contains an unpaired UTF-16 surrogate escape (\ud83d); strings must be valid Unicode`, "1"},
		{"a pair is fine", `{"id":1,"method":"m","b":"\ud83d\ude00"}`, 0, "", ""},
		{"no method", `{"jsonrpc":"2.0","id":1}`, codeInvalidRequest, "Invalid Request: the message has no method", "1"},
		{"empty method", `{"jsonrpc":"2.0","id":1,"method":""}`, codeInvalidRequest, "Invalid Request: the message has no method", "1"},
		{"a number method is mcp-go's", `{"jsonrpc":"2.0","id":1,"method":5}`, 0, "", ""},
		{"fraction id", `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, codeInvalidRequest, "Invalid Request: the id must be a string or an integer (MCP); got 1.5", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			top, me := checkMessage([]byte(c.msg))
			if c.code == 0 {
				if me != nil {
					t.Fatalf("refused: %d %s", me.Code, me.Message)
				}
				return
			}
			if me == nil {
				t.Fatalf("accepted, want %d %s", c.code, c.text)
			}
			if me.Code != c.code || me.Message != c.text || string(me.ID) != c.id {
				t.Fatalf("got %d %q id %s\nwant %d %q id %s", me.Code, me.Message, me.ID, c.code, c.text, c.id)
			}
			if top != nil {
				t.Fatalf("a refusal returned members %v", top)
			}
		})
	}
}

// TestCheckMessageMembers: an accepted message's top-level members are its
// raw values, whatever their kind and spacing.
func TestCheckMessageMembers(t *testing.T) {
	msg := `{ "jsonrpc" : "2.0", "id" : -7, "method":"tools/call", "params" : { "name" : "a", "arguments" : [ 1, {"b":null} ] }, "x\u0079z": true }`
	top, me := checkMessage([]byte(msg))
	if me != nil {
		t.Fatal(me.Message)
	}
	want := map[string]string{
		"jsonrpc": `"2.0"`, "id": `-7`, "method": `"tools/call"`,
		"params": `{ "name" : "a", "arguments" : [ 1, {"b":null} ] }`, "xyz": `true`,
	}
	if len(top) != len(want) {
		t.Fatalf("members %v, want %v", top, want)
	}
	for k, v := range want {
		if string(top[k]) != v {
			t.Errorf("member %s = %s, want %s", k, top[k], v)
		}
	}
}

// strictMessages are the benchmark's representative messages.
func strictMessages() []struct {
	name string
	msg  []byte
} {
	call := func(args string) []byte {
		return []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"file_write","arguments":` + args + `}}`)
	}
	var b64 bytes.Buffer
	b64.WriteString(`{"computer_id":"cmp_bench_0001","rules":[`)
	for i := 0; b64.Len() < 64<<10; i++ {
		if i > 0 {
			b64.WriteByte(',')
		}
		fmt.Fprintf(&b64, `{"destination":"10.0.%d.%d/32","effect":"allow","ports":[80,443,%d],"note":"rule \"%d\" for the bench","enabled":true,"weight":%d.5}`, i/256, i%256, 8000+i, i, i)
	}
	b64.WriteString(`]}`)
	content, _ := json.Marshal(strings.Repeat("line of a file written by the bench\twith a tab and a \"quote\"\n", 5<<20/64))
	deep := strings.Repeat(`{"a":[`, 1000) + `1` + strings.Repeat(`]}`, 1000)
	return []struct {
		name string
		msg  []byte
	}{
		{"small-call", []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"cmp_bench_0001"}}}`)},
		{"64KiB-call", call(b64.String())},
		{"5MiB-string", call(`{"computer_id":"cmp_bench_0001","path":"/home/user/big.txt","content":` + string(content) + `}`)},
		{"deep-2000", call(deep)},
	}
}

func benchmarkCheck(b *testing.B, check func([]byte) (map[string]json.RawMessage, *MessageError)) {
	for _, m := range strictMessages() {
		b.Run(m.name, func(b *testing.B) {
			if _, me := check(m.msg); me != nil {
				b.Fatal(me.Message)
			}
			b.SetBytes(int64(len(m.msg)))
			b.ReportAllocs()
			for b.Loop() {
				check(m.msg)
			}
		})
	}
}

// BenchmarkCheckMessage: the strict check on representative messages.
func BenchmarkCheckMessage(b *testing.B) { benchmarkCheck(b, checkMessage) }

// FuzzStringValue: stringValue decodes a checked JSON string as
// json.Unmarshal into a string does, and refuses every other value.
func FuzzStringValue(f *testing.F) {
	for _, s := range []string{`"tools/call"`, `"a\"b"`, `"\u0037"`, `"\ud83d\ude00"`, `""`, `7`, `null`, `{"a":1}`, `"é"`, `"\/"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !jsontext.Value(raw).IsValid() || len(bytes.TrimSpace(raw)) != len(raw) {
			return // the strict check passes only such values (valid UTF-8, no lone surrogate escape), trimmed
		}
		got, ok := stringValue(raw)
		var want string
		if raw[0] != '"' {
			if ok {
				t.Fatalf("stringValue(%s) = %q, true; want false for a non-string", raw, got)
			}
			return
		}
		if err := json.Unmarshal(raw, &want); err != nil || !ok || got != want {
			t.Fatalf("stringValue(%s) = %q, %v; json.Unmarshal = %q, %v", raw, got, ok, want, err)
		}
	})
}
