package main

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// 2. Cold start: spawn to initialize and to the first tools/list, 151
// tools, beside the bare mcp-go floor serving the same catalog.

// coldKind is one thing spawned per cold-start round.
type coldKind struct {
	name string
	run  func() (time.Duration, error)
}

func measureCold(c config, env []string, rep *Report) error {
	var oursInit, oursList, bareInit, bareList, echoD, trueD, versionD []time.Duration
	var oursRSS, oursListRSS, bareRSS, bareListRSS, echoRSS []float64
	spawnBoth := func(bin string, init, list *[]time.Duration, rss, listRSS *[]float64, args ...string) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			d, l, m1, m2, err := spawnInitializeList(bin, env, args...)
			if err == nil {
				*list = append(*list, l)
				*rss = append(*rss, bench.MB(m1.RSS))
				*listRSS = append(*listRSS, bench.MB(m2.RSS))
				*init = append(*init, d)
			}
			return d, err
		}
	}
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
		{name: serverOurs, run: spawnBoth(c.bin, &oursInit, &oursList, &oursRSS, &oursListRSS)},
		{name: serverBare, run: spawnBoth(c.bareBin, &bareInit, &bareList, &bareRSS, &bareListRSS, "--tools", c.catalog)},
	}
	// Warm the page cache and the binaries once, then interleave the kinds in
	// a fresh random order each round so drift in machine load hits all alike.
	for _, k := range kinds {
		if _, err := k.run(); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	oursInit, oursList, bareInit, bareList = nil, nil, nil, nil
	oursRSS, oursListRSS, bareRSS, bareListRSS, echoRSS = nil, nil, nil, nil, nil
	for range c.coldRuns {
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
			}
		}
	}
	rep.Cold = ColdResult{
		Rounds:        c.coldRuns,
		RatioList:     pairedRatio(durations(oursList), durations(bareList)),
		RatioInit:     pairedRatio(durations(oursInit), durations(bareInit)),
		RatioIdleRSS:  pairedRatio(oursRSS, bareRSS),
		OursIdleRSSMB: bench.Median(oursRSS), BareIdleRSSMB: bench.Median(bareRSS),
		Dists: []Dist{
			{Name: "miosa-mcp: spawn → initialize → tools/list reply", Note: "stdio, 151 tools (the issue-15 measure)", Stats: bench.Summarize(oursList)},
			{Name: "floor: bare mcp-go: spawn → initialize → tools/list reply", Note: "bench/cmd/baremcp --tools (the same 151 tools)", Stats: bench.Summarize(bareList)},
			{Name: "miosa-mcp: spawn → initialize reply", Note: "", Stats: bench.Summarize(oursInit)},
			{Name: "floor: bare mcp-go: spawn → initialize reply", Note: "", Stats: bench.Summarize(bareInit)},
			{Name: "reference: Go stdio echo: spawn → reply", Note: "bench/cmd/stdioecho: a Go binary answering one JSON-RPC line", Stats: bench.Summarize(echoD)},
			{Name: "reference: miosa-mcp version: spawn → exit", Note: "same binary, no server", Stats: bench.Summarize(versionD)},
			{Name: "reference: /bin/true: spawn → exit", Note: "process creation", Stats: bench.Summarize(trueD)},
		},
	}
	rep.Memory = append(rep.Memory,
		MemRow{Process: "stdio miosa-mcp (cold-start runs, median)", When: "right after the initialize reply", RSSMB: bench.Median(oursRSS)},
		MemRow{Process: "stdio bare mcp-go (cold-start runs, median)", When: "right after the initialize reply", RSSMB: bench.Median(bareRSS)},
		MemRow{Process: "stdio miosa-mcp (cold-start runs, median)", When: "right after the first tools/list reply", RSSMB: bench.Median(oursListRSS)},
		MemRow{Process: "stdio bare mcp-go (cold-start runs, median)", When: "right after the first tools/list reply", RSSMB: bench.Median(bareListRSS)},
		MemRow{Process: "Go stdio echo (median)", When: "right after its reply", RSSMB: bench.Median(echoRSS)},
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

func spawnInitializeList(bin string, env []string, args ...string) (time.Duration, time.Duration, bench.Mem, bench.Mem, error) {
	var m1, m2 bench.Mem
	t0 := time.Now()
	p, err := bench.StartProc(bin, env, nil, args...)
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
