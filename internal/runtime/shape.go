package runtime

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

// The shape stage of a call (select.go): a 2xx answer, scrubbed (scrub
// first, then cut: scrubAnswer), becomes the MCP result of its tool's
// kind. One switch dispatches every kind. An answer the tool cannot pass
// on is an *unusableAnswer, which errors.go words like every other failure.

// shaper is the shape stage.
type shaper struct {
	limits   Limits
	hints    Hints
	settings Settings
	wait     *waiter // JSON tools called with wait: true (wait.go)
}

// unusableAnswer: a 2xx answer the tool cannot pass on; msg says why and
// what to do.
type unusableAnswer struct{ msg string }

func (e *unusableAnswer) Error() string { return e.msg }

func unusablef(format string, a ...any) error {
	return &unusableAnswer{msg: fmt.Sprintf(format, a...)}
}

// shape builds the result of t's call from its reply, by t's result kind.
// A JSON tool called with wait: true polls until the resource is ready
// (wait.go); every other kind returns at once.
func (sh *shaper) shape(ctx context.Context, sc *Scrubber, t *Tool, call *Call, req mcp.CallToolRequest, rep *reply) (*mcp.CallToolResult, error) {
	switch t.Result {
	case ResultImage:
		return sh.imageResult(rep.body, rep.header)
	case ResultFile:
		return sh.fileResult(sc, t, rep.body, rep.header)
	case ResultLogs:
		return sh.logsResult(sc, t, call, rep.body, rep.header)
	}
	if err := sh.unusableBody(t, rep.status, rep.header, rep.body); err != nil {
		return nil, err
	}
	if t.Wait != nil && !rep.body.head && waits(call) {
		return sh.wait.wait(ctx, sc, t, call, req, rep.body.data), nil
	}
	return sh.answerResult(t, rep.body, rep.status), nil
}

// waits reports whether the call asked to wait (the wait control).
func waits(call *Call) bool {
	var wait bool
	call.Arg("wait", &wait)
	return wait
}

// sentences is the given sentences, each after a space; empty ones are
// left out.
func sentences(ss ...string) string {
	var b strings.Builder
	for _, s := range ss {
		if s != "" {
			b.WriteString(" ")
			b.WriteString(s)
		}
	}
	return b.String()
}

// parenthesized is " (s)", or "" when s is empty.
func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// prefixed is prefix+s, or "" when s is empty.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cutText shortens s to at most max bytes on a rune boundary and says what
// was cut and how to ask for less.
func cutText(s string, max int, hint string) (string, bool) { return cutTextOf(s, len(s), max, hint) }

// cutTextOf is cutText for a text of which s is the start (at least max+1
// bytes of it when the text is longer than max) and total the length.
func cutTextOf(s string, total, max int, hint string) (string, bool) {
	if total <= max {
		return s, false
	}
	cut := min(max, len(s))
	for cut > 0 && cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n\n[truncated: showing the first %d of %d bytes.%s]", cut, total, sentences(hint)), true
}

// fileJSONBytes is how much of a JSON-wrapped download is read: the base64
// of the binary cap, plus room for the envelope.
func fileJSONBytes(l Limits) int { return (l.BinaryBytes+2)/3*4 + 1<<20 }

func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

