package main

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// 3. Stdio calls: per-call latency and server CPU over stdio, one call at a
// time, for miosa-mcp and its floors, the read and the write call.

// The servers every section names.
const (
	serverOurs   = "miosa-mcp"
	serverBare   = "bare mcp-go"
	serverRaw    = "raw proxy"
	serverDirect = "direct"
	serverEcho   = "stdio echo"
)

// The two calls.
const (
	callRead  = "read"  // computer_get: one GET
	callWrite = "write" // env_set: one JSON POST
)

// stdioKind is one server answering one call, measured in batches.
type stdioKind struct {
	server, call string
	fn           func() error
	pid          int // the process whose CPU is counted (0: none)
	lat          []time.Duration
	rounds       []RoundStat
}

func measureStdio(c config, env []string, up *bench.Upstream, rep *Report) error {
	key := bench.Key(0)
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	defer direct.CloseIdleConnections()
	readURL, writeURL := up.URL+bench.UpstreamPath, up.URL+bench.EnvPath

	type proc struct {
		server string
		p      *bench.Proc
	}
	var procs []proc
	defer func() {
		for _, p := range procs {
			p.p.Close()
		}
	}()
	start := func(server, bin string, args ...string) (*bench.Proc, error) {
		p, err := bench.StartProc(bin, env, nil, args...)
		if err != nil {
			return nil, err
		}
		procs = append(procs, proc{server, p})
		if err := p.Initialize(); err != nil {
			return nil, fmt.Errorf("%s: %w", server, err)
		}
		return p, nil
	}
	ours, err := start(serverOurs, c.bin)
	if err != nil {
		return err
	}
	bare, err := start(serverBare, c.bareBin, "--tools", c.catalog)
	if err != nil {
		return err
	}
	raw, err := start(serverRaw, c.rawBin)
	if err != nil {
		return err
	}
	echo, err := start(serverEcho, c.echoBin)
	if err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	idleOurs, err := bench.ReadMem(ours.Cmd.Process.Pid)
	if err != nil {
		return err
	}
	idleBare, _ := bench.ReadMem(bare.Cmd.Process.Pid)

	ids := map[*bench.Proc]int{}
	lineCall := func(p *bench.Proc, body func(int) []byte) func() error {
		return func() error {
			ids[p]++
			id := ids[p]
			if err := p.Send(body(id)); err != nil {
				return err
			}
			_, err := p.Response(id)
			return err
		}
	}
	kinds := []*stdioKind{
		{server: serverDirect, call: callRead, fn: func() error { return get(direct, readURL, key) }},
		{server: serverDirect, call: callWrite, fn: func() error { return postEnv(direct, writeURL, key) }},
		{server: serverEcho, call: callRead, fn: lineCall(echo, bench.CallBody)},
	}
	for _, s := range []struct {
		server string
		p      *bench.Proc
	}{{serverOurs, ours}, {serverBare, bare}, {serverRaw, raw}} {
		kinds = append(kinds,
			&stdioKind{server: s.server, call: callRead, fn: lineCall(s.p, bench.CallBody), pid: s.p.Cmd.Process.Pid},
			&stdioKind{server: s.server, call: callWrite, fn: lineCall(s.p, bench.EnvSetBody), pid: s.p.Cmd.Process.Pid})
	}
	for _, k := range kinds {
		for range 300 { // warm-up: connections, caches
			if err := k.fn(); err != nil {
				return fmt.Errorf("%s %s: %w", k.server, k.call, err)
			}
		}
	}
	rounds := max(1, c.stdioRounds)
	per := max(1, c.calls/rounds)
	conns0 := up.Conns.Load()
	for r := range rounds {
		for i := range kinds {
			k := kinds[(i+r)%len(kinds)]
			var cpu0 time.Duration
			if k.pid != 0 {
				cpu0, _ = bench.CPUTime(k.pid)
			}
			lat := make([]time.Duration, 0, per)
			for range per {
				t0 := time.Now()
				err := k.fn()
				d := time.Since(t0)
				if err != nil {
					return fmt.Errorf("%s %s: %w", k.server, k.call, err)
				}
				lat = append(lat, d)
			}
			s := bench.Summarize(lat)
			rs := RoundStat{P50: s.P50, P99: s.P99}
			if k.pid != 0 {
				if cpu1, err := bench.CPUTime(k.pid); err == nil {
					rs.CPUPerCall = (cpu1 - cpu0) / time.Duration(per)
				}
			}
			k.rounds = append(k.rounds, rs)
			k.lat = append(k.lat, lat...)
		}
	}
	res := StdioResult{Rounds: rounds, CallsPerRound: per, UpstreamConns: up.Conns.Load() - conns0}
	find := func(server, call string) *stdioKind {
		i := slices.IndexFunc(kinds, func(k *stdioKind) bool { return k.server == server && k.call == call })
		return kinds[i]
	}
	for _, call := range []string{callRead, callWrite} {
		d := find(serverDirect, call)
		for _, server := range []string{serverOurs, serverBare, serverRaw, serverDirect} {
			k := find(server, call)
			row := StdioRow{Server: server, Call: call, Rounds: k.rounds, All: bench.Summarize(k.lat)}
			var p50s, added, cpus []float64
			for i, rs := range k.rounds {
				p50s = append(p50s, float64(rs.P50))
				added = append(added, float64(rs.P50-d.rounds[i].P50))
				cpus = append(cpus, float64(rs.CPUPerCall))
			}
			row.P50 = time.Duration(bench.Median(p50s))
			row.AddedP50 = time.Duration(bench.Median(added))
			row.AddedP99 = row.All.P99 - bench.Summarize(d.lat).P99
			row.CPUPerCall = time.Duration(bench.Median(cpus))
			res.Rows = append(res.Rows, row)
		}
		// Paired ratios to the bare floor, round by round.
		o, b := find(serverOurs, call), find(serverBare, call)
		var oa, ba, oc, bc []float64
		for i := range o.rounds {
			oa = append(oa, float64(o.rounds[i].P50-d.rounds[i].P50))
			ba = append(ba, float64(b.rounds[i].P50-d.rounds[i].P50))
			oc = append(oc, float64(o.rounds[i].CPUPerCall))
			bc = append(bc, float64(b.rounds[i].CPUPerCall))
		}
		res.Ratios = append(res.Ratios, StdioRatio{Call: call, AddedP50: pairedRatio(oa, ba), CPUPerCall: pairedRatio(oc, bc)})
	}
	res.EchoRoundTrip = bench.Summarize(find(serverEcho, callRead).lat)
	rep.Stdio = res
	after, _ := bench.ReadMem(ours.Cmd.Process.Pid)
	afterBare, _ := bench.ReadMem(bare.Cmd.Process.Pid)
	n := 300*2 + rounds*per*2
	rep.Memory = append(rep.Memory,
		MemRow{Process: "stdio miosa-mcp (long-lived)", When: "idle, 200 ms after initialize", RSSMB: bench.MB(idleOurs.RSS), HWMMB: bench.MB(idleOurs.HWM)},
		MemRow{Process: "stdio bare mcp-go (long-lived)", When: "idle, 200 ms after initialize", RSSMB: bench.MB(idleBare.RSS), HWMMB: bench.MB(idleBare.HWM)},
		MemRow{Process: "stdio miosa-mcp (long-lived)", When: fmt.Sprintf("after %d calls", n), RSSMB: bench.MB(after.RSS), HWMMB: bench.MB(after.HWM)},
		MemRow{Process: "stdio bare mcp-go (long-lived)", When: fmt.Sprintf("after %d calls", n), RSSMB: bench.MB(afterBare.RSS), HWMMB: bench.MB(afterBare.HWM)},
	)
	for _, r := range res.Ratios {
		logf("  %s: added p50 ×%.2f bare mcp-go, CPU/call ×%.2f", r.Call, r.AddedP50, r.CPUPerCall)
	}
	return nil
}

// get is the read call made directly.
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

// postEnv is the write call made directly.
func postEnv(cl *http.Client, url, key string) error {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"name":"BENCH_VAR","value":"on"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	status, b, err := send(cl, req, key)
	if err != nil {
		return err
	}
	if status != http.StatusOK || !bytes.Equal(b, bench.EnvBody) {
		return fmt.Errorf("upstream answered %d: %.200s", status, b)
	}
	return nil
}
