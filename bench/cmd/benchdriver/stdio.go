package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// 3. Stdio calls: per-call overhead over stdio against the direct call.

func measureStdio(c config, env []string, up *bench.Upstream, rep *Report) error {
	key := bench.Key(0)
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	defer direct.CloseIdleConnections()
	url := up.URL + bench.UpstreamPath
	directCall := func() error { return get(direct, url, key) }

	raw, err := bench.StartProc(c.bin, env, nil)
	if err != nil {
		return err
	}
	defer raw.Close()
	if err := raw.Initialize(); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	idle, err := bench.ReadMem(raw.Cmd.Process.Pid)
	if err != nil {
		return err
	}
	raw.Send(bench.ToolsListBody(1))
	if _, err := raw.Response(1); err != nil {
		return err
	}
	listed, _ := bench.ReadMem(raw.Cmd.Process.Pid)
	id := 1
	rawCall := func() error {
		id++
		if err := raw.Send(bench.CallBody(id)); err != nil {
			return err
		}
		_, err := raw.Response(id)
		return err
	}

	tr := transport.NewStdioWithOptions(c.bin, env, nil, transport.WithCommandStderrWriter(io.Discard))
	mc := mcpclient.NewClient(tr)
	ctx := context.Background()
	if err := mc.Start(ctx); err != nil {
		return err
	}
	defer mc.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "miosa-bench", Version: "0"}
	if _, err := mc.Initialize(ctx, init); err != nil {
		return err
	}
	creq := mcp.CallToolRequest{}
	creq.Params.Name = "computer_get"
	creq.Params.Arguments = map[string]any{"id": bench.ComputerID}
	goCall := func() error {
		res, err := mc.CallTool(ctx, creq)
		if err != nil {
			return err
		}
		if res.IsError {
			return fmt.Errorf("tool error: %v", res.Content)
		}
		return nil
	}

	// The pipe floor: the same line to a Go process that answers at once.
	echo, err := bench.StartProc(c.echoBin, env, nil)
	if err != nil {
		return err
	}
	defer echo.Close()
	eid := 0
	echoCall := func() error {
		eid++
		if err := echo.Send(bench.CallBody(eid)); err != nil {
			return err
		}
		_, err := echo.Response(eid)
		return err
	}

	// The structural floor: a minimal Go stdio-to-HTTP proxy doing the same
	// upstream GET per line, with no MCP work at all.
	proxy, err := bench.StartProc(c.echoBin, append(env[:len(env):len(env)], "STDIOECHO_GET="+url), nil)
	if err != nil {
		return err
	}
	defer proxy.Close()
	pid := 0
	proxyCall := func() error {
		pid++
		if err := proxy.Send(bench.CallBody(pid)); err != nil {
			return err
		}
		_, err := proxy.Response(pid)
		return err
	}

	kinds := []struct {
		name string
		fn   func() error
		lat  []time.Duration
	}{{name: "direct"}, {name: "raw"}, {name: "mcpgo"}, {name: "echo"}, {name: "proxy"}}
	kinds[0].fn, kinds[1].fn, kinds[2].fn, kinds[3].fn, kinds[4].fn = directCall, rawCall, goCall, echoCall, proxyCall
	for i := range kinds {
		for range 300 { // warm-up: connections, lazy schema compile, JIT-free but cache-warm
			if err := kinds[i].fn(); err != nil {
				return fmt.Errorf("%s: %w", kinds[i].name, err)
			}
		}
	}
	const rounds = 10
	per := max(1, c.calls/rounds)
	conns0 := up.Conns.Load()
	rawCPU0, _ := bench.CPUTime(raw.Cmd.Process.Pid)
	proxyCPU0, _ := bench.CPUTime(proxy.Cmd.Process.Pid)
	var rawCalls, proxyCalls int
	for r := range rounds {
		for k := range kinds {
			kk := &kinds[(k+r)%len(kinds)]
			for range per {
				t0 := time.Now()
				err := kk.fn()
				d := time.Since(t0)
				if err != nil {
					return fmt.Errorf("%s: %w", kk.name, err)
				}
				kk.lat = append(kk.lat, d)
			}
			switch kk.name {
			case "raw":
				rawCalls += per
			case "proxy":
				proxyCalls += per
			}
		}
	}
	after, _ := bench.ReadMem(raw.Cmd.Process.Pid)
	rep.StdioUpstreamConns = up.Conns.Load() - conns0
	if cpu, err := bench.CPUTime(raw.Cmd.Process.Pid); err == nil && rawCalls > 0 {
		rep.StdioServerCPUPerCall = (cpu - rawCPU0) / time.Duration(rawCalls)
	}
	if cpu, err := bench.CPUTime(proxy.Cmd.Process.Pid); err == nil && proxyCalls > 0 {
		rep.StdioProxyCPUPerCall = (cpu - proxyCPU0) / time.Duration(proxyCalls)
	}
	d, rw, gw, ew, pw := bench.Summarize(kinds[0].lat), bench.Summarize(kinds[1].lat), bench.Summarize(kinds[2].lat), bench.Summarize(kinds[3].lat), bench.Summarize(kinds[4].lat)
	rep.Stdio = []Dist{
		{Name: "miosa-mcp stdio, raw JSON-RPC lines", Note: "tools/call computer_get, one call at a time", Stats: rw},
		{Name: "miosa-mcp stdio, mcp-go client", Note: "client.CallTool over transport.Stdio", Stats: gw},
		{Name: "baseline: direct HTTP GET of the upstream", Note: "keep-alive net/http client in the driver (the physical limit)", Stats: d},
		{Name: "reference: stdio pipe round trip to the Go echo", Note: "the same line to bench/cmd/stdioecho (the stdio hop alone)", Stats: ew},
		{Name: "reference: minimal Go stdio→HTTP proxy", Note: "stdioecho with STDIOECHO_GET: pipe hop + the same upstream GET, no MCP work", Stats: pw},
	}
	rep.StdioAdd = []Added{added("raw JSON-RPC client", rw, d), added("mcp-go client", gw, d), added("reference: minimal Go stdio→HTTP proxy", pw, d)}
	rep.Memory = append(rep.Memory,
		MemRow{Process: "stdio miosa-mcp (long-lived)", When: "idle, 200 ms after initialize", RSSMB: bench.MB(idle.RSS), HWMMB: bench.MB(idle.HWM)},
		MemRow{Process: "stdio miosa-mcp (long-lived)", When: "after tools/list", RSSMB: bench.MB(listed.RSS), HWMMB: bench.MB(listed.HWM)},
		MemRow{Process: "stdio miosa-mcp (long-lived)", When: fmt.Sprintf("after %d calls", c.calls+300), RSSMB: bench.MB(after.RSS), HWMMB: bench.MB(after.HWM)},
	)
	return nil
}

func added(name string, m, d bench.Summary) Added {
	a := Added{Name: name, MCP: m, Direct: d, AddedP50: m.P50 - d.P50, AddedP99: m.P99 - d.P99}
	if d.P50 > 0 {
		a.RatioP50 = float64(m.P50) / float64(d.P50)
	}
	if d.P99 > 0 {
		a.RatioP99 = float64(m.P99) / float64(d.P99)
	}
	return a
}

func get(cl *http.Client, url, key string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	status, b, err := send(cl, req, key)
	if err != nil {
		return err
	}
	if status != http.StatusOK || !bytes.Equal(b, bench.ComputerBody) {
		return fmt.Errorf("upstream answered %d: %.200s", status, b)
	}
	return nil
}
