// Command benchdriver measures miosa-mcp as users and operators feel it,
// each figure beside its floors measured in the same run on the same
// machine against the same local upstream (issue #15):
//
//   - bare mcp-go: bench/cmd/baremcp, a mark3labs/mcp-go server with the same
//     two calls (computer_get, a read; env_set, a write) and the same catalog;
//   - raw proxy: bench/cmd/rawproxy, the same calls with no MCP library;
//   - direct: the upstream request itself, from this process.
//
// Runs of the servers are interleaved (ours, floor, ours, floor…) in rounds,
// so that drift in machine load hits all of them alike; figures are medians
// over the rounds and ratios are medians of the rounds' paired ratios. It
// prints a summary (every figure, its floors, the ratio to bare mcp-go and
// the issue-15 target) and writes results.json and results.md to --out.
//
//	go build -o bin/bench/ ./bench/cmd/...
//	bin/bench/benchdriver --bin bin/miosa-mcp
//
// The upstream (a fake MIOSA API answering fixed small JSON bodies) and
// every load generator run in this process; the servers are spawned.
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

type config struct {
	bin, bareBin, rawBin, echoBin string
	repo, out                     string
	catalog                       string // miosa-mcp's tools/list result, for baremcp --tools
	coldRuns, calls, stdioRounds  int
	httpRounds                    int
	warmup, duration              time.Duration
	levels                        []int
	skipGenerate                  bool
	genRuns                       int
	only                          map[string]bool // sections to run (empty: all)
	strict                        bool
}

func (c config) want(section string) bool { return len(c.only) == 0 || c.only[section] }

func main() {
	var c config
	var levels string
	flag.StringVar(&c.bin, "bin", "bin/miosa-mcp", "the miosa-mcp binary under test")
	flag.StringVar(&c.bareBin, "bare-bin", "", "the bare mcp-go floor (default: baremcp next to this driver)")
	flag.StringVar(&c.rawBin, "raw-bin", "", "the raw-proxy floor (default: rawproxy next to this driver)")
	flag.StringVar(&c.echoBin, "echo-bin", "", "the stdio echo (default: stdioecho next to this driver)")
	flag.StringVar(&c.repo, "repo", ".", "repository root (for the generator timing and the spec)")
	flag.StringVar(&c.out, "out", "bin/bench", "directory for results.json and results.md")
	flag.IntVar(&c.coldRuns, "runs", 30, "cold-start rounds (one spawn of each kind per round)")
	flag.IntVar(&c.calls, "calls", 3000, "stdio calls measured per server and call, over all rounds")
	flag.IntVar(&c.stdioRounds, "stdio-rounds", 10, "interleaved stdio rounds")
	flag.IntVar(&c.httpRounds, "http-rounds", 3, "interleaved HTTP rounds per concurrency level")
	flag.DurationVar(&c.warmup, "warmup", 500*time.Millisecond, "HTTP load warm-up per run")
	flag.DurationVar(&c.duration, "duration", 2*time.Second, "HTTP load measurement window per run")
	flag.StringVar(&levels, "levels", "1,16,64", "HTTP concurrency levels")
	flag.BoolVar(&c.skipGenerate, "skip-generate", false, "skip the generator timing")
	flag.IntVar(&c.genRuns, "gen-runs", 3, "generator runs (median)")
	flag.BoolVar(&c.strict, "strict", false, "exit 1 when a target is missed")
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
	exe, _ := os.Executable()
	for _, p := range []struct {
		path *string
		name string
	}{{&c.bareBin, "baremcp"}, {&c.rawBin, "rawproxy"}, {&c.echoBin, "stdioecho"}} {
		if *p.path == "" {
			*p.path = filepath.Join(filepath.Dir(exe), p.name)
		}
	}
	for _, p := range []*string{&c.bin, &c.bareBin, &c.rawBin, &c.echoBin} {
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
	os.WriteFile(filepath.Join(c.out, "results.md"), []byte(rep.markdown()), 0o644)
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

	// The bare floor serves miosa-mcp's own catalog (--tools), so that
	// start-up and tools/list compare the same 151 tools.
	line, err := wireToolsList(c.bin, env)
	if err != nil {
		return nil, fmt.Errorf("tools/list of %s: %w", c.bin, err)
	}
	var m struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, err
	}
	c.catalog = filepath.Join(c.out, "tools.json")
	if err := os.WriteFile(c.catalog, m.Result, 0o644); err != nil {
		return nil, err
	}

	sections := []struct {
		name, title string
		fn          func() error
	}{
		{"list", "1/6 tools/list payload", func() (err error) { rep.ToolsList, err = measureToolsList(c, env, line); return err }},
		{"cold", fmt.Sprintf("2/6 cold start (%d interleaved rounds)", c.coldRuns), func() error { return measureCold(c, env, rep) }},
		{"stdio", fmt.Sprintf("3/6 per-call overhead over stdio (%d calls per server and call, %d rounds)", c.calls, c.stdioRounds), func() error { return measureStdio(c, env, up, rep) }},
		{"http", fmt.Sprintf("4-5/6 HTTP throughput and memory at %v clients (%d rounds of %s)", c.levels, c.httpRounds, c.duration), func() error { return measureHTTP(c, up, rep) }},
		{"generate", fmt.Sprintf("6/6 generator wall time (%d runs)", c.genRuns), func() error { return measureGenerate(c, rep) }},
		{"local", "local-file transfers (50 MiB both ways, a 200-file tree; #12)", func() error { return measureLocal(c, rep) }},
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
// the upstream, a key (unless empty) and quiet logs.
func serverEnv(upstream, key string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MIOSA_") {
			env = append(env, kv)
		}
	}
	env = append(env, "MIOSA_API_URL="+upstream, "MIOSA_LOG_LEVEL=error")
	if key != "" {
		env = append(env, "MIOSA_API_KEY="+key)
	}
	return env
}
