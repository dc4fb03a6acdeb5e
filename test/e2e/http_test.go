package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// TestHTTPConcurrentKeys runs 8 clients with distinct keys, 10 calls each, at
// the same time against one server: every upstream request must carry its
// caller's key and every caller must get the answer to its own request.
func TestHTTPConcurrentKeys(t *testing.T) {
	const clients, callsEach = 8, 10
	up := newUpstream(t)
	srv := testsupport.StartHTTP(t, testsupport.Binary(t), testsupport.HTTPOptions{Interrupt: true, Env: []string{"MIOSA_API_URL=" + up.URL()}})
	keys := make([]string, clients)
	conns := make([]*client.Client, clients)
	for i := range clients {
		// No English word of ten letters in the secret: the key scanner
		// (internal/testsupport) would find it in ordinary output.
		keys[i] = fmt.Sprintf("msk_u_e2e_caller_%02d_%s", i, strings.Repeat("k", i+8))
		path := "/mcp"
		if i%2 == 1 {
			path = "/api/v1/mcp"
		}
		version := ""
		if i%4 >= 2 {
			version = "2025-11-25"
		}
		conns[i], _ = connectHTTP(t, srv, httpClientOptions{path: path, auth: "Bearer " + keys[i], version: version})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, clients*callsEach)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range callsEach {
				id := fmt.Sprintf("c%02d-call%02d", i, j)
				name, args := "sandbox_get", map[string]any{"id": id}
				if j%2 == 1 {
					name, args = "sandbox_exec", map[string]any{"id": id, "command": "echo " + id}
				}
				res, err := testsupport.CallTool(ctx, conns[i], name, args)
				switch {
				case err != nil:
					errs <- fmt.Errorf("client %d %s: %v", i, id, err)
				case res.IsError:
					errs <- fmt.Errorf("client %d %s: isError %s", i, id, testsupport.ResultText(res))
				case !strings.Contains(testsupport.ResultText(res), "/sandboxes/"+id):
					errs <- fmt.Errorf("client %d got someone else's result for %s: %s", i, id, testsupport.ResultText(res))
				case strings.Contains(testsupport.ResultText(res), "msk_u_"):
					errs <- fmt.Errorf("client %d result contains a key: %s", i, testsupport.ResultText(res))
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	reqs := up.Take()
	if len(reqs) != clients*callsEach {
		t.Errorf("upstream received %d requests, want %d", len(reqs), clients*callsEach)
	}
	for _, r := range reqs {
		var i int
		if _, err := fmt.Sscanf(r.Path[strings.LastIndex(strings.TrimSuffix(r.Path, "/exec"), "/")+1:], "c%02d-", &i); err != nil || i < 0 || i >= clients {
			t.Errorf("unexpected upstream request %s %s", r.Method, r.Path)
			continue
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+keys[i] {
			t.Errorf("%s %s carried %q, want client %d's key", r.Method, r.Path, got, i)
		}
	}
	if s := srv.Stderr.String(); strings.Contains(s, "msk_u_e2e_caller") {
		t.Errorf("server stderr contains a key:\n%s", s)
	}
}

// rpc posts one JSON-RPC message and returns the status, body and decoded
// response (a JSON body, or the first data line of an event stream).
func rpc(t *testing.T, url, auth, method string, params any) (int, string, map[string]any) {
	t.Helper()
	msg := map[string]any{"jsonrpc": "2.0", "id": 1, "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s %s: %v", url, method, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	payload := body
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for _, line := range strings.Split(string(body), "\n") {
			if d, ok := strings.CutPrefix(line, "data:"); ok {
				payload = []byte(strings.TrimSpace(d))
			}
		}
	}
	var m map[string]any
	json.Unmarshal(payload, &m)
	return resp.StatusCode, string(body), m
}

// TestHTTPAuth: initialize, ping and tools/list need no key; a tools/call
// without a usable key is refused 401 with the Bearer hint and nothing
// reaches the API; both endpoint paths behave the same.
func TestHTTPAuth(t *testing.T) {
	up := newUpstream(t)
	srv := testsupport.StartHTTP(t, testsupport.Binary(t), testsupport.HTTPOptions{Interrupt: true, Env: []string{"MIOSA_API_URL=" + up.URL()}})
	initParams := map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "e2e", "version": "1"},
	}
	callParams := map[string]any{"name": "sandbox_get", "arguments": map[string]any{"id": "sb-1"}}
	for _, path := range []string{"/mcp", "/api/v1/mcp"} {
		url := srv.URL + path
		t.Run(path, func(t *testing.T) {
			noKey := []struct {
				method string
				params any
				check  func(map[string]any) bool
			}{
				{"initialize", initParams, func(m map[string]any) bool {
					r, _ := m["result"].(map[string]any)
					return r["protocolVersion"] == "2025-11-25" && r["serverInfo"] != nil
				}},
				{"ping", nil, func(m map[string]any) bool { _, ok := m["result"]; return ok }},
				{"tools/list", nil, func(m map[string]any) bool {
					r, _ := m["result"].(map[string]any)
					tl, _ := r["tools"].([]any)
					return len(tl) == catalogSize
				}},
			}
			for _, tc := range noKey {
				status, body, m := rpc(t, url, "", tc.method, tc.params)
				if status != http.StatusOK || !tc.check(m) {
					t.Errorf("%s without a key: HTTP %d %s", tc.method, status, body)
				}
			}
			refused := []struct{ name, auth string }{
				{"missing Authorization", ""},
				{"bare key without Bearer", testKey},
				{"wrong scheme", "Basic " + testKey},
				{"Bearer without key", "Bearer "},
			}
			for _, tc := range refused {
				status, body, m := rpc(t, url, tc.auth, "tools/call", callParams)
				if status != http.StatusUnauthorized {
					t.Errorf("%s: tools/call answered HTTP %d %s, want 401", tc.name, status, body)
				}
				if !strings.Contains(body, "Bearer msk_u_") {
					t.Errorf("%s: 401 body %s lacks the hint `Bearer msk_u_`", tc.name, body)
				}
				if _, ok := m["error"]; !ok || m["jsonrpc"] != "2.0" {
					t.Errorf("%s: 401 body %s is not a JSON-RPC error", tc.name, body)
				}
				if strings.Contains(body, testKey) {
					t.Errorf("%s: 401 body echoes the key", tc.name)
				}
			}
			if n := up.Count(); n != 0 {
				t.Errorf("%d request(s) reached the API without a usable key", n)
			}
			// A well-formed key goes through on the same path.
			status, body, m := rpc(t, url, "Bearer "+testKey, "tools/call", callParams)
			if r, _ := m["result"].(map[string]any); status != http.StatusOK || r == nil || r["isError"] == true {
				t.Errorf("tools/call with a key: HTTP %d %s", status, body)
			}
			if got := up.Take(); len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+testKey {
				t.Errorf("upstream got %d request(s) for the keyed call, want 1 carrying the key", len(got))
			}
		})
	}
	// mcp-go's client connects, lists and is refused a call without a key,
	// in both eras and on both paths.
	for _, era := range eras {
		for _, path := range []string{"/mcp", "/api/v1/mcp"} {
			t.Run("client/"+era.name+path, func(t *testing.T) {
				c, init := connectHTTP(t, srv, httpClientOptions{path: path, version: era.pin})
				if init.ProtocolVersion != era.want {
					t.Errorf("negotiated %s, want %s", init.ProtocolVersion, era.want)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				listed, err := listAllTools(ctx, c)
				if err != nil || len(listed) != catalogSize {
					t.Fatalf("tools/list without a key: %d tools, %v", len(listed), err)
				}
				// mcp-go surfaces an HTTP 401 as "authorization required".
				res, err := testsupport.CallTool(ctx, c, "sandbox_get", map[string]any{"id": "sb-1"})
				if err == nil {
					t.Errorf("tools/call without a key was not refused with 401: isError=%v %s", res.IsError, testsupport.ResultText(res))
				} else if !strings.Contains(err.Error(), "authorization required") {
					t.Errorf("tools/call without a key: %v, want mcp-go's 401 error", err)
				}
				if n := up.Count(); n != 0 {
					t.Errorf("%d request(s) reached the API without a key", n)
				}
			})
		}
	}
}
