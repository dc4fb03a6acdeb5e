package floor

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// RawProxy answers JSON-RPC tools/call messages for computer_get and
// env_set with the same upstream request, and initialize and ping with
// fixed results, using encoding/json and nothing else: the cost of the
// process hops, one decode and one encode, with no MCP library.
type RawProxy struct {
	API *API
}

type rawRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Name      string `json:"name"`
		Arguments struct {
			ID         string `json:"id"`
			ComputerID string `json:"computer_id"`
			Name       string `json:"name"`
			Value      string `json:"value"`
		} `json:"arguments"`
	} `json:"params"`
}

type rawResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rawError       `json:"error,omitempty"`
}

type rawError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rawText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type rawToolResult struct {
	Content           []rawText       `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	IsError           bool            `json:"isError,omitempty"`
}

var rawInit = json.RawMessage(`{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"rawproxy","version":"0"}}`)

// Handle answers one message; nil for a notification or a message that is
// not a JSON object.
func (p *RawProxy) Handle(ctx context.Context, key string, msg []byte) []byte {
	var req rawRequest
	if json.Unmarshal(msg, &req) != nil || len(req.ID) == 0 {
		return nil
	}
	resp := rawResponse{JSONRPC: "2.0", ID: req.ID}
	switch req.Method {
	case "initialize":
		resp.Result = rawInit
	case "ping":
		resp.Result = struct{}{}
	case "tools/call":
		a := req.Params.Arguments
		var status int
		var body []byte
		var err error
		switch req.Params.Name {
		case "computer_get":
			status, body, err = p.API.GetComputer(ctx, key, a.ID)
		case "env_set":
			status, body, err = p.API.SetEnv(ctx, key, a.ComputerID, a.Name, a.Value)
		default:
			resp.Error = &rawError{Code: -32602, Message: "unknown tool"}
		}
		switch {
		case resp.Error != nil:
		case err != nil || status/100 != 2 || !json.Valid(body):
			resp.Result = rawToolResult{Content: []rawText{{"text", "the API call failed"}}, IsError: true}
		default:
			resp.Result = rawToolResult{Content: []rawText{{"text", string(body)}}, StructuredContent: body}
		}
	default:
		resp.Error = &rawError{Code: -32601, Message: "method not found"}
	}
	b, _ := json.Marshal(resp)
	return b
}

// ServeStdio answers each line of in on out, one at a time on the reading
// goroutine, until in ends.
func (p *RawProxy) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, key string) error {
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriter(out)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if resp := p.Handle(ctx, key, line); resp != nil {
				w.Write(resp)
				w.WriteByte('\n')
				if ferr := w.Flush(); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ServeHTTP answers one JSON-RPC POST with the caller's bearer key.
func (p *RawProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 5<<20))
	if err != nil {
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	resp := p.Handle(r.Context(), bearer(r.Header), body)
	if resp == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(resp)
}
