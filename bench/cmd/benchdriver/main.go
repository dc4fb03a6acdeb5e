// Command benchdriver measures miosa-mcp as users and operators feel it, in
// one run on one machine, each figure next to a baseline measured in the
// same run: tools/list size, cold start, per-call overhead over stdio, HTTP
// throughput and latency, memory, and generator wall time. It prints a
// summary table and writes results.json and results.md to --out.
//
//	go build -o bin/bench/benchdriver ./bench/cmd/benchdriver
//	go build -o bin/bench/stdioecho ./bench/cmd/stdioecho
//	bin/bench/benchdriver --bin bin/miosa-mcp
//
// The local upstream (a fake MIOSA API answering a fixed small JSON body)
// and every load generator run in this process; the server under test is
// always the spawned binary.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/api"
	"github.com/miosa-osa/miosa-mcp/bench"
	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/tokens"
)

// Targets from issue 7.
const (
	targetTokens       = 22_000
	targetColdStart    = 20 * time.Millisecond
	targetAddedP50     = 200 * time.Microsecond
	targetCallsPerSec  = 5_000
	targetHTTPP99      = 20 * time.Millisecond
	targetIdleRSSMB    = 30
	targetLoadRSSMB    = 80
	targetHTTPClientsN = 64
)

type config struct {
	bin, echoBin, repo, out string
	runs, calls             int
	warmup, duration        time.Duration
	levels                  []int
	skipGenerate            bool
	genRuns                 int
	only                    map[string]bool // sections to run (empty: all)
	strict                  bool
	noProxy                 bool
}

func (c config) want(section string) bool { return len(c.only) == 0 || c.only[section] }

func main() {
	var c config
	var levels string
	flag.StringVar(&c.bin, "bin", "bin/miosa-mcp", "the miosa-mcp binary under test")
	flag.StringVar(&c.echoBin, "echo-bin", "", "the stdioecho floor binary (default: next to this driver)")
	flag.StringVar(&c.repo, "repo", ".", "repository root (for the generator timing and the spec)")
	flag.StringVar(&c.out, "out", "bin/bench", "directory for results.json and results.md")
	flag.IntVar(&c.runs, "runs", 40, "cold-start runs per kind (>= 30)")
	flag.IntVar(&c.calls, "calls", 3000, "stdio calls measured per client kind")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "HTTP load warm-up per level")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "HTTP load measurement window per level")
	flag.StringVar(&levels, "levels", "1,16,64", "HTTP concurrency levels")
	flag.BoolVar(&c.skipGenerate, "skip-generate", false, "skip the generator timing")
	flag.IntVar(&c.genRuns, "gen-runs", 3, "generator runs (median)")
	flag.BoolVar(&c.strict, "strict", false, "exit 1 when a target is missed")
	flag.BoolVar(&c.noProxy, "no-proxy", false, "skip the minimal-proxy reference runs in the HTTP section")
	only := flag.String("only", "", "comma-separated sections to run: list,cold,stdio,http,generate (default: all)")
	flag.Parse()
	c.only = map[string]bool{}
	for _, s := range runtime.SplitList(*only) {
		c.only[s] = true
	}
	for _, s := range runtime.SplitList(levels) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fatalf("--levels: %q is not a positive integer", s)
		}
		c.levels = append(c.levels, n)
	}
	if c.echoBin == "" {
		exe, _ := os.Executable()
		c.echoBin = filepath.Join(filepath.Dir(exe), "stdioecho")
	}
	for _, p := range []*string{&c.bin, &c.echoBin} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			fatalf("%v", err)
		}
		if _, err := os.Stat(abs); err != nil {
			fatalf("%v (run scripts/bench.sh, which builds it)", err)
		}
		*p = abs
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		fatalf("%v", err)
	}
	rep, err := run(c)
	if err != nil {
		fatalf("%v", err)
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	os.WriteFile(filepath.Join(c.out, "results.json"), append(js, '\n'), 0o644)
	md := rep.markdown()
	os.WriteFile(filepath.Join(c.out, "results.md"), []byte(md), 0o644)
	rep.printSummary(os.Stdout)
	fmt.Printf("\nFull results: %s, %s\n", filepath.Join(c.out, "results.md"), filepath.Join(c.out, "results.json"))
	if len(rep.Errors) > 0 {
		os.Exit(1)
	}
	if c.strict {
		for _, t := range rep.Targets {
			if !t.Met {
				os.Exit(1)
			}
		}
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchdriver: "+format+"\n", a...)
	os.Exit(1)
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...) }

