package e2e_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// assertRequests checks what the upstream received for one call.
func assertRequests(t *testing.T, got []testsupport.Recorded, want []wantRequest, key string) {
	t.Helper()
	if len(got) != len(want) {
		var lines []string
		for _, r := range got {
			lines = append(lines, r.Method+" "+r.Path+"?"+r.RawQuery)
		}
		t.Errorf("upstream received %d request(s), want %d: %v", len(got), len(want), lines)
		return
	}
	for i := range want {
		assertRequest(t, i, got[i], want[i], key)
	}
}

func assertRequest(t *testing.T, i int, got testsupport.Recorded, want wantRequest, key string) {
	t.Helper()
	where := fmt.Sprintf("request %d (%s %s)", i+1, got.Method, got.Path)
	if got.Method != want.Method {
		t.Errorf("%s: method %s, want %s", where, got.Method, want.Method)
	}
	if got.Path != want.Path {
		t.Errorf("%s: path %s, want %s", where, got.Path, want.Path)
	}
	if want.RawQuery != nil {
		if got.RawQuery != *want.RawQuery {
			t.Errorf("%s: raw query %q, want %q", where, got.RawQuery, *want.RawQuery)
		}
	} else if (len(got.Query) != 0 || len(want.Query) != 0) && !reflect.DeepEqual(got.Query, want.Query) {
		t.Errorf("%s: query %v, want %v", where, got.Query, want.Query)
	}
	if auth := got.Header.Get("Authorization"); auth != "Bearer "+key {
		t.Errorf("%s: Authorization %q, want Bearer + the caller's key", where, redact(auth, key))
	}
	if strings.Contains(got.Path+"?"+got.RawQuery, key) {
		t.Errorf("%s: the API key appears in the URL", where)
	}
	idem := got.Header.Values("Idempotency-Key")
	switch {
	case want.Idempotent && (len(idem) != 1 || idem[0] == ""):
		t.Errorf("%s: Idempotency-Key %q, want exactly one non-empty key", where, idem)
	case !want.Idempotent && len(idem) != 0:
		t.Errorf("%s: unexpected Idempotency-Key %q (the operation is not idempotent)", where, idem)
	}
	for h, v := range want.Headers {
		if g := got.Header.Get(h); g != v {
			t.Errorf("%s: header %s = %q, want %q", where, h, g, v)
		}
	}
	switch {
	case want.Raw != nil:
		if !bytes.Equal(got.Body, want.Raw) {
			t.Errorf("%s: raw body %q, want %q", where, got.Body, want.Raw)
		}
		if ct := got.Header.Get("Content-Type"); ct != want.ContentType {
			t.Errorf("%s: Content-Type %q, want %q", where, ct, want.ContentType)
		}
	case want.JSON != nil:
		if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q, want application/json", where, ct)
		}
		var body any
		if err := json.Unmarshal(got.Body, &body); err != nil {
			t.Errorf("%s: body is not JSON: %v: %q", where, err, got.Body)
			return
		}
		if !reflect.DeepEqual(body, want.JSON) {
			gb, _ := json.Marshal(body)
			wb, _ := json.Marshal(want.JSON)
			t.Errorf("%s: JSON body\n got %s\nwant %s", where, gb, wb)
		}
	default:
		if len(bytes.TrimSpace(got.Body)) != 0 {
			t.Errorf("%s: unexpected body %q", where, got.Body)
		}
	}
}

func redact(s, key string) string { return strings.ReplaceAll(s, key, "<key>") }

// assertResult checks the MCP result of a successful call against what the
// default upstream answered (last is the request whose response it carries).
func assertResult(t *testing.T, tool *runtime.Tool, res *mcp.CallToolResult, last testsupport.Recorded) {
	t.Helper()
	if res.IsError {
		t.Errorf("isError result: %s", testsupport.ResultText(res))
		return
	}
	switch {
	case tool.Result == runtime.ResultImage:
		if len(res.Content) != 1 {
			t.Errorf("image result has %d content items, want 1", len(res.Content))
			return
		}
		img, ok := res.Content[0].(mcp.ImageContent)
		if !ok {
			t.Errorf("content is %T, want image", res.Content[0])
			return
		}
		if img.MIMEType != "image/png" || img.Data != base64.StdEncoding.EncodeToString(pngBytes) {
			t.Errorf("image content %s (%d base64 bytes), want the upstream PNG", img.MIMEType, len(img.Data))
		}
	case tool.Result == runtime.ResultFile:
		var blob *mcp.BlobResourceContents
		for _, c := range res.Content {
			if er, ok := c.(mcp.EmbeddedResource); ok {
				if b, ok := er.Resource.(mcp.BlobResourceContents); ok {
					blob = &b
				}
			}
		}
		if blob == nil {
			t.Errorf("binary download returned no blob: %s", testsupport.ResultText(res))
			return
		}
		if blob.Blob != base64.StdEncoding.EncodeToString(fileBytes) || blob.MIMEType == "" {
			t.Errorf("blob %q (%s), want the upstream bytes with a MIME type", blob.Blob, blob.MIMEType)
		}
	case tool.Result == runtime.ResultLogs:
		if txt := testsupport.ResultText(res); !strings.Contains(txt, logLines[len(logLines)-1]) {
			t.Errorf("logs result %q lacks the upstream's last line", txt)
		}
	default:
		txt := testsupport.ResultText(res)
		if !strings.Contains(txt, fmt.Sprintf(`"seq":%d`, last.Seq)) {
			t.Errorf("result text %q is not the upstream's response to request %d", txt, last.Seq)
		}
		if tool.OutputSchema != nil {
			m, ok := structuredMap(res.StructuredContent)
			if ok && tool.WrapOutput {
				m, ok = m["result"].(map[string]any)
			}
			var data any
			if ok {
				data = m["data"]
			}
			if _, isList := data.([]any); data == nil || isList != listOutput(tool) {
				t.Errorf("structuredContent %v, want the upstream JSON object as it was sent", res.StructuredContent)
			}
		}
	}
}

func structuredMap(v any) (map[string]any, bool) {
	if v == nil {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m) == nil && m != nil
}

// listOutput reports whether the tool's output schema declares data as an
// array (list operations).
func listOutput(tool *runtime.Tool) bool {
	var s struct {
		Properties struct {
			Data struct {
				Type string `json:"type"`
			} `json:"data"`
		} `json:"properties"`
	}
	json.Unmarshal(tool.OutputSchema, &s)
	return s.Properties.Data.Type == "array"
}
