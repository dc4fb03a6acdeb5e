package reliability_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// HTTP header and method rules of the transport (#10): repeated narrowing
// headers only narrow, repeated Authorization or Origin headers are
// refused, and every method but POST gets 405 with Allow: POST.

const headerKey = "msk_u_headers_Mb7Qs3Wf9Zc1Hv"

// send makes one request with exactly the given header lines (repeats
// included) and returns the response and its body, scanned for keys.
func send(t *testing.T, method, url string, h http.Header, body string) (*http.Response, string) {
	t.Helper()
	resp, b := testsupport.Do(t, method, url, h, strings.NewReader(body))
	return resp, string(b)
}

func toolsListNames(t *testing.T, url string, h http.Header) ([]string, int, string) {
	t.Helper()
	resp, body := send(t, http.MethodPost, url, h, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	msgs := parseMessages(resp.Header.Get("Content-Type"), []byte(body))
	if resp.StatusCode != 200 || len(msgs) != 1 {
		return nil, resp.StatusCode, body
	}
	var r struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	json.Unmarshal(msgs[0].Result, &r)
	var names []string
	for _, tool := range r.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names, resp.StatusCode, body
}

// TestDuplicateNarrowingHeadersIntersect: every value of every narrowing
// header counts and the request gets the intersection. A gateway that adds
// its own X-MCP-Tools, X-MCP-Readonly or X-MCP-Exclude-Tools after the
// client's can only remove tools, and computer_destroy, removed by it,
// never runs.
func TestDuplicateNarrowingHeadersIntersect(t *testing.T) {
	t.Parallel()
	up := testsupport.NewUpstream(t, okData)
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL()})
	auth := "Bearer " + headerKey
	cases := []struct {
		name   string
		header http.Header
		want   []string // the tools listed; nil with status 400
		status int
	}{
		{"two-tools", http.Header{"X-Mcp-Tools": {"computer_get,computer_destroy", "computer_get"}}, []string{"computer_get"}, 200},
		{"tools-disjoint", http.Header{"X-Mcp-Tools": {"computer_destroy", "computer_get"}}, nil, 200},
		{"readonly-false-then-true", http.Header{"X-Mcp-Tools": {"computer_get,computer_destroy"}, "X-Mcp-Readonly": {"false", "true"}}, []string{"computer_get"}, 200},
		{"readonly-true-then-false", http.Header{"X-Mcp-Tools": {"computer_get,computer_destroy"}, "X-Mcp-Readonly": {"true", "false"}}, []string{"computer_get"}, 200},
		{"readonly-merged", http.Header{"X-Mcp-Tools": {"computer_get,computer_destroy"}, "X-Mcp-Readonly": {"false, true"}}, []string{"computer_get"}, 200},
		{"readonly-malformed-second", http.Header{"X-Mcp-Readonly": {"true", "maybe"}}, nil, 400},
		{"two-excludes", http.Header{"X-Mcp-Tools": {"computer_get,computer_destroy,computer_list"}, "X-Mcp-Exclude-Tools": {"computer_list", "computer_destroy"}}, []string{"computer_get"}, 200},
		{"two-toolsets", http.Header{"X-Mcp-Toolsets": {"computer", "sandbox"}}, nil, 200},
		{"toolset-and-tools", http.Header{"X-Mcp-Toolsets": {"computer"}, "X-Mcp-Tools": {"computer_get,sandbox_get"}}, []string{"computer_get"}, 200},
		{"unknown-tool-in-second", http.Header{"X-Mcp-Tools": {"computer_get", "computer_nuke"}}, nil, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := tc.header.Clone()
			hdr.Set("Authorization", auth)
			names, status, body := toolsListNames(t, h.URL+"/mcp", hdr)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, clip(body))
			}
			if status == 400 {
				if !strings.Contains(body, `"error"`) {
					t.Errorf("400 without a JSON-RPC error: %s", body)
				}
				return
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("tools/list = %v, want %v", names, tc.want)
			}
			// A tool the headers removed cannot be called either.
			if !slices.Contains(tc.want, "computer_destroy") {
				before := up.Count()
				resp, body := send(t, http.MethodPost, h.URL+"/mcp", hdr, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"computer_destroy","arguments":{"id":"cmp_1"}}}`)
				msgs := parseMessages(resp.Header.Get("Content-Type"), []byte(body))
				if len(msgs) != 1 {
					t.Fatalf("tools/call: %s", clip(body))
				}
				// mcp-go's tool filter answers "not found"; the runtime's own
				// check (behind it) an isError "not enabled".
				isErr, text, _ := msgs[0].toolResult()
				notFound := msgs[0].Error != nil && strings.Contains(msgs[0].Error.Message, "not found")
				if !notFound && !(isErr && strings.Contains(text, "not enabled")) {
					t.Errorf("computer_destroy was not refused: %s", clip(body))
				}
				if n := up.Count() - before; n != 0 {
					t.Errorf("computer_destroy reached the API (%d requests)", n)
				}
			}
		})
	}
}

// TestDuplicateAuthorizationOrOriginRefused: two Authorization headers get
// 400 and two Origin headers 403, each with a JSON-RPC error, for any
// message, and nothing reaches the API; the first one is never taken.
func TestDuplicateAuthorizationOrOriginRefused(t *testing.T) {
	t.Parallel()
	up := testsupport.NewUpstream(t, okData)
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL()})
	other := "Bearer msk_u_headers_other_Jd4Kp8Nt2"
	cases := []struct {
		name   string
		header http.Header
		status int
		text   string
	}{
		{"two-authorization", http.Header{"Authorization": {"Bearer " + headerKey, other}}, 400, "more than one Authorization header"},
		{"two-authorization-same", http.Header{"Authorization": {"Bearer " + headerKey, "Bearer " + headerKey}}, 400, "more than one Authorization header"},
		{"two-origins", http.Header{"Authorization": {"Bearer " + headerKey}, "Origin": {"http://localhost:3000", "https://evil.example"}}, 403, "more than one Origin header"},
		{"two-loopback-origins", http.Header{"Authorization": {"Bearer " + headerKey}, "Origin": {"http://localhost:3000", "http://127.0.0.1:5173"}}, 403, "more than one Origin header"},
		{"control-one-each", http.Header{"Authorization": {"Bearer " + headerKey}, "Origin": {"http://localhost:3000"}}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, msg := range []string{callGet, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"0"}}}`} {
				before := up.Count()
				resp, body := send(t, http.MethodPost, h.URL+"/mcp", tc.header, msg)
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, clip(body))
				}
				if tc.text != "" {
					var e struct {
						Error struct{ Message string } `json:"error"`
					}
					if json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error.Message, tc.text) {
						t.Errorf("want a JSON-RPC error saying %q, got %s", tc.text, clip(body))
					}
					if n := up.Count() - before; n != 0 {
						t.Errorf("a refused request reached the API (%d)", n)
					}
				}
			}
		})
	}
}

