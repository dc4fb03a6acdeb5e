package reliability_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// The bad-input table: every case is sent, as raw JSON-RPC, to the spawned
// binary over stdio and over HTTP (the real 151-tool catalog in front of a
// recording upstream). Each asserts a clear answer — a JSON-RPC error or an
// isError tool result naming the problem, never a crash or a hang — and the
// upstream traffic: nothing for invalid input, exactly the escaped path for
// path values that are valid.

type expectKind int

const (
	rpcError  expectKind = iota + 1 // a JSON-RPC error response
	toolError                       // an isError tools/call result
	noReply                         // a notification: no response at all
	sent                            // success: exactly one upstream request
)

type expect struct {
	kind expectKind
	code int    // rpcError: the JSON-RPC code (0: any of -32700..-32600)
	text string // rpcError/toolError: a substring of the message
	id   string // the response id (canonical JSON); "" = the case's own id
	// sent: the exact escaped path (and query, and body substring) received.
	path, query, body string
}

type badCase struct {
	name string
	msg  string // the raw message; %ID% is replaced by the case's id
	want expect
}

// call builds a tools/call message; args is raw JSON (or "" to omit it).
func call(tool, args string) string {
	name, _ := json.Marshal(tool)
	p := `{"name":` + string(name)
	if args != "" {
		p += `,"arguments":` + args
	}
	return `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":` + p + `}}`
}

func rpcErr(code int, text string) expect { return expect{kind: rpcError, code: code, text: text} }
func rpcErrID(id string, code int, text string) expect {
	return expect{kind: rpcError, code: code, text: text, id: id}
}
func toolErr(text string) expect { return expect{kind: toolError, text: text} }
func sentTo(path string) expect  { return expect{kind: sent, path: path} }
func sentQuery(path, query string) expect {
	return expect{kind: sent, path: path, query: query}
}

const (
	parseErr   = -32700
	invalidReq = -32600
	noMethod   = -32601
	badParams  = -32602
)

func jstr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// pathCases: values for the single id path parameter of computer_get
// (GET /computers/{computer_id}); "" = refused with nothing sent. Ids are
// opaque tokens (api/README.md): anything that could leave its segment,
// through the client's escaping or a proxy that decodes once, is refused
// before a request is made; every id format the API uses is sent.
var pathCases = []struct {
	name, value, want string
}{
	{"dotdot", "..", ""},
	{"dot", ".", ""},
	{"empty", "", ""},
	{"space", " ", ""},
	{"spaces", "   ", ""},
	{"tab", "\t", ""},
	{"newline", "\n", ""},
	{"crlf-injection", "a\r\nHost: evil.example", ""},
	{"NUL", "a\x00b", ""},
	{"NUL-only", "\x00", ""},
	{"DEL", "a\x7fb", ""},
	{"C1-NEL", "a\u0085b", ""},
	{"escape", "\x1b[31m", ""},
	{"nbsp-only", "\u00a0", ""},
	{"ideographic-space-only", "\u3000", ""},
	{"line-separator-only", "\u2028", ""},
	{"too-long", strings.Repeat("a", 5000), ""},
	{"slash", "a/b", ""},
	{"dotdot-slash", "../admin", ""},
	{"dotdot-slash-x3", "../../../etc/passwd", ""},
	{"leading-slash", "/etc/passwd", ""},
	{"double-slash-host", "//evil.example/x", ""},
	{"absolute-url", "http://evil.example/x", ""},
	{"pct-dotdot", "%2e%2e", ""},
	{"pct-dotdot-upper", "%2E%2E", ""},
	{"pct-dot", "%2e", ""},
	{"dot-pct-dot", ".%2e", ""},
	{"dotdot-pct-slash", "..%2f", ""},
	{"dotdot-pct-slash-upper", "..%2F", ""},
	{"pct-slash", "a%2Fb", ""},
	{"pct-NUL", "%00", ""},
	{"lone-percent", "%", ""},
	{"query", "a?x=1", ""},
	{"query-only", "?", ""},
	{"fragment", "a#b", ""},
	{"semicolon", "a;b", ""},
	{"backslash", `a\b`, ""},
	{"backslash-dotdot", `..\..\x`, ""},
	{"three-dots", "...", ""},
	{"leading-dot", ".hidden", ""},
	{"inner-space", "a b", ""},
	{"leading-space", " a", ""},
	{"fullwidth-dots", "\uff0e\uff0e", ""},
	{"two-dot-leader", "\u2025", ""},
	{"fullwidth-slash", "a\uff0fb", ""},
	{"cyrillic-lookalike", "\u0441mp_1", ""},
	{"fullwidth-id", "\uff43\uff4d\uff50", ""},
	{"zero-width-space", "cmp\u200b1", ""},
	{"rtl-override", "cmp\u202e1", ""},
	{"emoji-pair", "\U0001F600", ""},
	{"at-colon", "user@host:1", ""},
	{"ampersand-equals", "a&b=c", ""},
	{"plus", "a+b", ""},
	{"ordinary", "cmp_123", "/api/v1/computers/cmp_123"},
	{"mock-id", "cmp_0007k2j9x8qa", "/api/v1/computers/cmp_0007k2j9x8qa"},
	{"readme-id", "comp_abc123", "/api/v1/computers/comp_abc123"},
	{"uuid", "123e4567-e89b-12d3-a456-426614174000", "/api/v1/computers/123e4567-e89b-12d3-a456-426614174000"},
	{"slug-with-dots", "my-box.v2", "/api/v1/computers/my-box.v2"},
	{"inner-dots", "a..b", "/api/v1/computers/a..b"},
	{"x11-window-style", "0x3a00007", "/api/v1/computers/0x3a00007"},
}

