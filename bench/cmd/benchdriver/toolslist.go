package main

import (
	"context"
	"encoding/json"

	"github.com/miosa-osa/miosa-mcp/api"
	"github.com/miosa-osa/miosa-mcp/bench"
	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/tokens"
)

// 1. tools/list: its size on the wire, bytes and tokens, beside the same
// catalog rendered by the bare mcp-go floor and the spec itself.

// measureToolsList measures the tools/list line all (already read from
// the binary) and asks for the rest.
func measureToolsList(c config, env []string, all []byte) (ToolsList, error) {
	var tl ToolsList
	var err error
	if tl.WireAll, err = payload("all (wire)", all); err != nil {
		return tl, err
	}
	line, err := wireToolsList(c.bin, env, "--toolsets", "core")
	if err != nil {
		return tl, err
	}
	if tl.WireCore, err = payload("core profile (wire)", line); err != nil {
		return tl, err
	}
	if line, err = wireToolsList(c.bareBin, env, "--tools", c.catalog); err != nil {
		return tl, err
	}
	if tl.Bare, err = payload("bare mcp-go, same catalog (wire)", line); err != nil {
		return tl, err
	}
	catalog := tools.All(nil)
	inProc, err := inProcessToolsList(catalog, "all")
	if err != nil {
		return tl, err
	}
	tl.WireAll.InProcessMatches = inProc.Bytes == tl.WireAll.Bytes && inProc.Tokens == tl.WireAll.Tokens
	for _, ts := range tools.Toolsets {
		sel, err := runtime.Select(catalog, tools.Toolsets, tools.Profiles, runtime.Selection{Toolsets: []string{ts.Name}})
		if err != nil {
			return tl, err
		}
		p, err := inProcessToolsList(sel, ts.Name)
		if err != nil {
			return tl, err
		}
		p.PercentOfAllBytes = 100 * float64(p.Bytes) / float64(tl.WireAll.Bytes)
		tl.Toolsets = append(tl.Toolsets, p)
	}
	tl.SpecBytes = len(api.OpenAPI)
	tl.SpecToks, err = tokens.Count(string(api.OpenAPI))
	return tl, err
}

// wireToolsList asks the spawned binary for tools/list over stdio and
// returns the JSON-RPC line.
func wireToolsList(bin string, env []string, args ...string) ([]byte, error) {
	p, err := bench.StartProc(bin, env, nil, args...)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if err := p.Initialize(); err != nil {
		return nil, err
	}
	if err := p.Send(bench.ToolsListBody(1)); err != nil {
		return nil, err
	}
	return p.Response(1)
}

func inProcessToolsList(ts []runtime.Tool, name string) (Payload, error) {
	srv := runtime.NewServer(runtime.Options{Name: "miosa-mcp", Version: "bench", Tools: ts, Toolsets: tools.Toolsets, Mode: runtime.ModeStdio})
	resp := srv.MCP().HandleMessage(context.Background(), bench.ToolsListBody(1))
	line, err := json.Marshal(resp)
	if err != nil {
		return Payload{}, err
	}
	return payload(name, line)
}

func payload(name string, line []byte) (Payload, error) {
	var m struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return Payload{}, err
	}
	var r struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(m.Result, &r); err != nil {
		return Payload{}, err
	}
	n, err := tokens.Count(string(m.Result))
	if err != nil {
		return Payload{}, err
	}
	p := Payload{Name: name, Tools: len(r.Tools), LineBytes: len(line), Bytes: len(m.Result), Tokens: n}
	if p.Tools > 0 {
		p.TokensPerTool = float64(n) / float64(p.Tools)
	}
	return p, nil
}