// Report is everything one run measured.
type Report struct {
	Machine   Machine
	ToolsList ToolsList
	Cold      []Dist // per kind
	Stdio     []Dist // per client kind
	StdioAdd  []Added
	// StdioUpstreamConns counts upstream connections opened during the
	// measured stdio calls (0 when every client kept its connection alive).
	StdioUpstreamConns int64
	// StdioServerCPUPerCall is the server process's CPU time (all threads)
	// per raw stdio call.
	StdioServerCPUPerCall time.Duration
	// StdioProxyCPUPerCall is the same for the minimal Go stdio-to-HTTP proxy.
	StdioProxyCPUPerCall time.Duration
	HTTP                 []Level
	Memory               []MemRow
	Generate             []Dist
	Targets              []Target
	Errors               []string `json:",omitempty"` // sections that failed
}

// Machine describes where and when the run happened.
type Machine struct {
	Date, CPU, GoVersion, Kernel, Commit string
	NProc                                int
	LoadBefore, LoadAfter                string
	PressureBefore, PressureAfter        string // /proc/pressure/cpu "some" avg10/avg60
	BinaryBytes                          int64
	Args                                 []string
}

// ToolsList is section 1.
type ToolsList struct {
	WireAll, WireCore   Payload
	Toolsets            []Payload
	SpecBytes, SpecToks int
}

// Payload is one tools/list result: the JSON-RPC line and its result object.
type Payload struct {
	Name              string
	Tools             int
	LineBytes, Bytes  int
	Tokens            int
	InProcessMatches  bool `json:",omitempty"`
	TokensPerTool     float64
	PercentOfAllBytes float64 `json:",omitempty"`
}

// Dist is a named latency distribution (durations in ns in JSON).
type Dist struct {
	Name  string
	Note  string
	Stats bench.Summary
}

// Added is a client kind's overhead over the direct request.
type Added struct {
	Name             string
	AddedP50         time.Duration
	AddedP99         time.Duration
	RatioP50         float64
	RatioP99         float64
	MCP, Direct      bench.Summary
	DirectName, Kind string
}

// Level is one HTTP concurrency level.
type Level struct {
	Clients            int
	MCP, Direct, Proxy LoadResult // Proxy: the minimal Go HTTP-to-HTTP proxy
}

// LoadResult is one load run.
type LoadResult struct {
	Calls    int // completed inside the measurement window
	AllCalls int // including warm-up (for CPU per call)
	// ServerCPUPerCall is the miosa-mcp process's CPU time per call.
	ServerCPUPerCall time.Duration
	Errors           int
	FirstError       string `json:",omitempty"`
	PerSecond        float64
	Lat              bench.Summary
}

// MemRow is one memory reading in MB.
type MemRow struct {
	Process, When string
	RSSMB, HWMMB  float64
}

// Target is one issue-7 target and whether this run met it.
type Target struct {
	Name, Want, Got string
	Met             bool
}

func run(c config) (*Report, error) {
	rep := &Report{Machine: machine(c)}
	up, err := bench.StartUpstream()
	if err != nil {
		return nil, err
	}
	defer up.Close()
	env := serverEnv(up.URL, bench.Key(0))

	sections := []struct {
		name, title string
		fn          func() error
	}{
		{"list", "1/6 tools/list payload", func() (err error) { rep.ToolsList, err = measureToolsList(c, env); return err }},
		{"cold", fmt.Sprintf("2/6 cold start (%d runs per kind)", c.runs), func() error { return measureCold(c, env, rep) }},
		{"stdio", fmt.Sprintf("3/6 per-call overhead over stdio (%d calls per kind)", c.calls), func() error { return measureStdio(c, env, up, rep) }},
		{"http", fmt.Sprintf("4-5/6 HTTP throughput and memory at %v clients (%s each)", c.levels, c.duration), func() error { return measureHTTP(c, up, rep) }},
		{"generate", fmt.Sprintf("6/6 generator wall time (%d runs)", c.genRuns), func() error { return measureGenerate(c, rep) }},
	}
	for _, s := range sections {
		if !c.want(s.name) || (s.name == "generate" && c.skipGenerate) {
			continue
		}
		logf("%s", s.title)
		if err := s.fn(); err != nil {
			logf("%s FAILED: %v", s.name, err)
			rep.Errors = append(rep.Errors, s.name+": "+err.Error())
		}
	}
	rep.Machine.LoadAfter = loadavg()
	rep.Machine.PressureAfter = cpuPressure()
	rep.evaluate()
	return rep, nil
}

