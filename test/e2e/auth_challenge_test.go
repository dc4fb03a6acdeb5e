package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// bearerChallengeRE is RFC 6750 §3 for the server's 401s: the Bearer scheme,
// its realm, an error code when the header was malformed (none when it was
// missing, §3.1), and an error_description of the allowed characters.
var bearerChallengeRE = regexp.MustCompile(`^Bearer realm="miosa-mcp"(, error="(invalid_request|invalid_token)")?, error_description="([\x20\x21\x23-\x5b\x5d-\x7e]+)"$`)

// TestHTTP401Challenge: over real HTTP, every 401 carries a Bearer challenge
// clients can read, and the OAuth discovery and registration paths a client
// tries after a 401 answer 404 with a body that says to send a key (Claude
// Code shows that body as the tool's error; see docs/http-auth.md).
func TestHTTP401Challenge(t *testing.T) {
	up := newUpstream(t)
	srv := testsupport.StartHTTP(t, testsupport.Binary(t), testsupport.HTTPOptions{Interrupt: true, Env: []string{"MIOSA_API_URL=" + up.URL()}})
	call := map[string]any{"name": "sandbox_list", "arguments": map[string]any{}}
	for _, path := range runtime.MCPPaths {
		for _, tc := range []struct {
			name, auth, code string
		}{
			{"missing", "", ""},
			{"bare key", testKey, "invalid_request"},
			{"wrong scheme", "Basic " + testKey, "invalid_request"},
			{"empty Bearer", "Bearer ", "invalid_request"},
			{"two tokens", "Bearer msk_u_a msk_u_b", "invalid_request"},
		} {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				resp, body := post(t, srv.URL+path, tc.auth, call)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("HTTP %d %s, want 401", resp.StatusCode, body)
				}
				chs := resp.Header.Values("WWW-Authenticate")
				if len(chs) != 1 {
					t.Fatalf("WWW-Authenticate %q, want one challenge", chs)
				}
				m := bearerChallengeRE.FindStringSubmatch(chs[0])
				if m == nil {
					t.Fatalf("WWW-Authenticate %q is not an RFC 6750 Bearer challenge", chs[0])
				}
				if m[2] != tc.code {
					t.Errorf("error=%q, want %q", m[2], tc.code)
				}
				if !strings.Contains(m[3], "Bearer msk_u_") || strings.Contains(chs[0], testKey) {
					t.Errorf("error_description %q: want the Bearer hint and never the key", m[3])
				}
				if strings.Contains(chs[0], "resource_metadata") || strings.Contains(chs[0], "scope=") {
					t.Errorf("the challenge points at OAuth: %q", chs[0])
				}
			})
		}
	}
	if n := up.Count(); n != 0 {
		t.Errorf("%d request(s) reached the API", n)
	}

	// What a client fetches after a 401 (MCP authorization: RFC 9728, RFC
	// 8414, OpenID discovery, then dynamic registration): all 404, JSON,
	// saying to send a key; nothing here is a 401 or a 200.
	discovery := []struct{ method, path string }{
		{"GET", "/.well-known/oauth-protected-resource"},
		{"GET", "/.well-known/oauth-protected-resource/mcp"},
		{"GET", "/.well-known/oauth-protected-resource/api/v1/mcp"},
		{"GET", "/.well-known/oauth-authorization-server"},
		{"GET", "/.well-known/oauth-authorization-server/mcp"},
		{"GET", "/.well-known/openid-configuration"},
		{"GET", "/.well-known/openid-configuration/mcp"},
		{"POST", "/register"},
		{"GET", "/authorize"},
		{"POST", "/token"},
	}
	for _, d := range discovery {
		t.Run("discovery"+d.path, func(t *testing.T) {
			req, _ := http.NewRequest(d.method, srv.URL+d.path, strings.NewReader(`{"redirect_uris":["http://localhost:1/cb"]}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error            string `json:"error"`
				ErrorDescription string `json:"error_description"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &body) != nil {
				t.Fatalf("%s %s: HTTP %d %s %s, want a 404 JSON error", d.method, d.path, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			if body.Error != "invalid_request" || !strings.Contains(body.ErrorDescription, "not OAuth") || !strings.Contains(body.ErrorDescription, "Authorization: Bearer msk_u_") {
				t.Errorf("body %s: want it to say there is no OAuth and to send the key", raw)
			}
		})
	}
}

// post sends one JSON-RPC request and returns the response and its body.
func post(t *testing.T, url, auth string, params any) (*http.Response, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}
