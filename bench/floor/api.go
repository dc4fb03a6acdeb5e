// Package floor holds the floors the benchmark driver measures miosa-mcp
// against, in the same run and against the same local upstream: a bare
// mark3labs/mcp-go server (bench/cmd/baremcp) and a raw JSON-RPC proxy with
// no MCP library (bench/cmd/rawproxy). Both serve the two calls the driver
// makes, computer_get (a read: one GET) and env_set (a write: one JSON
// POST), the way miosa-mcp does: same upstream requests, the upstream body
// returned as text and structuredContent. They do nothing else (no
// validation, no scrubbing, no limits), which is what makes them floors.
package floor

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API is the upstream the floors call.
type API struct {
	base   string // scheme://host, without /api/v1
	client *http.Client
}

// NewAPI calls the MIOSA-shaped API at base (MIOSA_API_URL: scheme and
// host) over keep-alive connections, pooled as miosa-mcp pools them.
func NewAPI(base string) *API {
	return &API{
		base: strings.TrimRight(base, "/"),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: 90 * time.Second,
		}},
	}
}

// GetComputer is computer_get's request: GET /api/v1/computers/{id}.
func (a *API) GetComputer(ctx context.Context, key, id string) (int, []byte, error) {
	return a.do(ctx, key, http.MethodGet, "/api/v1/computers/"+url.PathEscape(id), nil)
}

// SetEnv is env_set's request: POST /api/v1/computers/{id}/env {name, value}.
func (a *API) SetEnv(ctx context.Context, key, id, name, value string) (int, []byte, error) {
	body, _ := json.Marshal(struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}{name, value})
	return a.do(ctx, key, http.MethodPost, "/api/v1/computers/"+url.PathEscape(id)+"/env", body)
}

func (a *API) do(ctx context.Context, key, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 5<<20))
	return resp.StatusCode, b, err
}

// bearer is the key of an Authorization: Bearer header, or "".
func bearer(h http.Header) string {
	v, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(v)
}