func machine(c config) Machine {
	m := Machine{Date: time.Now().UTC().Format(time.RFC3339), NProc: goruntime.NumCPU(), LoadBefore: loadavg(), PressureBefore: cpuPressure(), Args: os.Args[1:]}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	} else {
		m.GoVersion = goruntime.Version()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = c.repo
	if out, err := cmd.Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	if fi, err := os.Stat(c.bin); err == nil {
		m.BinaryBytes = fi.Size()
	}
	return m
}

// cpuPressure is the share of time some runnable task waited for a CPU
// (Linux PSI), over the last 10 and 60 seconds.
func cpuPressure() string {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return "n/a"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "some ") {
			var a10, a60 string
			for _, f := range strings.Fields(l) {
				if v, ok := strings.CutPrefix(f, "avg10="); ok {
					a10 = v
				}
				if v, ok := strings.CutPrefix(f, "avg60="); ok {
					a60 = v
				}
			}
			return a10 + "% / " + a60 + "%"
		}
	}
	return "n/a"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// serverEnv is this process's environment without MIOSA_* variables, plus
// the upstream, a key and quiet logs.
func serverEnv(upstream, key string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MIOSA_") {
			env = append(env, kv)
		}
	}
	return append(env, "MIOSA_API_URL="+upstream, "MIOSA_API_KEY="+key, "MIOSA_LOG_LEVEL=error")
}

// ---------------------------------------------------------------- 1. tools/list

func measureToolsList(c config, env []string) (ToolsList, error) {
	var tl ToolsList
	var err error
	if tl.WireAll, err = wireToolsList(c.bin, env, "all (wire)"); err != nil {
		return tl, err
	}
	if tl.WireCore, err = wireToolsList(c.bin, env, "core profile (wire)", "--toolsets", "core"); err != nil {
		return tl, err
	}
	catalog := tools.All(nil)
	all, err := inProcessToolsList(catalog, "all")
	if err != nil {
		return tl, err
	}
	tl.WireAll.InProcessMatches = all.Bytes == tl.WireAll.Bytes && all.Tokens == tl.WireAll.Tokens
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

// wireToolsList asks the spawned binary for tools/list over stdio.
func wireToolsList(bin string, env []string, name string, args ...string) (Payload, error) {
	p, err := bench.StartProc(bin, env, nil, args...)
	if err != nil {
		return Payload{}, err
	}
	defer p.Close()
	if err := p.Initialize(); err != nil {
		return Payload{}, err
	}
	if err := p.Send(bench.ToolsListBody(1)); err != nil {
		return Payload{}, err
	}
	line, err := p.Response(1)
	if err != nil {
		return Payload{}, err
	}
	return payload(name, line)
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

// ---------------------------------------------------------------- 2. cold start

// coldKind is one thing spawned per cold-start round.
type coldKind struct {
	name, note string
	run        func() (time.Duration, error)
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

// ---------------------------------------------------------------- 3. stdio calls

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
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, bench.ComputerBody) {
		return fmt.Errorf("upstream answered %d: %.200s", resp.StatusCode, b)
	}
	return nil
}

// ---------------------------------------------------------------- 4+5. HTTP and memory

// spawned is a server process reached over HTTP.
type spawned struct {
	cmd  *exec.Cmd
	addr string // host:port
}

// spawnHTTP starts bin and waits for the stderr line that starts with
// marker, whose rest up to end (or the line's end) is the address.
func spawnHTTP(bin string, env []string, marker, end string, args ...string) (*spawned, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		found := false
		for sc.Scan() {
			l := sc.Text()
			i := strings.Index(l, marker)
			if found || i < 0 {
				if !found {
					logf("%s: %s", filepath.Base(bin), l)
				}
				continue
			}
			rest := l[i+len(marker):]
			if j := strings.Index(rest, end); end != "" && j > 0 {
				rest = rest[:j]
			}
			addr <- strings.TrimSpace(rest)
			found = true
		}
		if !found {
			close(addr)
		}
	}()
	sp := &spawned{cmd: cmd}
	select {
	case a, ok := <-addr:
		if !ok {
			sp.stop()
			return nil, fmt.Errorf("%s exited before listening", bin)
		}
		sp.addr = a
	case <-time.After(30 * time.Second):
		sp.stop()
		return nil, fmt.Errorf("%s did not report its address within 30 s", bin)
	}
	return sp, nil
}

