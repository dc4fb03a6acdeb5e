package runtime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

// Limits bound what one tool result may carry. Zero fields take defaults.
type Limits struct {
	// ReadBytes caps how much of an upstream body is read (default 16 MiB).
	ReadBytes int64
	// TextBytes caps text returned to the model (default 80,000 bytes,
	// about 20k tokens: under the 25,000-token result cap of common clients).
	TextBytes int
	// BinaryBytes caps images and blobs before base64 (default 4 MiB).
	BinaryBytes int
	// AnswerBytes is the server-wide budget of upstream-answer bytes held
	// beyond the first MiB of each (default 16 MiB, at least one answer
	// at the largest size kept): large images, files and log answers wait
	// for room instead of all being held at once.
	AnswerBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.ReadBytes <= 0 {
		l.ReadBytes = 16 << 20
	}
	if l.TextBytes <= 0 {
		l.TextBytes = 80_000
	}
	if l.BinaryBytes <= 0 {
		l.BinaryBytes = 4 << 20
	}
	if l.AnswerBytes <= 0 {
		l.AnswerBytes = 16 << 20
	}
	// One answer at the largest size it may keep always fits.
	l.AnswerBytes = max(l.AnswerBytes, int64(fileJSONBytes(l)), logJSONBytes+1)
	return l
}

// readBody reads at most limit bytes; truncated reports that more existed.
func readBody(r io.Reader, limit int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(b)) > limit {
		return b[:limit], true, err
	}
	return b, false, err
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
	return s[:cut] + fmt.Sprintf("\n\n[truncated: showing the first %d of %d bytes. %s]", cut, total, hint), true
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
func (s *Server) unusableBody(t *Tool, status int, h http.Header, ub *upstreamBody) *mcp.CallToolResult {
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
		return mcp.NewToolResultError(fmt.Sprintf("%s: the API's response exceeded %d bytes and was cut, so it is incomplete and not returned. Ask for less: use the tool's limit/cursor/page, a narrower path or filter.%s", t.Name, s.limits.ReadBytes, reqID))
	case len(trimmed) == 0:
		if t.Method == http.MethodGet && status == http.StatusOK {
			return mcp.NewToolResultError(fmt.Sprintf("%s: the API answered HTTP 200 with an empty body where JSON was expected. Retry shortly; if it persists, quote the request id to support.%s", t.Name, reqID))
		}
		return nil
	case valid() || mediaType(h) == "text/plain":
		return nil
	}
	what := "not valid JSON"
	if mt := mediaType(h); mt == "text/html" || bytes.HasPrefix(trimmed, []byte("<")) {
		what += ": it is an HTML page (a proxy, captive portal or wrong MIOSA_API_URL may be in the way)"
	} else {
		total := len(trimmed)
		if ub.head {
			total = int(ub.size)
		}
		snippet, _ := cutTextOf(string(trimmed), total, snippetBytes, "")
		what += fmt.Sprintf(" (%s): %s", mediaType(h), snippet)
	}
	return mcp.NewToolResultError(fmt.Sprintf("%s: the API answered HTTP %d but the body is %s. Retry shortly; if it persists, report it.%s", t.Name, status, what, reqID))
}

// answerResult is jsonResult for an answer of which only the start was
// kept (readJSONAnswer): its text is cut, and validity, size and the paging
// note come from the scan of the whole.
func (s *Server) answerResult(t *Tool, ub *upstreamBody, status int) *mcp.CallToolResult {
	if !ub.head {
		return s.jsonResult(t, ub.data, ub.truncated, status)
	}
	lim := s.limits
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
func (s *Server) jsonResult(t *Tool, body []byte, readTruncated bool, status int) *mcp.CallToolResult {
	lim := s.limits
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
		valid = json.Unmarshal(trimmed, &top) == nil
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
	for key, dst := range map[string]any{"cursor": &v.Cursor, "next_cursor": &v.NextCursor, "meta": &v.Meta} {
		if raw, ok := top[key]; ok {
			json.Unmarshal(raw, dst)
		}
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
	if len(v.Data) > 0 && v.Data[0] == '{' && json.Unmarshal(v.Data, &d) == nil && d.Truncated && d.NextMarker != "" {
		return fmt.Sprintf("More results are available: call again with cursor=%q.", d.NextMarker)
	}
	return ""
}

// imageResult returns an image as MCP image content.
func (s *Server) imageResult(ub *upstreamBody, h http.Header) *mcp.CallToolResult {
	body, truncated := ub.data, ub.truncated
	mt := mediaType(h)
	if !strings.HasPrefix(mt, "image/") {
		mt = http.DetectContentType(body)
		if !strings.HasPrefix(mt, "image/") {
			return mcp.NewToolResultError(fmt.Sprintf("The API returned %s instead of an image.", mt))
		}
	}
	if truncated || len(body) > s.limits.BinaryBytes {
		return mcp.NewToolResultError(fmt.Sprintf("The image is larger than the %d-byte cap; it was not returned.", s.limits.BinaryBytes))
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewImageContent(base64.StdEncoding.EncodeToString(body), mt)}}
}

// fileResult returns a download: valid UTF-8 text as text, anything else as
// a base64 blob with its MIME type, both capped with an explicit note.
func (s *Server) fileResult(sc *Scrubber, t *Tool, ub *upstreamBody, h http.Header) *mcp.CallToolResult {
	body, truncated := ub.data, ub.truncated
	mt := mediaType(h)
	if ub.head {
		// Longer than the binary cap: text is cut, anything else refused.
		if ub.text {
			text, _ := cutTextOf(string(body), int(ub.size), s.limits.TextBytes, "Read a smaller file or a range (e.g. file_bash with head/tail/sed -n).")
			return mcp.NewToolResultText(text)
		}
		if mt == "" || mt == "application/octet-stream" {
			mt, _, _ = strings.Cut(http.DetectContentType(body), ";")
		}
		return mcp.NewToolResultText(fmt.Sprintf("[not returned: binary content (%s) larger than the %d-byte cap. Use a presigned URL (storage_presign) or split the file.]", mt, s.limits.BinaryBytes))
	}
	if isJSONMedia(mt) && truncated {
		return mcp.NewToolResultText(fmt.Sprintf("[not returned: the API's answer for this file is larger than %d bytes. Read a smaller file or a range (e.g. file_bash with head/tail/sed -n), or use a presigned URL (storage_presign).]", fileJSONBytes(s.limits)))
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
					return mcp.NewToolResultError("The API returned file content that is not valid base64.")
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
		text, cut := cutText(string(body), s.limits.TextBytes, "Read a smaller file or a range (e.g. file_bash with head/tail/sed -n).")
		if truncated && !cut {
			text += fmt.Sprintf("\n\n[truncated: the file exceeded %d bytes and was cut]", s.limits.ReadBytes)
		}
		return mcp.NewToolResultText(text)
	}
	if truncated || len(body) > s.limits.BinaryBytes {
		return mcp.NewToolResultText(fmt.Sprintf("[not returned: binary content (%s) larger than the %d-byte cap. Use a presigned URL (storage_presign) or split the file.]", mt, s.limits.BinaryBytes))
	}
	uri := "miosa://" + t.Name
	return &mcp.CallToolResult{Content: []mcp.Content{
		mcp.NewTextContent(fmt.Sprintf("Binary content, %d bytes, %s (base64 blob follows).", len(body), mt)),
		mcp.NewEmbeddedResource(mcp.BlobResourceContents{URI: uri, MIMEType: mt, Blob: base64.StdEncoding.EncodeToString(body)}),
	}}
}
