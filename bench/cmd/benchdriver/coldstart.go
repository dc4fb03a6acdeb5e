package main

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// 2. Cold start: spawn to initialize, and to the first tools/list.

// coldKind is one thing spawned per cold-start round.
type coldKind struct {
	name string
	run  func() (time.Duration, error)
}

func measureCold(c config, env []string, rep *Report) error {
	var mcpInit, mcpList, echoD, trueD, versionD []time.Duration
	var mcpRSS, mcpListRSS, echoRSS []float64
	kinds := []coldKind{
		{name: "true", run: func() (time.Duration, error) { return spawnWait("/bin/true", env) }},
		{name: "version", run: func() (time.Duration, error) { return spawnWait(c.bin, env, "version") }},
		{name: "echo", run: func() (time.Duration, error) {
			d, mem, err := spawnInitialize(c.echoBin, env)
			if err == nil {
				echoRSS = append(echoRSS, bench.MB(mem.RSS))
			}
			return d, err
		}},
		{name: "mcp", run: func() (time.Duration, error) {
			d, list, m1, m2, err := spawnInitializeList(c.bin, env)
			if err == nil {
				mcpList = append(mcpList, list)
				mcpRSS = append(mcpRSS, bench.MB(m1.RSS))
				mcpListRSS = append(mcpListRSS, bench.MB(m2.RSS))
			}
			return d, err
		}},
	}
	// Warm the page cache and the binaries once, then interleave the kinds in
	// a fresh random order each round so drift in machine load hits all alike.
	for _, k := range kinds {
		if _, err := k.run(); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	mcpList, mcpRSS, mcpListRSS, echoRSS = nil, nil, nil, nil
	for i := 0; i < c.runs; i++ {
		for _, j := range rand.Perm(len(kinds)) {
			d, err := kinds[j].run()
			if err != nil {
				return fmt.Errorf("%s: %w", kinds[j].name, err)
			}
			switch kinds[j].name {
			case "true":
				trueD = append(trueD, d)
			case "version":
				versionD = append(versionD, d)
			case "echo":
				echoD = append(echoD, d)
			case "mcp":
				mcpInit = append(mcpInit, d)
			}
		}
	}
	rep.Cold = []Dist{
		{Name: "miosa-mcp: spawn → initialize reply", Note: "stdio, 151 tools", Stats: bench.Summarize(mcpInit)},
		{Name: "miosa-mcp: spawn → initialize → tools/list reply", Note: "adds the first tools/list", Stats: bench.Summarize(mcpList)},
		{Name: "baseline: Go stdio echo: spawn → reply", Note: "bench/cmd/stdioecho: a Go binary answering one JSON-RPC line", Stats: bench.Summarize(echoD)},
		{Name: "baseline: miosa-mcp version: spawn → exit", Note: "same binary, no server", Stats: bench.Summarize(versionD)},
		{Name: "baseline: /bin/true: spawn → exit", Note: "process creation floor", Stats: bench.Summarize(trueD)},
	}
	rep.Memory = append(rep.Memory,
		MemRow{Process: "stdio miosa-mcp (cold-start runs, median)", When: "right after the initialize reply", RSSMB: bench.Median(mcpRSS)},
		MemRow{Process: "stdio miosa-mcp (cold-start runs, median)", When: "right after the first tools/list reply", RSSMB: bench.Median(mcpListRSS)},
		MemRow{Process: "baseline: Go stdio echo (median)", When: "right after its reply", RSSMB: bench.Median(echoRSS)},
	)
	return nil
}

func spawnWait(bin string, env []string, args ...string) (time.Duration, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func spawnInitialize(bin string, env []string) (time.Duration, bench.Mem, error) {
	t0 := time.Now()
	p, err := bench.StartProc(bin, env, nil)
	if err != nil {
		return 0, bench.Mem{}, err
	}
	defer p.Close()
	if err := p.Send(bench.InitializeBody(0)); err != nil {
		return 0, bench.Mem{}, err
	}
	if _, err := p.ReadLine(); err != nil {
		return 0, bench.Mem{}, err
	}
	d := time.Since(t0)
	m, err := bench.ReadMem(p.Cmd.Process.Pid)
	return d, m, err
}

func spawnInitializeList(bin string, env []string) (time.Duration, time.Duration, bench.Mem, bench.Mem, error) {
	var m1, m2 bench.Mem
	t0 := time.Now()
	p, err := bench.StartProc(bin, env, nil)
	if err != nil {
		return 0, 0, m1, m2, err
	}
	defer p.Close()
	if err := p.Send(bench.InitializeBody(0)); err != nil {
		return 0, 0, m1, m2, err
	}
	line, err := p.ReadLine()
	if err != nil {
		return 0, 0, m1, m2, err
	}
	d := time.Since(t0)
	if err := bench.CheckResponse(line, 0); err != nil {
		return 0, 0, m1, m2, err
	}
	if m1, err = bench.ReadMem(p.Cmd.Process.Pid); err != nil {
		return 0, 0, m1, m2, err
	}
	p.Send(bench.InitializedNotification)
	p.Send(bench.ToolsListBody(1))
	if _, err := p.Response(1); err != nil {
		return 0, 0, m1, m2, err
	}
	d2 := time.Since(t0)
	m2, err = bench.ReadMem(p.Cmd.Process.Pid)
	return d, d2, m1, m2, err
}