// stop sends SIGINT and waits up to 5 s before killing.
func (sp *spawned) stop() {
	sp.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { sp.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		sp.cmd.Process.Kill()
		<-done
	}
}

func measureHTTP(c config, up *bench.Upstream, rep *Report) error {
	env := serverEnv(up.URL, "")
	srv, err := spawnHTTP(c.bin, env, "serving MCP over HTTP at http://", "/mcp", "http", "--listen", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.stop()
	direct := up.URL + bench.UpstreamPath
	proxy, err := spawnHTTP(c.echoBin, append(serverEnv(up.URL, bench.Key(0)), "STDIOECHO_GET="+direct, "STDIOECHO_HTTP=127.0.0.1:0"), "listening on ", "")
	if err != nil {
		return err
	}
	defer proxy.stop()
	pid := srv.cmd.Process.Pid
	mcpURL := "http://" + srv.addr + "/mcp"
	proxyURL := "http://" + proxy.addr + "/mcp"
	time.Sleep(200 * time.Millisecond)
	idle, err := bench.ReadMem(pid)
	if err != nil {
		return err
	}
	cl := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	if _, err := post(cl, mcpURL, bench.Key(0), bench.ToolsListBody(1), 1); err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	cl.CloseIdleConnections()
	listed, _ := bench.ReadMem(pid)
	rep.Memory = append(rep.Memory,
		MemRow{Process: "http miosa-mcp", When: "idle, 200 ms after listening", RSSMB: bench.MB(idle.RSS), HWMMB: bench.MB(idle.HWM)},
		MemRow{Process: "http miosa-mcp", When: "after one tools/list", RSSMB: bench.MB(listed.RSS), HWMMB: bench.MB(listed.HWM)},
	)

	body := bench.CallBody(1)
	for _, n := range c.levels {
		var peak atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if n == targetHTTPClientsN {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						if m, err := bench.ReadMem(pid); err == nil && m.RSS > peak.Load() {
							peak.Store(m.RSS)
						}
					}
				}
			}()
		}
		cpu0, _ := bench.CPUTime(pid)
		lm := load(n, c.warmup, c.duration, func(cl *http.Client, i int) error {
			_, err := post(cl, mcpURL, bench.Key(i), body, 1)
			return err
		})
		if cpu1, err := bench.CPUTime(pid); err == nil && lm.AllCalls > 0 {
			lm.ServerCPUPerCall = (cpu1 - cpu0) / time.Duration(lm.AllCalls)
		}
		close(stop)
		wg.Wait()
		if n == targetHTTPClientsN {
			m, _ := bench.ReadMem(pid)
			rep.Memory = append(rep.Memory, MemRow{Process: "http miosa-mcp", When: fmt.Sprintf("under the %d-client load (peak VmRSS sampled every 50 ms; VmHWM after)", n), RSSMB: bench.MB(peak.Load()), HWMMB: bench.MB(m.HWM)})
		}
		ld := load(n, c.warmup, c.duration, func(cl *http.Client, i int) error {
			return get(cl, direct, bench.Key(i))
		})
		var lp LoadResult
		if !c.noProxy {
			ppid := proxy.cmd.Process.Pid
			cpu0, _ := bench.CPUTime(ppid)
			lp = load(n, c.warmup, c.duration, func(cl *http.Client, i int) error {
				_, err := post(cl, proxyURL, bench.Key(i), body, 1)
				return err
			})
			if cpu1, err := bench.CPUTime(ppid); err == nil && lp.AllCalls > 0 {
				lp.ServerCPUPerCall = (cpu1 - cpu0) / time.Duration(lp.AllCalls)
			}
		}
		rep.HTTP = append(rep.HTTP, Level{Clients: n, MCP: lm, Direct: ld, Proxy: lp})
		logf("  %d clients: miosa-mcp %.0f calls/s p50 %s p99 %s µs (%d errors, %s µs CPU/call); minimal proxy %.0f/s p99 %s µs; direct %.0f/s p50 %s p99 %s µs",
			n, lm.PerSecond, us(lm.Lat.P50), us(lm.Lat.P99), lm.Errors, us(lm.ServerCPUPerCall), lp.PerSecond, us(lp.Lat.P99), ld.PerSecond, us(ld.Lat.P50), us(ld.Lat.P99))
	}
	return nil
}