func badCases() []badCase {
	var cs []badCase
	add := func(name, msg string, want expect) { cs = append(cs, badCase{name, msg, want}) }
	get := func(args string) string { return call("computer_get", args) }

	// --- Malformed JSON-RPC framing.
	add("truncated/brace", `{`, rpcErrID("null", parseErr, ""))
	add("truncated/key", `{"jsonrpc"`, rpcErrID("null", parseErr, ""))
	add("truncated/method", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/ca`, rpcErrID("null", parseErr, ""))
	add("truncated/no-close", `{"jsonrpc":"2.0","id":%ID%,"method":"ping"`, rpcErrID("null", parseErr, ""))
	add("truncated/arguments", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"`, rpcErrID("null", parseErr, ""))
	add("truncated/string", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a`, rpcErrID("null", parseErr, ""))
	add("extra-brace", `{"jsonrpc":"2.0","id":%ID%,"method":"ping"}}`, rpcErrID("null", parseErr, ""))
	add("trailing-garbage", `{"jsonrpc":"2.0","id":%ID%,"method":"ping"}x`, rpcErrID("null", parseErr, ""))
	add("two-messages", `{"jsonrpc":"2.0","id":%ID%,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"ping"}`, rpcErrID("null", parseErr, ""))
	add("single-quotes", `{'jsonrpc':'2.0','id':%ID%,'method':'ping'}`, rpcErrID("null", parseErr, ""))
	add("trailing-comma", `{"jsonrpc":"2.0","id":%ID%,"method":"ping",}`, rpcErrID("null", parseErr, ""))
	add("comment", `{"jsonrpc":"2.0","id":%ID%,"method":"ping"} // hi`, rpcErrID("null", parseErr, ""))
	add("NaN-literal", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_list","arguments":{"page":NaN}}}`, rpcErrID("null", parseErr, ""))
	add("Infinity-literal", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_list","arguments":{"page":Infinity}}}`, rpcErrID("null", parseErr, ""))
	add("hex-literal", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_list","arguments":{"page":0x10}}}`, rpcErrID("null", parseErr, ""))
	add("whitespace-only", `   `, rpcErrID("null", parseErr, ""))
	add("not-json", `hello`, rpcErrID("null", parseErr, ""))
	add("string-message", `"tools/call"`, rpcErrID("null", invalidReq, "must be a JSON object"))
	add("number-message", `42`, rpcErrID("null", invalidReq, "must be a JSON object"))
	add("null-message", `null`, rpcErrID("null", invalidReq, "must be a JSON object"))
	add("true-message", `true`, rpcErrID("null", invalidReq, "must be a JSON object"))
	add("empty-object", `{}`, rpcErrID("null", invalidReq, "no method"))
	add("batch/ping", `[{"jsonrpc":"2.0","id":%ID%,"method":"ping"}]`, rpcErrID("null", invalidReq, "batches are not supported"))
	add("batch/call", `[`+call("computer_get", `{"id":"a"}`)+`]`, rpcErrID("null", invalidReq, "batches are not supported"))
	add("batch/two-calls", `[`+call("computer_get", `{"id":"a"}`)+`,`+call("computer_get", `{"id":"b"}`)+`]`, rpcErrID("null", invalidReq, "batches are not supported"))
	add("batch/empty", `[]`, rpcErrID("null", invalidReq, "batches are not supported"))
	add("batch/scalars", `[1,2,3]`, rpcErrID("null", invalidReq, "batches are not supported"))

	// Wrong member types.
	add("jsonrpc/missing", `{"id":%ID%,"method":"ping"}`, rpcErr(invalidReq, "JSON-RPC version"))
	add("jsonrpc/1.0", `{"jsonrpc":"1.0","id":%ID%,"method":"ping"}`, rpcErr(invalidReq, "JSON-RPC version"))
	add("jsonrpc/number", `{"jsonrpc":2.0,"id":%ID%,"method":"ping"}`, rpcErrID("null", parseErr, ""))
	add("jsonrpc/null", `{"jsonrpc":null,"id":%ID%,"method":"ping"}`, rpcErr(invalidReq, "JSON-RPC version"))
	add("method/missing", `{"jsonrpc":"2.0","id":%ID%}`, rpcErr(invalidReq, "no method"))
	add("method/missing-notification", `{"jsonrpc":"2.0","params":{"name":"computer_get"}}`, rpcErrID("null", invalidReq, "no method"))
	add("method/number", `{"jsonrpc":"2.0","id":%ID%,"method":42}`, rpcErrID("null", parseErr, ""))
	add("method/null", `{"jsonrpc":"2.0","id":%ID%,"method":null,"params":{}}`, rpcErr(invalidReq, "no method"))
	add("method/array", `{"jsonrpc":"2.0","id":%ID%,"method":["tools/call"]}`, rpcErrID("null", parseErr, ""))
	add("method/empty", `{"jsonrpc":"2.0","id":%ID%,"method":""}`, rpcErr(invalidReq, "no method"))
	add("method/unknown", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/execute"}`, rpcErr(noMethod, "tools/execute"))
	add("method/case", `{"jsonrpc":"2.0","id":%ID%,"method":"TOOLS/CALL","params":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErr(noMethod, ""))
	add("method/trailing-space", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call ","params":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErr(noMethod, ""))
	add("params/missing", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call"}`, rpcErr(badParams, "not found"))
	add("params/null", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":null}`, rpcErr(badParams, "not found"))
	add("params/string", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":"computer_get"}`, rpcErr(invalidReq, "unparsable"))
	add("params/number", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":5}`, rpcErr(invalidReq, "unparsable"))
	add("params/array", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":["computer_get",{"id":"a"}]}`, rpcErr(invalidReq, "unparsable"))
	add("params/true", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":true}`, rpcErr(invalidReq, "unparsable"))
	add("params/empty", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{}}`, rpcErr(badParams, "not found"))
	add("name/number", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":42,"arguments":{}}}`, rpcErr(invalidReq, "unparsable"))
	add("name/null", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":null,"arguments":{"id":"a"}}}`, rpcErr(badParams, "not found"))
	add("name/array", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":["computer_get"],"arguments":{}}}`, rpcErr(invalidReq, "unparsable"))
	add("name/object", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":{"x":1},"arguments":{}}}`, rpcErr(invalidReq, "unparsable"))
	add("arguments/string", get(`"a"`), toolErr("arguments must be a JSON object"))
	add("arguments/number", get(`5`), toolErr("arguments must be a JSON object"))
	add("arguments/array", get(`[{"id":"a"}]`), toolErr("arguments must be a JSON object"))
	add("arguments/true", get(`true`), toolErr("arguments must be a JSON object"))
	// computer_get may omit its id (#11): the tool that never does is the
	// one to find a missing argument with.
	add("arguments/null", call("computer_destroy", `null`), toolErr("missing required argument id"))
	add("arguments/missing", call("computer_destroy", ""), toolErr("missing required argument id"))
	add("meta/string", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"},"_meta":"x"}}`, rpcErr(0, ""))
	add("notification/call", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"}}}`, expect{kind: noReply})
	add("notification/destroy", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"computer_destroy","arguments":{"id":"a"}}}`, expect{kind: noReply})
	add("notification/unknown", `{"jsonrpc":"2.0","method":"notifications/whatever"}`, expect{kind: noReply})

	// Ids: strings and integers are echoed exactly; anything else is refused
	// rather than echoed as a different value.
	add("id/long-string", `{"jsonrpc":"2.0","id":"`+strings.Repeat("i", 10000)+`","method":"ping"}`, expect{kind: 0, id: `"` + strings.Repeat("i", 10000) + `"`})
	add("id/max-exact", `{"jsonrpc":"2.0","id":9007199254740991,"method":"ping"}`, expect{kind: 0, id: "9007199254740991"})
	add("id/negative", `{"jsonrpc":"2.0","id":-7,"method":"ping"}`, expect{kind: 0, id: "-7"})
	add("id/2^53+1", `{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`, rpcErrID("null", invalidReq, "too large"))
	add("id/huge", `{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}`, rpcErrID("null", invalidReq, "too large"))
	add("id/huge-negative", `{"jsonrpc":"2.0","id":-123456789012345678901234567890,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErrID("null", invalidReq, "too large"))
	add("id/1e400", `{"jsonrpc":"2.0","id":1e400,"method":"ping"}`, rpcErrID("null", invalidReq, "out of range"))
	add("id/fraction", `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, rpcErrID("null", invalidReq, "id must be a string or an integer"))
	add("id/exponent", `{"jsonrpc":"2.0","id":1e3,"method":"ping"}`, rpcErrID("null", invalidReq, "id must be a string or an integer"))
	add("id/true", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, rpcErrID("null", invalidReq, "id must be a string or an integer"))
	add("id/object", `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, rpcErrID("null", invalidReq, "id must be a string or an integer"))
	add("id/array", `{"jsonrpc":"2.0","id":[1],"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErrID("null", invalidReq, "id must be a string or an integer"))
	add("id/null", `{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErrID("null", invalidReq, "id must be a string or an integer"))

	// Duplicate and case-variant keys: encoding/json (mcp-go) folds case and
	// lets the last duplicate win, so a message could name one tool to an
	// inspecting proxy and another to this server. Refused outright.
	add("dup/method", `{"jsonrpc":"2.0","id":%ID%,"method":"ping","method":"tools/call","params":{"name":"computer_destroy","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `duplicate key "method"`))
	add("dup/id", `{"jsonrpc":"2.0","id":%ID%,"id":"other","method":"ping"}`, rpcErrID("null", invalidReq, `duplicate key "id"`))
	add("dup/params", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"}},"params":{"name":"computer_destroy","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `duplicate key "params"`))
	add("dup/name", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","name":"computer_destroy","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `duplicate key "name" in params`))
	add("dup/arguments", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"},"arguments":{"id":"b"}}}`, rpcErr(invalidReq, `duplicate key "arguments"`))
	add("dup/argument", get(`{"id":"a","id":"b"}`), rpcErr(invalidReq, `duplicate key "id" in params.arguments`))
	add("dup/nested", call("sandbox_exec", `{"id":"s","command":"ls","env":{"A":"1","A":"2"}}`), rpcErr(invalidReq, `duplicate key "A" in params.arguments.env`))
	add("dup/escaped-key", `{"jsonrpc":"2.0","id":%ID%,"method":"ping","\u006dethod":"tools/call","params":{"name":"computer_destroy","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `duplicate key "method"`))
	add("dup/jsonrpc", `{"jsonrpc":"2.0","jsonrpc":"1.0","id":%ID%,"method":"ping"}`, rpcErr(invalidReq, `duplicate key "jsonrpc"`))
	add("dup/in-array", call("desktop_hotkey", `{"computer_id":"c","keys":["ctrl"],"keys":["alt"]}`), rpcErr(invalidReq, `duplicate key "keys"`))
	add("case/Method", `{"jsonrpc":"2.0","id":%ID%,"Method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `"Method"`))
	add("case/METHOD", `{"jsonrpc":"2.0","id":%ID%,"METHOD":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `"METHOD"`))
	add("case/Params", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","Params":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `"Params"`))
	add("case/ID", `{"jsonrpc":"2.0","ID":%ID%,"method":"ping"}`, rpcErrID("null", invalidReq, `"ID"`))
	add("case/JSONRPC", `{"JSONRPC":"2.0","id":%ID%,"method":"ping"}`, rpcErr(invalidReq, `"JSONRPC"`))
	add("case/Name-shadow", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","Name":"computer_destroy","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `"Name"`))
	add("case/NAME-alone", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"NAME":"computer_get","arguments":{"id":"a"}}}`, rpcErr(invalidReq, `"NAME"`))
	add("case/Arguments", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","Arguments":{"id":"a"}}}`, rpcErr(invalidReq, `"Arguments"`))
	add("case/long-s-argumentſ", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","argument\u017f":{"id":"a"}}}`, rpcErr(invalidReq, "case-sensitive"))
	add("case/long-s-paramſ", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","param\u017f":{"name":"computer_get","arguments":{"id":"a"}}}`, rpcErr(invalidReq, "case-sensitive"))
	add("case/_Meta", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"},"_Meta":{"progressToken":1}}}`, rpcErr(invalidReq, `"_Meta"`))
	add("case/ProgressToken", `{"jsonrpc":"2.0","id":%ID%,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"a"},"_meta":{"ProgressToken":1}}}`, rpcErr(invalidReq, `"ProgressToken"`))
	add("case/argument-ID", get(`{"ID":"a"}`), toolErr("unknown argument(s) ID"))
	add("case/argument-Id-shadow", get(`{"id":"a","Id":"b"}`), toolErr("unknown argument(s) Id"))
	add("case/nested-EFFECT", call("network_policy_set", `{"computer_id":"c","rules":[{"destination":"1.2.3.4","effect":"allow","EFFECT":"deny-all"}]}`), toolErr("EFFECT"))
	add("case/nested-Destination", call("network_policy_set", `{"computer_id":"c","rules":[{"Destination":"evil","destination":"1.2.3.4","effect":"allow"}]}`), toolErr("Destination"))

	// --- Unknown tools.
	for _, name := range []string{"nope", "", "Computer_Get", "COMPUTER_GET", "computer_get ", " computer_get", "computer_get\u0000", "computer-get", "computer.get", "../computer_get", "tools/call", "c\u043emputer_get", strings.Repeat("x", 10000)} {
		add("unknown-tool/"+clipName(name), call(name, `{"id":"a"}`), rpcErr(badParams, "not found"))
	}

	// --- Wrong argument types, missing and unexpected arguments.
	args := []struct{ name, tool, args, want string }{
		{"type/id-number", "computer_get", `{"id":5}`, "argument id: got number, want string"},
		{"type/id-true", "computer_get", `{"id":true}`, "argument id: got boolean, want string"},
		{"type/id-null", "computer_get", `{"id":null}`, "argument id: got null, want string"},
		{"type/id-array", "computer_get", `{"id":["a"]}`, "argument id: got array, want string"},
		{"type/id-object", "computer_get", `{"id":{"x":"a"}}`, "argument id: got object, want string"},
		{"type/id-fraction", "computer_get", `{"id":1.5}`, "argument id: got number, want string"},
		{"type/page-string", "computer_list", `{"page":"1"}`, "argument page: got string, want integer"},
		{"type/page-fraction", "computer_list", `{"page":1.5}`, "argument page: got number, want integer"},
		{"type/page-tiny-fraction", "computer_list", `{"page":1.0001}`, "argument page: got number, want integer"},
		{"type/page-NaN-string", "computer_list", `{"page":"NaN"}`, "argument page: got string, want integer"},
		{"type/page-Infinity-string", "computer_list", `{"page":"Infinity"}`, "argument page: got string, want integer"},
		{"type/page--Infinity-string", "computer_list", `{"page":"-Infinity"}`, "argument page: got string, want integer"},
		{"type/page-bool", "computer_list", `{"page":true}`, "argument page: got boolean, want integer"},
		{"type/page-null", "computer_list", `{"page":null}`, "argument page: got null, want integer"},
		{"range/page-0", "computer_list", `{"page":0}`, "argument page: minimum"},
		{"range/page-negative", "computer_list", `{"page":-1}`, "argument page: minimum"},
		{"range/per_page-101", "computer_list", `{"per_page":101}`, "argument per_page: maximum"},
		{"range/per_page-huge-float", "computer_list", `{"per_page":1e300}`, "argument per_page: maximum"},
		{"range/page-1e308", "computer_list", `{"page":1e308}`, "page"},
		{"range/page-2^63", "computer_list", `{"page":9223372036854775808e0}`, "page"},
		{"range/port-70000", "port_preview_url", `{"computer_id":"c","port":70000}`, "argument port: maximum"},
		{"range/port-0", "port_preview_url", `{"computer_id":"c","port":0}`, "argument port: minimum"},
		{"type/port-string", "port_preview_url", `{"computer_id":"c","port":"8080"}`, "argument port: got string, want integer"},
		{"range/wait_timeout-0", "computer_create", `{"wait_timeout_sec":0}`, "argument wait_timeout_sec: minimum"},
		{"range/wait_timeout-601", "computer_create", `{"wait_timeout_sec":601}`, "argument wait_timeout_sec: maximum"},
		{"type/wait-string", "computer_create", `{"wait":"yes"}`, "argument wait: got string, want boolean"},
		{"type/wait-number", "computer_create", `{"wait":1}`, "argument wait: got number, want boolean"},
		{"enum/size", "computer_create", `{"size":"huge"}`, "argument size"},
		{"enum/size-case", "computer_create", `{"size":"SMALL"}`, "argument size"},
		{"enum/size-long", "computer_create", `{"size":"` + strings.Repeat("s", 100000) + `"}`, "argument size"},
		{"type/name-number", "computer_create", `{"name":5}`, "argument name: got number, want string"},
		{"type/x-string", "desktop_click", `{"computer_id":"c","x":"10","y":10}`, "argument x: got string, want integer"},
		{"type/x-fraction", "desktop_click", `{"computer_id":"c","x":10.5,"y":10}`, "argument x: got number, want integer"},
		{"type/keys-string", "desktop_hotkey", `{"computer_id":"c","keys":"ctrl+c"}`, "argument keys: got string, want array"},
		{"type/keys-numbers", "desktop_hotkey", `{"computer_id":"c","keys":[1,2]}`, "argument keys.0: got number, want string"},
		{"range/keys-empty", "desktop_hotkey", `{"computer_id":"c","keys":[]}`, "argument keys: minItems"},
		{"type/env-value-number", "sandbox_exec", `{"id":"s","command":"ls","env":{"A":1}}`, "argument env.A: got number, want string"},
		{"type/env-string", "sandbox_exec", `{"id":"s","command":"ls","env":"A=1"}`, "argument env: got string, want object"},
		{"range/timeout-0", "sandbox_exec", `{"id":"s","command":"ls","timeout":0}`, "argument timeout: minimum"},
		{"type/rules-string", "network_policy_set", `{"computer_id":"c","rules":"allow all"}`, "argument rules: got string, want array"},
		{"missing/rule-effect", "network_policy_set", `{"computer_id":"c","rules":[{"destination":"x"}]}`, "missing required argument rules.0.effect"},
		{"enum/rule-effect", "network_policy_set", `{"computer_id":"c","rules":[{"destination":"x","effect":"maybe"}]}`, "argument rules.0.effect"},
		{"enum/default-effect", "network_policy_set", `{"computer_id":"c","rules":[],"default_effect":"block"}`, "argument default_effect"},
		{"range/events-empty", "webhook_create", `{"url":"https://x.example","events":[]}`, "argument events: minItems"},
		{"type/url-number", "webhook_create", `{"url":5,"events":["a"]}`, "argument url: got number, want string"},
		{"enum/encoding", "storage_object_upload", `{"bucket":"b","key":"k","content":"x","encoding":"hex"}`, "argument encoding"},
		{"value/base64", "storage_object_upload", `{"bucket":"b","key":"k","content":"%%%","encoding":"base64"}`, "not valid base64"},
		{"value/content-type-newline", "storage_object_upload", `{"bucket":"b","key":"k","content":"x","content_type":"text/plain\r\nX-Evil: 1"}`, "content_type must be a single line"},
		{"missing/id", "computer_destroy", `{}`, "missing required argument id (computer_destroy never picks a computer"},
		{"missing/exec-command", "sandbox_exec", `{"id":"s"}`, "missing required argument command"},
		{"missing/restore-id", "sandbox_snapshot_restore", `{"snapshot_id":"s"}`, "missing required argument id"},
		{"missing/exec-both", "sandbox_exec", `{}`, "missing required argument command"},
		{"missing/click-xy", "desktop_click", `{"computer_id":"c"}`, "missing required argument"},
		{"missing/type-text", "desktop_type", `{"computer_id":"c"}`, "missing required argument text"},
		{"missing/file_write-path", "file_write", `{"computer_id":"c","content":"x"}`, "missing required argument path"},
		{"missing/env_set-name", "env_set", `{"computer_id":"c","value":"x"}`, "missing required argument name"},
		{"missing/policy-rules", "network_policy_set", `{"computer_id":"c"}`, "missing required argument rules"},
		{"missing/webhook-url", "webhook_create", `{"events":["a"]}`, "missing required argument url"},
		{"missing/service-command", "service_create", `{"computer_id":"c","name":"s"}`, "missing required argument command"},
		{"missing/upload-key", "storage_object_upload", `{"bucket":"b","content":"x"}`, "missing required argument key"},
		{"missing/restore-snapshot", "checkpoint_restore", `{"computer_id":"c"}`, "missing required argument snapshot_id"},
		{"missing/window-id", "desktop_set_window_size", `{"computer_id":"c","width":1,"height":1}`, "missing required argument window_id"},
		{"missing/cron-schedule", "cron_create", `{"command":"ls"}`, "missing required argument schedule"},
		{"unexpected/extra", "computer_get", `{"id":"a","extra":1}`, "unknown argument(s) extra"},
		{"unexpected/Page", "computer_list", `{"Page":1}`, "unknown argument(s) Page"},
		{"unexpected/api_key", "sandbox_exec", `{"id":"s","command":"ls","api_key":"msk_u_other"}`, "unknown argument(s) api_key"},
		{"unexpected/authorization", "computer_get", `{"id":"a","Authorization":"Bearer msk_u_other"}`, "unknown argument(s) Authorization"},
		{"unexpected/empty-key", "computer_get", `{"id":"a","":1}`, "unknown argument(s)"},
		{"unexpected/proto", "computer_get", `{"id":"a","__proto__":{"x":1}}`, "unknown argument(s) __proto__"},
		{"unexpected/meta", "computer_get", `{"id":"a","_meta":{}}`, "unknown argument(s) _meta"},
		{"unexpected/hidden-idempotency", "sandbox_create", `{"Idempotency-Key":"mine"}`, "unknown argument(s) Idempotency-Key"},
		{"unexpected/long-key", "computer_get", `{"id":"a","` + strings.Repeat("k", 10000) + `":1}`, "unknown argument(s) kkkk"},
		{"unexpected/wait-on-get", "computer_get", `{"id":"a","wait":true}`, "unknown argument(s) wait"},
	}
	for _, a := range args {
		add("args/"+a.name, call(a.tool, a.args), toolErr(a.want))
	}

	// Numbers a float64 decoder would change are refused before decoding.
	add("number/1e400", call("computer_list", `{"page":1e400}`), rpcErr(invalidReq, "out of range"))
	add("number/-1e400", call("computer_list", `{"page":-1e400}`), rpcErr(invalidReq, "out of range"))
	add("number/2^53+1", call("computer_list", `{"page":9007199254740993}`), rpcErr(invalidReq, "too large"))
	add("number/huge-int", call("computer_list", `{"per_page":123456789012345678901234567890}`), rpcErr(invalidReq, "too large"))
	add("number/nested", call("sandbox_exec", `{"id":"s","command":"ls","timeout":1e999}`), rpcErr(invalidReq, "params.arguments.timeout"))

	// Invalid UTF-8 and unpaired surrogates: refused, never sent as U+FFFD.
	add("utf8/value-ff", get("{\"id\":\"a\xffb\"}"), rpcErrID("null", parseErr, "UTF-8"))
	add("utf8/value-fe-ff", get("{\"id\":\"\xfe\xff\"}"), rpcErrID("null", parseErr, "UTF-8"))
	add("utf8/overlong-slash", get("{\"id\":\"a\xc0\xafb\"}"), rpcErrID("null", parseErr, "UTF-8"))
	add("utf8/truncated-seq", get("{\"id\":\"a\xe2\x82\"}"), rpcErrID("null", parseErr, "UTF-8"))
	add("utf8/surrogate-bytes", get("{\"id\":\"\xed\xa0\x80\"}"), rpcErrID("null", parseErr, "UTF-8"))
	add("utf8/in-key", get("{\"i\xffd\":\"a\"}"), rpcErrID("null", parseErr, "UTF-8"))
	add("utf8/in-tool-name", "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"method\":\"tools/call\",\"params\":{\"name\":\"computer\xff_get\",\"arguments\":{\"id\":\"a\"}}}", rpcErrID("null", parseErr, "UTF-8"))
	add("utf8/lone-high-surrogate", get(`{"id":"\ud800"}`), rpcErr(parseErr, "unpaired UTF-16 surrogate"))
	add("utf8/lone-low-surrogate", get(`{"id":"a\udc00"}`), rpcErr(parseErr, "unpaired UTF-16 surrogate"))
	add("utf8/reversed-pair", get(`{"id":"\ude00\ud83d"}`), rpcErr(parseErr, "unpaired UTF-16 surrogate"))
	add("utf8/high-then-ascii", call("computer_create", `{"name":"\ud83dx"}`), rpcErr(parseErr, "unpaired UTF-16 surrogate"))
	add("utf8/escaped-pair-ok", call("sandbox_read_file", `{"id":"s","path":"\ud83d\ude00"}`), sentTo("/api/v1/sandboxes/s/files/%F0%9F%98%80"))

	// --- Very long strings: a valid body value is forwarded intact; path
	// values are capped.
	long := strings.Repeat("n", 1<<20)
	add("long/body-1MiB", call("computer_create", `{"name":"`+long+`"}`), expect{kind: sent, path: "/api/v1/computers", body: `"name":"` + long + `"`})
	add("long/path-4096", get(`{"id":"`+strings.Repeat("a", 4096)+`"}`), sentTo("/api/v1/computers/"+strings.Repeat("a", 4096)))
	add("long/path-4097", get(`{"id":"`+strings.Repeat("a", 4097)+`"}`), toolErr("too long"))
	add("long/path-1MiB", get(`{"id":"`+long+`"}`), toolErr("too long"))

	// --- Hostile path values.
	for _, p := range pathCases {
		if p.want == "" {
			add("path/"+p.name, get(`{"id":`+jstr(p.value)+`}`), toolErr("argument id"))
		} else {
			add("path/"+p.name, get(`{"id":`+jstr(p.value)+`}`), sentTo(p.want))
		}
	}
	multi := []struct{ name, tool, args, want string }{
		{"window/dotdot-computer", "desktop_set_window_size", `{"computer_id":"..","window_id":"w","width":1,"height":1}`, ""},
		{"window/dotdot-window", "desktop_set_window_size", `{"computer_id":"c","window_id":"..","width":1,"height":1}`, ""},
		{"window/dot-window", "desktop_set_window_size", `{"computer_id":"c","window_id":".","width":1,"height":1}`, ""},
		{"window/slashes", "desktop_set_window_size", `{"computer_id":"a/b","window_id":"../c","width":1,"height":1}`, ""},
		{"window/hex-id", "desktop_set_window_size", `{"computer_id":"cmp_1","window_id":"0x3a00007","width":1,"height":1}`, "/api/v1/computers/cmp_1/desktop/window/0x3a00007/resize"},
		{"object/dir-key", "storage_object_download", `{"bucket":"b","key":"dir/file.txt"}`, "/api/v1/storage/buckets/b/objects/dir%2Ffile.txt"},
		{"object/bucket-name", "storage_object_download", `{"bucket":"my-bucket.v2","key":"k"}`, "/api/v1/storage/buckets/my-bucket.v2/objects/k"},
		{"object/deep-key", "storage_object_download", `{"bucket":"b","key":"a/b/c d/e+f@g.txt"}`, "/api/v1/storage/buckets/b/objects/a%2Fb%2Fc%20d%2Fe+f@g.txt"},
		{"object/percent-key", "storage_object_download", `{"bucket":"b","key":"100%.txt"}`, "/api/v1/storage/buckets/b/objects/100%25.txt"},
		{"object/traversal-key", "storage_object_download", `{"bucket":"b","key":"../../secrets"}`, ""},
		{"object/traversal-key-delete", "storage_object_delete", `{"bucket":"b","key":"../../../../computers/cmp_x"}`, ""},
		{"object/inner-dotdot-key", "storage_object_download", `{"bucket":"b","key":"a/../../x"}`, ""},
		{"object/dot-segment-key", "storage_object_download", `{"bucket":"b","key":"a/./b"}`, ""},
		{"object/pct-dotdot-key", "storage_object_download", `{"bucket":"b","key":"%2e%2e/%2e%2e/admin"}`, ""},
		{"object/pct-slash-dotdot-key", "storage_object_download", `{"bucket":"b","key":"..%2f..%2fadmin"}`, ""},
		{"object/backslash-key", "storage_object_download", `{"bucket":"b","key":"a\\..\\b"}`, ""},
		{"object/pct-backslash-key", "storage_object_download", `{"bucket":"b","key":"a%5Cb"}`, ""},
		{"object/dotdot-key", "storage_object_download", `{"bucket":"b","key":".."}`, ""},
		{"object/dotdot-bucket", "storage_object_delete", `{"bucket":"..","key":"k"}`, ""},
		{"object/slash-bucket", "storage_object_delete", `{"bucket":"b/../x","key":"k"}`, ""},
		{"object/empty-key", "storage_object_delete", `{"bucket":"b","key":""}`, ""},
		{"sandbox-file/abs", "sandbox_read_file", `{"id":"s","path":"/etc/passwd"}`, "/api/v1/sandboxes/s/files/%2Fetc%2Fpasswd"},
		{"sandbox-file/nested", "sandbox_read_file", `{"id":"s","path":"workspace/src/main.py"}`, "/api/v1/sandboxes/s/files/workspace%2Fsrc%2Fmain.py"},
		{"sandbox-file/traversal", "sandbox_read_file", `{"id":"s","path":"../../etc/passwd"}`, ""},
		{"sandbox-file/dot", "sandbox_read_file", `{"id":"s","path":"."}`, ""},
		{"sandbox-file/nul", "sandbox_read_file", `{"id":"s","path":"a\u0000.txt"}`, ""},
		{"checkpoint/dotdot", "checkpoint_restore", `{"computer_id":"c","snapshot_id":".."}`, ""},
		{"service/query", "service_stop", `{"computer_id":"c","service_id":"s?force=1"}`, ""},
		{"service/name", "service_stop", `{"computer_id":"c","service_id":"web-1"}`, "/api/v1/computers/c/services/web-1/stop"},
		{"env/hash", "env_delete", `{"computer_id":"c","name":"A#B"}`, ""},
		{"env/name", "env_delete", `{"computer_id":"c","name":"DATABASE_URL"}`, "/api/v1/computers/c/env/DATABASE_URL"},
		{"port/integer", "port_preview_url", `{"computer_id":"c","port":8080}`, "/api/v1/computers/c/ports/8080/url"},
	}
	for _, m := range multi {
		if m.want == "" {
			add("path/"+m.name, call(m.tool, m.args), toolErr("argument"))
		} else {
			add("path/"+m.name, call(m.tool, m.args), sentTo(m.want))
		}
	}
	// Query values never change the path or add parameters.
	add("query/file-path", call("file_read", `{"computer_id":"c","path":"a&b=c#d"}`), sentQuery("/api/v1/computers/c/files/download", "path=a%26b%3Dc%23d"))
	add("query/status-injection", call("computer_list", `{"status":"running&page=999"}`), sentQuery("/api/v1/computers", "status=running%26page%3D999"))
	add("query/integer-as-float", call("computer_list", `{"page":2.0}`), sentQuery("/api/v1/computers", "page=2"))
	add("query/integer-exponent", call("computer_list", `{"page":1e2}`), sentQuery("/api/v1/computers", "page=100"))
	return cs
}

func clipName(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%s…(%d)", s[:20], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// TestBadInputTableSize keeps the table at the size the issue asks for.
func TestBadInputTableSize(t *testing.T) {
	if n := len(badCases()); n < 200 {
		t.Fatalf("bad-input table has %d cases, want at least 200", n)
	}
}

const badKey = "msk_u_badinput_Gt6Zr1Xq4MvN8j"

func badInputUpstream(t *testing.T) *testsupport.Upstream {
	return testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+badKey {
			t.Errorf("upstream request without the caller's key: %s %s", r.Method, r.URL)
		}
		okData(w, r)
	})
}

func TestBadInputStdio(t *testing.T) {
	up := badInputUpstream(t)
	s := startStdio(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_API_KEY": badKey, "MIOSA_TIMEOUT_MS": "5000", "MIOSA_LOG_LEVEL": "debug"})
	for i, c := range badCases() {
		id := fmt.Sprint(100000 + i)
		msg := strings.ReplaceAll(c.msg, "%ID%", id)
		want := c.want.id
		if want == "" {
			want = id
		}
		t.Run(c.name, func(t *testing.T) {
			before := up.Count()
			var got []rpcMsg
			if want != "null" && c.want.kind != noReply {
				ch := s.expect(want)
				s.write(msg)
				m, ok := s.await(ch, want, 15*time.Second)
				if !ok {
					t.Fatalf("no response with id %s within 15s; unclaimed: %v", clip(want), s.takeLoose())
				}
				got = append(got, m)
			} else {
				s.write(msg)
			}
			// A ping behind the case proves the server still answers and
			// flushes any reply to an unanswerable message.
			sentinel := fmt.Sprintf(`"sentinel-%d"`, i)
			ch := s.expect(sentinel)
			s.write(`{"jsonrpc":"2.0","id":` + sentinel + `,"method":"ping"}`)
			if _, ok := s.await(ch, sentinel, 15*time.Second); !ok {
				t.Fatalf("server stopped answering after this case (stderr: %s)", s.Stderr.String())
			}
			if c.want.kind == noReply {
				time.Sleep(50 * time.Millisecond)
			}
			got = append(got, s.takeLoose()...)
			check(t, c, want, got, up.Requests()[before:])
		})
	}
	if strings.Contains(s.Stderr.String(), badKey) {
		t.Errorf("the API key appears in the debug log")
	}
	if t.Failed() {
		t.Logf("stderr:\n%s", clip(s.Stderr.String()))
	}
}

func TestBadInputHTTP(t *testing.T) {
	up := badInputUpstream(t)
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_TIMEOUT_MS": "5000", "MIOSA_LOG_LEVEL": "debug"})
	t.Cleanup(func() {
		if strings.Contains(h.Stderr.String(), badKey) {
			t.Errorf("the API key appears in the debug log")
		}
	})
	for i, c := range badCases() {
		id := fmt.Sprint(200000 + i)
		msg := strings.ReplaceAll(c.msg, "%ID%", id)
		want := c.want.id
		if want == "" {
			want = id
		}
		t.Run(c.name, func(t *testing.T) {
			before := up.Count()
			status, msgs, raw := rawPost(t, h.URL+"/mcp", testsupport.Bearer(badKey), []byte(msg))
			switch {
			case c.want.kind == noReply:
				if status != http.StatusAccepted || len(msgs) != 0 {
					t.Errorf("want 202 and no body, got %d %s", status, clip(raw))
				}
			case status != http.StatusOK && status != http.StatusBadRequest:
				t.Errorf("HTTP status %d (body %s)", status, clip(raw))
			case c.want.kind == sent || c.want.kind == toolError || c.want.kind == 0:
				if status != http.StatusOK {
					t.Errorf("HTTP status %d, want 200 (body %s)", status, clip(raw))
				}
			}
			if c.want.kind == noReply {
				time.Sleep(50 * time.Millisecond)
			}
			check(t, c, want, msgs, up.Requests()[before:])
		})
	}
}

// check asserts one case's replies and upstream traffic.
func check(t *testing.T, c badCase, wantID string, got []rpcMsg, reqs []testsupport.Recorded) {
	t.Helper()
	var replies []rpcMsg
	for _, m := range got {
		if m.Method == "" { // not a notification
			replies = append(replies, m)
		}
	}
	if c.want.kind == noReply {
		if len(replies) != 0 {
			t.Errorf("want no reply, got %v", replies)
		}
		if len(reqs) != 0 {
			t.Errorf("a notification reached the upstream: %d requests", len(reqs))
		}
		return
	}
	if len(replies) != 1 {
		t.Fatalf("want exactly one reply, got %d: %v", len(replies), replies)
	}
	m := replies[0]
	if g := canonID(m.ID); g != wantID {
		t.Errorf("reply id = %s, want %s", clip(g), clip(wantID))
	}
	switch c.want.kind {
	case rpcError:
		if m.Error == nil {
			t.Fatalf("want a JSON-RPC error, got %s", clip(m.Raw))
		}
		if c.want.code != 0 && m.Error.Code != c.want.code {
			t.Errorf("error code %d, want %d (%s)", m.Error.Code, c.want.code, clip(m.Error.Message))
		}
		if c.want.code == 0 && (m.Error.Code > -32600 || m.Error.Code < -32700) {
			t.Errorf("error code %d is not a JSON-RPC request error (%s)", m.Error.Code, m.Error.Message)
		}
		if m.Error.Message == "" || !strings.Contains(m.Error.Message, c.want.text) {
			t.Errorf("error message %q does not mention %q", clip(m.Error.Message), c.want.text)
		}
	case toolError:
		isErr, text, ok := m.toolResult()
		if !ok || !isErr {
			t.Fatalf("want an isError tool result, got %s", clip(m.Raw))
		}
		if !strings.Contains(text, c.want.text) {
			t.Errorf("tool error %q does not mention %q", clip(text), c.want.text)
		}
	case sent:
		isErr, text, ok := m.toolResult()
		if !ok || isErr {
			t.Fatalf("want a successful result, got %s", clip(m.Raw))
		}
		_ = text
		if len(reqs) != 1 {
			t.Fatalf("want exactly one upstream request, got %d", len(reqs))
		}
		r := reqs[0]
		if r.Path != c.want.path {
			t.Errorf("upstream path = %s, want %s", clip(r.Path), clip(c.want.path))
		}
		if r.RawQuery != c.want.query {
			t.Errorf("upstream query = %q, want %q", clip(r.RawQuery), c.want.query)
		}
		if c.want.body != "" && !strings.Contains(string(r.Body), c.want.body) {
			t.Errorf("upstream body does not carry the value intact (%d bytes)", len(r.Body))
		}
		return
	default: // a valid request: any success
		if m.Error != nil {
			t.Errorf("want success, got %s", clip(m.Raw))
		}
	}
	if len(reqs) != 0 {
		t.Errorf("invalid input reached the upstream: %d request(s), first %s %s", len(reqs), reqs[0].Method, clip(reqs[0].Path))
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}
