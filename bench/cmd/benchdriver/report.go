package main

import (
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// The report: what was measured and the machine it ran on (targets.go
// turns it into figures and targets, summary.go prints them).

// Report is everything one run measured.
type Report struct {
	Machine   Machine
	ToolsList ToolsList
	Cold      ColdResult
	Stdio     StdioResult
	HTTP      []HTTPLevel
	Memory    []MemRow
	Generate  []Dist
	Local     []LocalRow // local-file transfers (local.go)
	Figures   []Figure   // the summary: every figure beside its floors
	Targets   []Target
	Errors    []string `json:",omitempty"` // sections that failed
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
	Bare                Payload // the bare mcp-go floor serving the same catalog
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

// ColdResult is section 2: spawn times of miosa-mcp and the bare floor,
// one of each per round.
type ColdResult struct {
	Rounds int
	Dists  []Dist
	// Paired ratios miosa-mcp ÷ bare mcp-go (median over the rounds).
	RatioList, RatioInit, RatioIdleRSS float64
	OursIdleRSSMB, BareIdleRSSMB       float64
}

// StdioResult is section 3.
type StdioResult struct {
	Rounds, CallsPerRound int
	Rows                  []StdioRow
	Ratios                []StdioRatio // per call, to bare mcp-go
	EchoRoundTrip         bench.Summary
	// UpstreamConns counts upstream connections opened during the measured
	// calls (0 when every server kept its connection alive).
	UpstreamConns int64
}

// StdioRow is one server answering one call over stdio.
type StdioRow struct {
	Server, Call string
	// P50, AddedP50 (over the direct call of the same round) and CPUPerCall
	// are medians over the rounds; AddedP99 is over all calls.
	P50, AddedP50, AddedP99, CPUPerCall time.Duration
	All                                 bench.Summary
	Rounds                              []RoundStat
}

// RoundStat is one batch of calls.
type RoundStat struct {
	P50, P99, CPUPerCall time.Duration
}

// StdioRatio is miosa-mcp ÷ bare mcp-go for one call, the median of the
// rounds' ratios.
type StdioRatio struct {
	Call                 string
	AddedP50, CPUPerCall float64
}

// HTTPLevel is one concurrency level.
type HTTPLevel struct {
	Clients int
	Servers []HTTPServerSummary // miosa-mcp, bare mcp-go, raw proxy, direct
	// Paired ratios miosa-mcp ÷ bare mcp-go (median over the rounds).
	RatioPerSecond, RatioP99, RatioCPU, RatioRSS float64
}

// HTTPServerSummary is one server at one level: medians over its rounds.
type HTTPServerSummary struct {
	Server     string
	PerSecond  float64
	P50, P99   time.Duration
	CPUPerCall time.Duration
	PeakRSSMB  float64
	// PeakAnonMB and PeakFileMB are the medians of the runs' splits.
	PeakAnonMB, PeakFileMB float64
	Errors                 int
	FirstError             string `json:",omitempty"`
	Runs                   []LoadResult
}

// LoadResult is one load run.
type LoadResult struct {
	Calls    int // completed inside the measurement window
	AllCalls int // including warm-up (for CPU per call)
	// ServerCPUPerCall is the server process's CPU time per call.
	ServerCPUPerCall time.Duration
	PeakRSSMB        float64 // the server's peak VmRSS sampled during the run
	// PeakAnonMB and PeakFileMB split that sample: RssAnon (heap, stacks)
	// and RssFile (the binary's mapped pages).
	PeakAnonMB, PeakFileMB float64
	Errors                 int
	FirstError             string `json:",omitempty"`
	PerSecond              float64
	Lat                    bench.Summary
}

// MemRow is one memory reading in MB.
type MemRow struct {
	Process, When string
	RSSMB, HWMMB  float64
}

// Figure is one line of the summary: miosa-mcp beside its floors.
type Figure struct {
	Measure                 string
	Ours, Bare, Raw, Direct string  // formatted; "" = not measured
	Ratio                   float64 // miosa-mcp ÷ bare mcp-go; 0 = none
	Target                  string  `json:",omitempty"`
	Met                     *bool   `json:",omitempty"`
}

// Target is one issue-15 target and whether this run met it.
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