// post sends one JSON-RPC request to the MCP endpoint and checks the answer.
func post(cl *http.Client, url, key string, body []byte, id int) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
	}
	if err := bench.CheckResponse(bytes.TrimSpace(b), id); err != nil {
		return nil, err
	}
	return b, nil
}

// load runs n clients, each with its own keep-alive connection, for
// warmup+dur and keeps the calls that completed inside the window.
func load(n int, warmup, dur time.Duration, do func(cl *http.Client, i int) error) LoadResult {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+dur)
	lats := make([][]time.Duration, n)
	alls := make([]int, n)
	errs := make([]int, n)
	firstErr := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true, IdleConnTimeout: time.Minute}
			cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			defer tr.CloseIdleConnections()
			lat := make([]time.Duration, 0, 1<<14)
			for {
				t0 := time.Now()
				if !t0.Before(to) {
					break
				}
				err := do(cl, i)
				t1 := time.Now()
				alls[i]++
				if t1.Before(from) || t1.After(to) {
					continue
				}
				if err != nil {
					errs[i]++
					if firstErr[i] == nil {
						firstErr[i] = err
					}
					continue
				}
				lat = append(lat, t1.Sub(t0))
			}
			lats[i] = lat
		}()
	}
	wg.Wait()
	var all []time.Duration
	r := LoadResult{}
	for i := range n {
		all = append(all, lats[i]...)
		r.Errors += errs[i]
		r.AllCalls += alls[i]
		if firstErr[i] != nil && r.FirstError == "" {
			r.FirstError = firstErr[i].Error()
		}
	}
	r.Calls = len(all)
	r.PerSecond = float64(len(all)) / dur.Seconds()
	r.Lat = bench.Summarize(all)
	return r
}

// ---------------------------------------------------------------- 6. generator

func measureGenerate(c config, rep *Report) error {
	tmp, err := os.MkdirTemp("", "miosa-bench-gen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	genBin := filepath.Join(tmp, "gen")
	timeCmd := func(okCodes []int, name string, args ...string) (time.Duration, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir = c.repo
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		d := time.Since(t0)
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				for _, ok := range okCodes {
					if ee.ExitCode() == ok {
						return d, nil
					}
				}
			}
			return d, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out.String())
		}
		return d, nil
	}
	build, err := timeCmd(nil, "go", "build", "-o", genBin, "./cmd/toolgen")
	if err != nil {
		return err
	}
	series := []struct {
		name, note string
		okCodes    []int
		args       []string
	}{
		{"go run ./cmd/toolgen -check", "what `make check-generate` runs; same generation work as `go generate ./...`, writes nothing", nil, []string{"go", "run", "./cmd/toolgen", "-check"}},
		{"prebuilt gen -check", "the generator alone, without the go command", nil, []string{genBin, "-check"}},
		{"baseline: go run ./cmd/toolgen -h", "go command + cached link + exec, no generation", []int{0, 1, 2}, []string{"go", "run", "./cmd/toolgen", "-h"}},
	}
	var dists []Dist
	for _, s := range series {
		if _, err := timeCmd(s.okCodes, s.args[0], s.args[1:]...); err != nil { // warm the build cache
			return err
		}
		var ds []time.Duration
		for range c.genRuns {
			d, err := timeCmd(s.okCodes, s.args[0], s.args[1:]...)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		dists = append(dists, Dist{Name: s.name, Note: s.note, Stats: bench.Summarize(ds)})
	}
	dists = append(dists, Dist{Name: "go build ./cmd/toolgen (once, cache as found)", Note: "compile cost a clean clone pays once", Stats: bench.Summarize([]time.Duration{build})})
	rep.Generate = dists
	return nil
}