func isJSONMedia(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// snippetBytes is how much of a body that is not JSON an error quotes.
const snippetBytes = 200

// unusableBody reports a 2xx answer a JSON tool cannot pass on: a body cut
// at the read cap (the JSON is incomplete), a GET answered with an empty
// 200, or a body that is not JSON (an HTML page from a proxy or portal).
// Plain-text bodies stay results: some endpoints answer text.
func (sh *shaper) unusableBody(t *Tool, status int, h http.Header, ub *upstreamBody) error {
	body, truncated := ub.data, ub.truncated
	trimmed := bytes.TrimSpace(body)
	if ub.head {
		trimmed = body // its end is not the body's end
	}
	valid := func() bool {
		if ub.head {
			return ub.valid
		}
		return json.Valid(trimmed)
	}
	reqID := ""
	if id := h.Get("X-Request-ID"); id != "" {
		reqID = " Request ID: " + id + "."
	}
	switch {
	case truncated:
		return unusablef("%s: the API's response exceeded %d bytes and was cut, so it is incomplete and not returned. Ask for less: use the tool's limit/cursor/page, a narrower path or filter.%s", t.Name, sh.limits.ReadBytes, reqID)
	case len(trimmed) == 0:
		if t.Method == http.MethodGet && status == http.StatusOK {
			return unusablef("%s: the API answered HTTP 200 with an empty body where JSON was expected. Retry shortly; if it persists, quote the request id to support.%s", t.Name, reqID)
		}
		return nil
	case valid() || mediaType(h) == "text/plain":
		return nil
	}
	what := "not valid JSON"
	if mt := mediaType(h); mt == "text/html" || bytes.HasPrefix(trimmed, []byte("<")) {
		what += ": it is an HTML page (a proxy, captive portal or wrong " + orDefault(sh.settings.APIURL, "API URL") + " may be in the way)"
	} else {
		total := len(trimmed)
		if ub.head {
			total = int(ub.size)
		}
		snippet, _ := cutTextOf(string(trimmed), total, snippetBytes, "")
		what += fmt.Sprintf(" (%s): %s", mediaType(h), snippet)
	}
	return unusablef("%s: the API answered HTTP %d but the body is %s. Retry shortly; if it persists, report it.%s", t.Name, status, what, reqID)
}

// answerResult is jsonResult for an answer of which only the start was
// kept (readJSONAnswer): its text is cut, and validity, size and the paging
// note come from the scan of the whole.
func (sh *shaper) answerResult(t *Tool, ub *upstreamBody, status int) *mcp.CallToolResult {
	if !ub.head {
		return sh.jsonResult(t, ub.data, ub.truncated, status)
	}
	lim := sh.limits
	head := string(ub.data)
	if ub.truncated || !ub.valid {
		text, _ := cutTextOf(head, int(ub.size), lim.TextBytes, "The response was not complete JSON; narrow the request (limit, path, filters).")
		if ub.truncated {
			text += fmt.Sprintf("\n\n[truncated: the response exceeded %d bytes and was cut]", lim.ReadBytes)
		}
		res := mcp.NewToolResultText(text)
		if t.OutputSchema != nil {
			res.StructuredContent = map[string]any{"truncated": true}
		}
		return res
	}
	text, _ := cutTextOf(head, int(ub.size), lim.TextBytes, "Ask for less: use the tool's limit/cursor/page, a narrower path or filter.")
	if ub.topOK {
		if note := pagingNote(ub.top); note != "" {
			text += "\n\n" + note
		}
	}
	res := mcp.NewToolResultText(text)
	if t.OutputSchema != nil {
		res.StructuredContent = map[string]any{"truncated": true, "bytes": ub.size}
	}
	return res
}

// jsonResult turns a 2xx JSON (or empty) body into structured content plus
// a text copy. The upstream bytes pass through unchanged: no re-marshalling
// through Go types that would drop fields or nulls.
func (sh *shaper) jsonResult(t *Tool, body []byte, readTruncated bool, status int) *mcp.CallToolResult {
	lim := sh.limits
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		res := mcp.NewToolResultText(fmt.Sprintf("Done (HTTP %d, no content).", status))
		if t.OutputSchema != nil {
			res.StructuredContent = json.RawMessage(`{}`)
		}
		return res
	}
	// One top-level decode serves validity, the conformance check and the
	// paging note (the body is not parsed again for each).
	var top map[string]json.RawMessage
	valid := false
	if trimmed[0] == '{' {
		top, valid = objectMembers(trimmed)
	} else {
		valid = json.Valid(trimmed)
	}
	if readTruncated || !valid {
		text, _ := cutText(string(trimmed), lim.TextBytes, "The response was not complete JSON; narrow the request (limit, path, filters).")
		if readTruncated {
			text += fmt.Sprintf("\n\n[truncated: the response exceeded %d bytes and was cut]", lim.ReadBytes)
		}
		res := mcp.NewToolResultText(text)
		if t.OutputSchema != nil {
			res.StructuredContent = map[string]any{"truncated": true}
		}
		return res
	}
	structured := json.RawMessage(trimmed)
	if t.WrapOutput || top == nil || !conforms(t, top) {
		structured = json.RawMessage(`{"result":` + string(trimmed) + `}`)
	}
	text, cut := cutText(string(trimmed), lim.TextBytes, "Ask for less: use the tool's limit/cursor/page, a narrower path or filter.")
	if note := pagingNote(top); note != "" {
		text += "\n\n" + note
	}
	res := mcp.NewToolResultText(text)
	if t.OutputSchema != nil {
		if cut {
			res.StructuredContent = map[string]any{"truncated": true, "bytes": len(trimmed)}
		} else {
			res.StructuredContent = structured
		}
	}
	return res
}

