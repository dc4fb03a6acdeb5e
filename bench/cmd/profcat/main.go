// Command profcat sorts the samples of a pprof profile into the categories
// BENCHMARKS.md reports for miosa-mcp's per-call cost (the strict check, the
// upstream path, mcp-go, validation, result shaping, GC…), so that profiles
// taken before and after a change compare category by category:
//
//	profcat [-sample alloc_space] [-show CATEGORY] BINARY PROFILE
//
// -show prints the heaviest stacks of the categories whose names contain
// CATEGORY instead of the table.
//
// It reads `go tool pprof -traces`. Each sample goes to GC when its stack
// runs a collector worker or an assist; otherwise to the category of the
// innermost frame that names one (library frames such as encoding/json or
// syscalls count for the code that called them); otherwise to "Go runtime".
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// category names a share of the profile by the frames that own it.
type category struct {
	name string
	re   *regexp.Regexp
}

const rt = `miosa-mcp/internal/runtime\.`

// categories, matched against each frame from the leaf up; the first that
// matches a frame wins, so the order only matters for frames two could
// claim.
var categories = []category{
	{"strict check", regexp.MustCompile(rt + `(checkMessage|CheckMessage|vetEnvelope|refuse|\(\*scanner\))`)},
	{"validation", regexp.MustCompile(rt + `\(\*validator\)|santhosh-tekuri/jsonschema`)},
	{"upstream path (request, transport, response read)", regexp.MustCompile(`miosa-mcp/gen/client\.|` + rt + `(\(\*retryTransport\)|Editor|\(\*Server\)\.fetch|\(\*Server\)\.unusableBody|readFull|readJSONAnswer)|net/http\.\(\*(persistConn|Transport|Client)\)|net/http\.send$`)},
	{"result shaping and scrubbing", regexp.MustCompile(rt + `(\(\*Server\)\.(jsonResult|answerResult|textResult|imageResult)|pagingNote|\(\*Scrubber\)|scrub)`)},
	{"tool call pipeline (select, bind, execute)", regexp.MustCompile(rt + `(\(\*Server\)\.(execute|recoverTool)|NewServer\.\(\*Server\)\.handler|notificationFlush|withCallScope|\(\*Call\))|miosa-mcp/gen/tools\.`)},
	{"our stdio loop (read, queue, encode, write)", regexp.MustCompile(rt + `(\(\*stdioConn\)|\(\*Server\)\.ServeStdio)`)},
	{"our HTTP chain (recover, origin, auth, gate)", regexp.MustCompile(rt + `(\(\*gate\)|checkOrigin|SelectionFromHeaders|requestContext|\(\*Server\)\.HTTPHandler|\(\*ConnLimiter\))`)},
	{"mcp-go (transport, dispatch, encoding)", regexp.MustCompile(`mark3labs/mcp-go/`)},
	{"net/http server", regexp.MustCompile(`net/http\.(\(\*conn\)|\(\*response\)|\(\*connReader\)|\(\*Server\)|serverHandler|\(\*chunkWriter\)|readRequest)`)},
}

var gc = regexp.MustCompile(`^runtime\.(gcBgMarkWorker|bgsweep|bgscavenge|gcAssistAlloc|gcStart|markroot)`)

const other = "Go runtime (scheduler, timers, idle syscalls)"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("profcat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sample := fs.String("sample", "", "pprof sample index (heap profiles: alloc_space, inuse_space…)")
	show := fs.String("show", "", "print the heaviest stacks of the categories whose names contain this")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 {
		fmt.Fprintln(stderr, "usage: profcat [-sample INDEX] BINARY PROFILE")
		return 2
	}
	pargs := []string{"tool", "pprof", "-traces"}
	if *sample != "" {
		pargs = append(pargs, "-sample_index="+*sample)
	}
	out, err := exec.Command("go", append(pargs, fs.Arg(0), fs.Arg(1))...).Output()
	if err != nil {
		fmt.Fprintln(stderr, "profcat: go tool pprof:", err)
		return 1
	}
	samples, unit, err := parseTraces(out)
	if err != nil {
		fmt.Fprintln(stderr, "profcat:", err)
		return 1
	}
	if *show != "" {
		sort.Slice(samples, func(i, j int) bool { return samples[i].value > samples[j].value })
		n := 0
		for _, s := range samples {
			if c := classify(s.stack); strings.Contains(c, *show) && n < 20 {
				n++
				fmt.Fprintf(stdout, "%.1f %s  [%s]\n    %s\n", s.value, unit, c, strings.Join(s.stack[:min(len(s.stack), 12)], "\n    "))
			}
		}
		return 0
	}
	totals := map[string]float64{}
	for _, s := range samples {
		totals[classify(s.stack)] += s.value
	}
	var sum float64
	for _, v := range totals {
		sum += v
	}
	names := make([]string, 0, len(totals))
	for n := range totals {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return totals[names[i]] > totals[names[j]] })
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t%s\t%%\t\n", "category", unit)
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t\n", n, totals[n], 100*totals[n]/sum)
	}
	fmt.Fprintf(tw, "%s\t%.1f\t100.0\t\n", "total", sum)
	tw.Flush()
	return 0
}

// sample is one stack (leaf first) and its value, in ms (CPU) or MB
// (memory).
type sample struct {
	value float64
	stack []string
}

// parseTraces reads the samples of `pprof -traces` output.
func parseTraces(traces []byte) ([]sample, string, error) {
	var samples []sample
	unit := ""
	var value float64
	var stack []string
	flush := func() {
		if len(stack) > 0 {
			samples = append(samples, sample{value, stack})
		}
		stack, value = nil, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(traces))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	started := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			started = true
			continue
		}
		f := strings.Fields(line)
		if !started || len(f) == 0 || strings.HasSuffix(f[0], ":") {
			continue // the header, or a label line ("bytes: 512B")
		}
		// A value line has the value in the first 11 columns; the stack
		// continues indented past them.
		if len(line) > 11 && strings.TrimSpace(line[:11]) != "" {
			v, u, err := parseValue(f[0])
			if err != nil {
				return nil, "", fmt.Errorf("%q: %v", line, err)
			}
			value, unit = v, u
			stack = append(stack, f[1])
			continue
		}
		stack = append(stack, f[0])
	}
	flush()
	return samples, unit, sc.Err()
}

// classify names the category of one stack (leaf first).
func classify(stack []string) string {
	for _, fn := range stack {
		if gc.MatchString(fn) {
			return "GC (background marking, sweeping, assists)"
		}
	}
	for _, fn := range stack {
		for _, c := range categories {
			if c.re.MatchString(fn) {
				return c.name
			}
		}
	}
	return other
}

// parseValue reads a pprof value such as 10ms, 1.50s, 64.05kB or 0, in ms
// or MB.
func parseValue(s string) (float64, string, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, u := s, ""
	if i >= 0 {
		num, u = s[:i], s[i:]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, "", err
	}
	scale := map[string]struct {
		f    float64
		unit string
	}{
		"": {1, ""}, "ns": {1e-6, "ms"}, "us": {1e-3, "ms"}, "µs": {1e-3, "ms"}, "ms": {1, "ms"}, "s": {1e3, "ms"},
		"B": {1e-6, "MB"}, "kB": {1e-3, "MB"}, "MB": {1, "MB"}, "GB": {1e3, "MB"}, "TB": {1e6, "MB"},
	}[u]
	if scale.f == 0 {
		return 0, "", fmt.Errorf("unknown unit %q", u)
	}
	return v * scale.f, scale.unit, nil
}
