// Command benchdriver measures miosa-mcp as users and operators feel it, in
// one run on one machine, each figure next to a baseline measured in the
// same run: tools/list size, cold start, per-call overhead over stdio, HTTP
// throughput and latency, memory, generator wall time, and local-file
// transfers. It prints a
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
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
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
	only := flag.String("only", "", "comma-separated sections to run: list,cold,stdio,http,generate,local (default: all)")
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
		{"list", "1/7 tools/list payload", func() (err error) { rep.ToolsList, err = measureToolsList(c, env); return err }},
		{"cold", fmt.Sprintf("2/7 cold start (%d runs per kind)", c.runs), func() error { return measureCold(c, env, rep) }},
		{"stdio", fmt.Sprintf("3/7 per-call overhead over stdio (%d calls per kind)", c.calls), func() error { return measureStdio(c, env, up, rep) }},
		{"http", fmt.Sprintf("4-5/7 HTTP throughput and memory at %v clients (%s each)", c.levels, c.duration), func() error { return measureHTTP(c, up, rep) }},
		{"generate", fmt.Sprintf("6/7 generator wall time (%d runs)", c.genRuns), func() error { return measureGenerate(c, rep) }},
		{"local", "7/7 local-file transfers (50 MiB both ways, a 200-file tree)", func() error { return measureLocal(c, rep) }},
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
