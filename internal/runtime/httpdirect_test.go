package runtime_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// TestHTTPDirectAnswerIsTheTransports: route answers a plain tools/call
// itself (httpgate.go, direct); every variant here must get what mcp-go's
// StreamableHTTPServer answers, byte for byte. A call with _meta always
// goes through the transport, so it is the reference: the same call
// without _meta (and with each header the direct path accepts) must match
// it, for an answer and for an error.
func TestHTTPDirectAnswerIsTheTransports(t *testing.T) {
	up := testsupport.NewUpstream(t, widgetOK)
	srv, cat := newRuntime(t, up.Base())
	hs := mcpHTTP(t, srv, cat)
	auth := "Bearer " + testKey
	post := func(body string, header map[string]string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", hs.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", auth)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	call := func(params string) string {
		return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + params + `}}`
	}
	tests := []struct {
		name, params string
		header       map[string]string
	}{
		{"answer", `"name":"widget_get","arguments":{"widget_id":"w1"}`, nil},
		{"answer, media type with a charset", `"name":"widget_get","arguments":{"widget_id":"w1"}`, map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{"answer, protocol version header", `"name":"widget_get","arguments":{"widget_id":"w1"}`, map[string]string{"Mcp-Protocol-Version": "2025-11-25"}},
		{"tool error (bad argument)", `"name":"widget_get","arguments":{"widget_id":""}`, nil},
		{"unknown tool", `"name":"no_such_tool","arguments":{}`, nil},
		{"arguments missing", `"name":"widget_get"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus, wantType, want := post(call(tc.params+`,"_meta":{}`), tc.header)
			status, ctype, got := post(call(tc.params), tc.header)
			if status != wantStatus || ctype != wantType || got != want {
				t.Errorf("direct answer %d %q\n%s\nwant the transport's %d %q\n%s", status, ctype, got, wantStatus, wantType, want)
			}
			if status != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("answer %d %q, want 200 application/json", status, ctype)
			}
		})
	}
}