// pagingNote tells the model when a list has more results and how to get them.
func pagingNote(top map[string]json.RawMessage) string {
	if top == nil {
		return ""
	}
	var v struct {
		Cursor     *string
		NextCursor *string
		Meta       *struct {
			Total   *int `json:"total"`
			Page    *int `json:"page"`
			PerPage *int `json:"per_page"`
		}
		Data json.RawMessage
	}
	if raw, ok := top["cursor"]; ok {
		json.Unmarshal(raw, &v.Cursor)
	}
	if raw, ok := top["next_cursor"]; ok {
		json.Unmarshal(raw, &v.NextCursor)
	}
	if raw, ok := top["meta"]; ok {
		json.Unmarshal(raw, &v.Meta)
	}
	v.Data = top["data"]
	for _, c := range []*string{v.NextCursor, v.Cursor} {
		if c != nil && *c != "" {
			return fmt.Sprintf("More results are available: call again with cursor=%q.", *c)
		}
	}
	if m := v.Meta; m != nil && m.Total != nil && m.Page != nil && m.PerPage != nil && *m.PerPage > 0 {
		if *m.Page**m.PerPage < *m.Total {
			return fmt.Sprintf("Showing page %d (%d per page) of %d results: call again with page=%d for more.", *m.Page, *m.PerPage, *m.Total, *m.Page+1)
		}
	}
	var d struct {
		Truncated  bool   `json:"truncated"`
		NextMarker string `json:"next_marker"`
	}
	if len(v.Data) > 0 && v.Data[0] == '{' && mayName(v.Data, "truncated") && json.Unmarshal(v.Data, &d) == nil && d.Truncated && d.NextMarker != "" {
		return fmt.Sprintf("More results are available: call again with cursor=%q.", d.NextMarker)
	}
	return ""
}

// mayName reports whether the JSON text b may hold a member that
// encoding/json decodes into a field named name: spelt in any ASCII case,
// or with an escape somewhere. name must be lower-case ASCII letters without
// k and s, the two letters that also match a non-ASCII letter when encoding/json
// ignores case (K, the Kelvin sign, and ſ). A paging note then decodes a
// list answer's data object only when it can say something: most answers
// are objects without the member, and decoding them whole was 2 % of a
// call (BenchmarkStdioApp).
func mayName(b []byte, name string) bool {
	if bytes.IndexByte(b, '\\') >= 0 {
		return true
	}
	for i := 0; i+len(name) <= len(b); i++ {
		j := 0
		for j < len(name) && b[i+j]|0x20 == name[j] {
			j++
		}
		if j == len(name) {
			return true
		}
	}
	return false
}

// imageResult returns an image as MCP image content.
func (sh *shaper) imageResult(ub *upstreamBody, h http.Header) (*mcp.CallToolResult, error) {
	body, truncated := ub.data, ub.truncated
	mt := mediaType(h)
	if !strings.HasPrefix(mt, "image/") {
		mt = http.DetectContentType(body)
		if !strings.HasPrefix(mt, "image/") {
			return nil, unusablef("The API returned %s instead of an image.", mt)
		}
	}
	if truncated || len(body) > sh.limits.BinaryBytes {
		return nil, unusablef("The image is larger than the %d-byte cap; it was not returned.", sh.limits.BinaryBytes)
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewImageContent(base64.StdEncoding.EncodeToString(body), mt)}}, nil
}