// ---------------------------------------------------------------- targets and output

func (r *Report) evaluate() {
	add := func(name, want, got string, met bool) {
		r.Targets = append(r.Targets, Target{Name: name, Want: want, Got: got, Met: met})
	}
	if t := r.ToolsList.WireAll; t.Tools > 0 {
		add("tools/list tokens (all 151 tools)", "≤ 22,000", fmt.Sprintf("%d tokens (%d tools, %d bytes)", t.Tokens, t.Tools, t.Bytes), t.Tokens <= targetTokens)
	}
	if len(r.Cold) > 0 {
		cs := r.Cold[0].Stats
		add("cold start median (spawn → initialize reply)", "≤ 20 ms", fmt.Sprintf("%s ms (p10 %s, p90 %s)", ms(cs.P50), ms(cs.P10), ms(cs.P90)), cs.P50 <= targetColdStart && cs.N > 0)
	}
	if len(r.StdioAdd) > 0 {
		a := r.StdioAdd[0]
		add("added latency per stdio call, p50", "≤ 200 µs", fmt.Sprintf("%s µs (p99 %s µs, ×%.1f the direct GET)", us(a.AddedP50), us(a.AddedP99), a.RatioP50), a.AddedP50 <= targetAddedP50 && a.MCP.N > 0)
	}
	for _, l := range r.HTTP {
		if l.Clients == targetHTTPClientsN {
			add("HTTP calls/s at 64 clients", "≥ 5,000/s", fmt.Sprintf("%.0f/s (%d errors)", l.MCP.PerSecond, l.MCP.Errors), l.MCP.PerSecond >= targetCallsPerSec && l.MCP.Errors == 0)
			add("HTTP p99 at 64 clients", "≤ 20 ms", ms(l.MCP.Lat.P99)+" ms", l.MCP.Lat.P99 <= targetHTTPP99 && l.MCP.Lat.N > 0)
		}
	}
	var idle, loaded float64
	var idleWhich string
	for _, m := range r.Memory {
		if strings.HasPrefix(m.When, "idle") && m.RSSMB > idle {
			idle, idleWhich = m.RSSMB, m.Process
		}
		if strings.HasPrefix(m.When, "under the") {
			loaded = max(m.RSSMB, m.HWMMB)
		}
	}
	if idle > 0 {
		add("RSS idle", "≤ 30 MB", fmt.Sprintf("%.1f MB (%s; the larger of stdio and http)", idle, idleWhich), idle <= targetIdleRSSMB)
	}
	if loaded > 0 {
		add("RSS under the 64-client load", "≤ 80 MB", fmt.Sprintf("%.1f MB (max of sampled VmRSS and VmHWM)", loaded), loaded <= targetLoadRSSMB)
	}
}

