package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// The report: what was measured, the machine it ran on, the targets and
// the summary and markdown output.

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
	Local                []LocalRow
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
	var local float64
	n := 0
	for _, l := range r.Local {
		if l.Bytes == localBigBytes && l.RSSGrowthMB >= 0 && !strings.HasPrefix(l.Name, "baseline") {
			local, n = max(local, l.RSSGrowthMB), n+1
		}
	}
	if n > 0 {
		add("peak RSS growth during a 50 MiB local-file transfer (#12)", fmt.Sprintf("≤ %d MB (half the file)", targetLocalRSSMB), fmt.Sprintf("%.1f MB (largest of %d transfers)", local, n), local <= targetLocalRSSMB)
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
	for _, l := range r.Local {
		fmt.Fprintf(tw, "local files: %s\t%s ms, %.0f MB/s%s\t\t\n", l.Name, ms(l.Median), l.MBPerSec, rssNote(l))
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
	if len(r.Local) > 0 {
		b.WriteString("\n### 7. Local-file transfers over stdio (against the mock in the driver; peak RSS growth = VmHWM after − VmRSS before, peak reset first)\n\n| Transfer | Files | MB | runs | median ms | MB/s | server peak RSS growth MB | note |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
		for _, l := range r.Local {
			g := "–"
			if l.RSSGrowthMB >= 0 {
				g = fmt.Sprintf("%.1f", l.RSSGrowthMB)
			}
			fmt.Fprintf(&b, "| %s | %d | %.1f | %d | %s | %.0f | %s | %s |\n", l.Name, l.Files, float64(l.Bytes)/1e6, l.Runs, ms(l.Median), l.MBPerSec, g, l.Note)
		}
	}
	return b.String()
}

func rssNote(l LocalRow) string {
	if l.RSSGrowthMB < 0 {
		return ""
	}
	return fmt.Sprintf(", peak RSS +%.1f MB", l.RSSGrowthMB)
}