// fileResult returns a download: valid UTF-8 text as text, anything else as
// a base64 blob with its MIME type, both capped with an explicit note.
func (sh *shaper) fileResult(sc *Scrubber, t *Tool, ub *upstreamBody, h http.Header) (*mcp.CallToolResult, error) {
	body, truncated := ub.data, ub.truncated
	mt := mediaType(h)
	if ub.head {
		// Longer than the binary cap: text is cut, anything else refused.
		if ub.text {
			text, _ := cutTextOf(string(body), int(ub.size), sh.limits.TextBytes, sh.hints.FileTooLong)
			return mcp.NewToolResultText(text), nil
		}
		if mt == "" || mt == "application/octet-stream" {
			mt, _, _ = strings.Cut(http.DetectContentType(body), ";")
		}
		return sh.binaryTooLarge(mt), nil
	}
	if isJSONMedia(mt) && truncated {
		return mcp.NewToolResultText(fmt.Sprintf("[not returned: the API's answer for this file is larger than %d bytes.%s]", fileJSONBytes(sh.limits), sentences(sh.hints.FileTooLong, sh.hints.FileTooLarge))), nil
	}
	if isJSONMedia(mt) {
		// Some endpoints wrap file content as {data:{content, encoding}}.
		var env struct {
			Data struct {
				Content  *string `json:"content"`
				Encoding string  `json:"encoding"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &env) == nil && env.Data.Content != nil {
			c := *env.Data.Content
			if env.Data.Encoding == "" || env.Data.Encoding == "base64" {
				if d, err := base64.StdEncoding.DecodeString(c); err == nil {
					body = d
				} else if env.Data.Encoding == "base64" {
					return nil, unusablef("The API returned file content that is not valid base64.")
				} else {
					body = []byte(c)
				}
			} else {
				body = []byte(c)
			}
			mt = ""
			body = sc.Bytes(body) // decoded: scrub again before the cut
		}
	}
	if mt == "" || mt == "application/octet-stream" {
		mt = http.DetectContentType(body)
		if i := strings.Index(mt, ";"); i > 0 {
			mt = mt[:i]
		}
	}
	if utf8.Valid(body) && !bytes.ContainsRune(body, 0) {
		text, cut := cutText(string(body), sh.limits.TextBytes, sh.hints.FileTooLong)
		if truncated && !cut {
			text += fmt.Sprintf("\n\n[truncated: the file exceeded %d bytes and was cut]", sh.limits.ReadBytes)
		}
		return mcp.NewToolResultText(text), nil
	}
	if truncated || len(body) > sh.limits.BinaryBytes {
		return sh.binaryTooLarge(mt), nil
	}
	uri := "miosa://" + t.Name
	return &mcp.CallToolResult{Content: []mcp.Content{
		mcp.NewTextContent(fmt.Sprintf("Binary content, %d bytes, %s (base64 blob follows).", len(body), mt)),
		mcp.NewEmbeddedResource(mcp.BlobResourceContents{URI: uri, MIMEType: mt, Blob: base64.StdEncoding.EncodeToString(body)}),
	}}, nil
}

// binaryTooLarge is what a binary download over the binary cap returns: a
// note, not an error (the file exists; it is only too large to carry).
func (sh *shaper) binaryTooLarge(mt string) *mcp.CallToolResult {
	return mcp.NewToolResultText(fmt.Sprintf("[not returned: binary content (%s) larger than the %d-byte cap.%s]", mt, sh.limits.BinaryBytes, sentences(sh.hints.FileTooLarge)))
}

// shapeCache holds each tool's top-level output property types, parsed once.
var shapeCache sync.Map // tool name -> map[string]string

// outputShape returns the declared JSON type of each top-level property of
// the tool's output schema (the generator emits them one level deep).
func outputShape(t *Tool) map[string]string {
	if v, ok := shapeCache.Load(t.Name); ok {
		return v.(map[string]string)
	}
	var s struct {
		Properties map[string]struct {
			Type string `json:"type"`
		} `json:"properties"`
	}
	json.Unmarshal(t.OutputSchema, &s)
	shape := map[string]string{}
	for k, p := range s.Properties {
		shape[k] = p.Type
	}
	shapeCache.Store(t.Name, shape)
	return shape
}

// conforms reports whether a JSON object body (decoded one level) matches the tool's declared
// top-level property types. The real API can drift from the spec (a list
// where an object was documented, a null); clients validate
// structuredContent against outputSchema, so a body that does not conform
// is returned as {"result": body} instead, which always does (the schemas
// require nothing and allow additional properties).
func conforms(t *Tool, top map[string]json.RawMessage) bool {
	shape := outputShape(t)
	if len(shape) == 0 {
		return true
	}
	for k, typ := range shape {
		raw, ok := top[k]
		if !ok || typ == "" {
			continue
		}
		if !jsonTypeIs(bytes.TrimSpace(raw), typ) {
			return false
		}
	}
	return true
}

func jsonTypeIs(raw []byte, typ string) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; typ {
	case "object":
		return c == '{'
	case "array":
		return c == '['
	case "string":
		return c == '"'
	case "boolean":
		return c == 't' || c == 'f'
	case "null":
		return c == 'n'
	case "number":
		return c == '-' || (c >= '0' && c <= '9')
	case "integer":
		return (c == '-' || (c >= '0' && c <= '9')) && !strings.ContainsAny(string(raw), ".eE")
	}
	return true
}