func us(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) }
func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func (r *Report) printSummary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	m := r.Machine
	fmt.Fprintf(w, "\nmiosa-mcp benchmarks — %s, %d × %s, %s\nload average %s → %s; CPU pressure (some, avg10/avg60) %s → %s\n\n", m.Commit, m.NProc, m.CPU, m.GoVersion, m.LoadBefore, m.LoadAfter, m.PressureBefore, m.PressureAfter)
	fmt.Fprintln(tw, "MEASURE\tMIOSA-MCP\tBASELINE\tRATIO / ADDED")
	if t := r.ToolsList; t.WireAll.Tools > 0 {
		fmt.Fprintf(tw, "tools/list, all tools\t%d tok, %d B\tOpenAPI spec: %d tok\t%.1f%% of the spec\n", t.WireAll.Tokens, t.WireAll.Bytes, t.SpecToks, 100*float64(t.WireAll.Tokens)/float64(max(1, t.SpecToks)))
		fmt.Fprintf(tw, "tools/list, core profile\t%d tok, %d B\t\t%d tools\n", t.WireCore.Tokens, t.WireCore.Bytes, t.WireCore.Tools)
	}
	if len(r.Cold) == 5 {
		c := r.Cold
		fmt.Fprintf(tw, "cold start p50 (p10–p90), ms\t%s (%s–%s)\tGo echo %s; version %s; /bin/true %s\t+%s ms over Go echo\n",
			ms(c[0].Stats.P50), ms(c[0].Stats.P10), ms(c[0].Stats.P90), ms(c[2].Stats.P50), ms(c[3].Stats.P50), ms(c[4].Stats.P50), ms(c[0].Stats.P50-c[2].Stats.P50))
		fmt.Fprintf(tw, "cold start → first tools/list, ms\t%s\t\t\n", ms(c[1].Stats.P50))
	}
	if len(r.Stdio) == 5 {
		e := r.Stdio[3].Stats
		fmt.Fprintf(tw, "stdio pipe round trip to Go echo p50 / p99, µs\t\t%s / %s\t(reference)\n", us(e.P50), us(e.P99))
	}
	if r.StdioServerCPUPerCall > 0 {
		fmt.Fprintf(tw, "stdio server CPU per call, µs\t%s\tminimal proxy %s\t\n", us(r.StdioServerCPUPerCall), us(r.StdioProxyCPUPerCall))
	}
	for _, a := range r.StdioAdd {
		fmt.Fprintf(tw, "stdio call p50 / p99, µs (%s)\t%s / %s\tdirect GET %s / %s\t+%s / +%s µs (×%.1f)\n", a.Name, us(a.MCP.P50), us(a.MCP.P99), us(a.Direct.P50), us(a.Direct.P99), us(a.AddedP50), us(a.AddedP99), a.RatioP50)
	}
	for _, l := range r.HTTP {
		fmt.Fprintf(tw, "HTTP %d clients: calls/s, p50/p99 ms (server CPU/call)\t%.0f/s, %s/%s (%s µs)\tdirect %.0f/s, %s/%s; min. proxy %.0f/s, %s/%s\t%.0f%% of ceiling\n", l.Clients, l.MCP.PerSecond, ms(l.MCP.Lat.P50), ms(l.MCP.Lat.P99), us(l.MCP.ServerCPUPerCall), l.Direct.PerSecond, ms(l.Direct.Lat.P50), ms(l.Direct.Lat.P99), l.Proxy.PerSecond, ms(l.Proxy.Lat.P50), ms(l.Proxy.Lat.P99), 100*l.MCP.PerSecond/max(1, l.Direct.PerSecond))
	}
	for _, mr := range r.Memory {
		fmt.Fprintf(tw, "RSS MB: %s, %s\t%.1f\t\t\n", mr.Process, mr.When, mr.RSSMB)
	}
	for _, g := range r.Generate {
		fmt.Fprintf(tw, "generate: %s, median s\t%.2f\t\t\n", g.Name, g.Stats.P50.Seconds())
	}
	tw.Flush()
	for _, e := range r.Errors {
		fmt.Fprintf(w, "SECTION FAILED: %s\n", e)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tWANT\tMEASURED\tRESULT")
	for _, t := range r.Targets {
		res := "MET"
		if !t.Met {
			res = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Want, t.Got, res)
	}
	tw.Flush()
}