// TestNonPostMethodsAnswer405: on both MCP paths every method but POST
// answers 405 with Allow: POST (the streamable HTTP transport; the server
// is stateless with no GET stream). They answered 404 (PUT, PATCH, OPTIONS,
// TRACE) and 200 (DELETE, HEAD) before.
func TestNonPostMethodsAnswer405(t *testing.T) {
	t.Parallel()
	up := testsupport.NewUpstream(t, okData)
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL()})
	for _, p := range runtime.MCPPaths {
		for _, m := range []string{"GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND"} {
			t.Run(strings.TrimPrefix(p, "/")+"/"+m, func(t *testing.T) {
				resp, body := send(t, m, h.URL+p, http.Header{"Authorization": {"Bearer " + headerKey}}, "")
				if resp.StatusCode != http.StatusMethodNotAllowed {
					t.Errorf("status %d, want 405 (%s)", resp.StatusCode, clip(body))
				}
				if a := resp.Header.Values("Allow"); len(a) != 1 || a[0] != "POST" {
					t.Errorf("Allow = %q, want POST", a)
				}
			})
		}
		t.Run(strings.TrimPrefix(p, "/")+"/POST", func(t *testing.T) {
			if resp, body := send(t, "POST", h.URL+p, http.Header{"Authorization": {"Bearer " + headerKey}}, callGet); resp.StatusCode != 200 {
				t.Errorf("POST: status %d (%s)", resp.StatusCode, clip(body))
			}
		})
	}
	if up.Count() != len(runtime.MCPPaths) {
		t.Errorf("upstream requests = %d, want one per POST", up.Count())
	}
}

// TestAPIURLCredentialsNeverEchoed: MIOSA_API_URL with credentials is
// refused, and the error names the variable without the credentials, for
// every command that reads it and every way the value can be malformed.
func TestAPIURLCredentialsNeverEchoed(t *testing.T) {
	t.Parallel()
	const secret = "S3cretPassw0rdQ7"
	urls := []string{
		"https://user:" + secret + "@api.miosa.ai",
		"http://user:" + secret + "@127.0.0.1:1",
		"https://" + secret + "@api.miosa.ai/api/v1",
		"https://user:" + secret + "@api.miosa.ai/path?q=1",
		"https://user:" + secret + "@api.miosa.ai:badport",
		"https://user:" + secret + "%zz@api.miosa.ai",
		"user:" + secret + "@api.miosa.ai",
		"ftp://user:" + secret + "@api.miosa.ai",
		"http://user:" + secret + "@evil.example",
	}
	for i, u := range urls {
		for _, cmd := range [][]string{{"stdio"}, {"http", "--listen", "127.0.0.1:0"}, {"tools"}, {"call", "computer_list"}} {
			t.Run(fmt.Sprintf("%d/%s", i, cmd[0]), func(t *testing.T) {
				_, stderr, code := runCLI(t, map[string]string{"MIOSA_API_URL": u, "MIOSA_API_KEY": headerKey}, cmd...)
				if code != 2 || !strings.Contains(stderr, "MIOSA_API_URL") {
					t.Errorf("exit %d, want 2 with an error naming MIOSA_API_URL; stderr: %s", code, stderr)
				}
				if strings.Contains(stderr, secret) || strings.Contains(stderr, secret[:10]) {
					t.Errorf("the error echoes the credentials: %s", stderr)
				}
			})
		}
	}
}