func (r *Report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "## Run %s\n\n", m.Date)
	fmt.Fprintf(&b, "- Machine: %d × %s (nproc %d), Linux %s\n- Go: %s\n- Commit: %s; binary %.1f MB\n- Load average (1/5/15 min): %s before, %s after\n- CPU pressure (PSI some, avg10 / avg60): %s before, %s after\n- Command: `benchdriver %s`\n\n",
		m.NProc, m.CPU, m.NProc, m.Kernel, m.GoVersion, m.Commit, float64(m.BinaryBytes)/1e6, m.LoadBefore, m.LoadAfter, m.PressureBefore, m.PressureAfter, strings.Join(m.Args, " "))

	b.WriteString("### Targets\n\n| Target | Want | Measured | Result |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		res := "met"
		if !t.Met {
			res = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, res)
	}

	t := r.ToolsList
	b.WriteString("\n### 1. tools/list payload (cl100k tokens of the `result` object)\n\n| Selection | Tools | Result bytes | JSON-RPC line bytes | Tokens | Tokens/tool | % of all bytes |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range append([]Payload{t.WireAll, t.WireCore}, t.Toolsets...) {
		pct := ""
		if p.PercentOfAllBytes > 0 {
			pct = fmt.Sprintf("%.1f", p.PercentOfAllBytes)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.0f | %s |\n", p.Name, p.Tools, p.Bytes, p.LineBytes, p.Tokens, p.TokensPerTool, pct)
	}
	fmt.Fprintf(&b, "| baseline: api/openapi.yaml as-is | 148 ops | %d | | %d | | |\n\n", t.SpecBytes, t.SpecToks)
	fmt.Fprintf(&b, "Wire figures come from the spawned binary over stdio; per-toolset rows from the same catalog rendered in-process by mcp-go (in-process \"all\" equals the wire: %v).\n", t.WireAll.InProcessMatches)

	dist := func(title, unit string, ds []Dist) {
		fmt.Fprintf(&b, "\n%s\n\n| What | n | min | p10 | p50 | p90 | p99 | max | note |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n", title)
		f := ms
		if unit == "µs" {
			f = us
		}
		for _, d := range ds {
			s := d.Stats
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", d.Name, s.N, f(s.Min), f(s.P10), f(s.P50), f(s.P90), f(s.P99), f(s.Max), d.Note)
		}
	}
	dist("### 2. Cold start (ms)", "ms", r.Cold)
	dist("### 3. Per-call latency over stdio (µs), computer_get against the local upstream", "µs", r.Stdio)
	fmt.Fprintf(&b, "\nServer CPU time per call (all threads, /proc/PID/task/*/schedstat): miosa-mcp %s µs, minimal Go stdio→HTTP proxy %s µs. Upstream connections opened during the measured calls: %d (keep-alive held).\n", us(r.StdioServerCPUPerCall), us(r.StdioProxyCPUPerCall), r.StdioUpstreamConns)
	b.WriteString("\n| Client | added p50 µs | added p99 µs | ratio p50 | ratio p99 |\n|---|---:|---:|---:|---:|\n")
	for _, a := range r.StdioAdd {
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %.2f |\n", a.Name, us(a.AddedP50), us(a.AddedP99), a.RatioP50, a.RatioP99)
	}
	b.WriteString("\n### 4. HTTP mode (stateless POST /mcp tools/call computer_get; each client its own keep-alive connection and key)\n\n| Clients | miosa-mcp calls/s | p50 ms | p99 ms | errors | server CPU µs/call | direct GET calls/s (ceiling) | p50 ms | p99 ms | % of ceiling | minimal Go proxy calls/s | p50 ms | p99 ms | proxy CPU µs/call |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.HTTP {
		fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %d | %s | %.0f | %s | %s | %.0f | %.0f | %s | %s | %s |\n", l.Clients, l.MCP.PerSecond, ms(l.MCP.Lat.P50), ms(l.MCP.Lat.P99), l.MCP.Errors, us(l.MCP.ServerCPUPerCall), l.Direct.PerSecond, ms(l.Direct.Lat.P50), ms(l.Direct.Lat.P99), 100*l.MCP.PerSecond/max(1, l.Direct.PerSecond), l.Proxy.PerSecond, ms(l.Proxy.Lat.P50), ms(l.Proxy.Lat.P99), us(l.Proxy.ServerCPUPerCall))
	}
	b.WriteString("\n### 5. Memory (MB = 10^6 bytes, from /proc/PID/status)\n\n| Process | When | VmRSS | VmHWM |\n|---|---|---:|---:|\n")
	for _, mr := range r.Memory {
		hwm := ""
		if mr.HWMMB > 0 {
			hwm = fmt.Sprintf("%.1f", mr.HWMMB)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %s |\n", mr.Process, mr.When, mr.RSSMB, hwm)
	}
	if len(r.Generate) > 0 {
		b.WriteString("\n### 6. Generator wall time (s)\n\n| What | n | min | p50 | max | note |\n|---|---:|---:|---:|---:|---|\n")
		for _, g := range r.Generate {
			s := g.Stats
			fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %s |\n", g.Name, s.N, s.Min.Seconds(), s.P50.Seconds(), s.Max.Seconds(), g.Note)
		}
	}
	return b.String()
}
