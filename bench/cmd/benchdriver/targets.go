package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
	"github.com/miosa-osa/miosa-mcp/gen/tools"
)

// The targets of issue #15, as ratios to the bare mcp-go floor measured in
// the same run.
const (
	targetStdioAddedP50 = 1.15 // stdio added latency p50, read call, at most
	targetStdioCPU      = 1.2  // stdio server CPU per call, read call, at most
	targetHTTPPerSecond = 0.9  // HTTP calls/s at targetHTTPClients, at least
	targetHTTPP99       = 1.15 // HTTP p99 at targetHTTPClients, at most
	targetLoadRSS       = 1.4  // peak RSS under targetHTTPClients, at most
	targetColdStart     = 1.3  // spawn → first tools/list with 151 tools, at most
	targetHTTPClients   = 64
)

// targetTokens is the tools/list budget of tools.yaml (all tools, as stdio
// serves them): the catalog may not grow past it unnoticed.
var targetTokens = tools.Budget.TotalTokens

// pairedRatio is the median of ours[i] ÷ floor[i]: runs made in the same
// round share the machine's state, so their ratio cancels most of its
// drift. 0 when there is nothing to pair.
func pairedRatio(ours, floor []float64) float64 {
	var r []float64
	for i := range min(len(ours), len(floor)) {
		if floor[i] > 0 {
			r = append(r, ours[i]/floor[i])
		}
	}
	return bench.Median(r)
}

func durations(d []time.Duration) []float64 {
	f := make([]float64, len(d))
	for i, v := range d {
		f[i] = float64(v)
	}
	return f
}

// evaluate builds the summary figures and checks the targets.
func (r *Report) evaluate() {
	fig := func(f Figure, want float64, atMost bool) {
		if want > 0 && f.Ratio > 0 {
			met := f.Ratio <= want
			if !atMost {
				met = f.Ratio >= want
			}
			op := "≤"
			if !atMost {
				op = "≥"
			}
			f.Target = fmt.Sprintf("%s %s× bare", op, strconv.FormatFloat(want, 'f', -1, 64))
			f.Met = &met
			r.Targets = append(r.Targets, Target{Name: f.Measure, Want: f.Target, Got: fmt.Sprintf("%.2f× (%s vs %s)", f.Ratio, f.Ours, f.Bare), Met: met})
		}
		r.Figures = append(r.Figures, f)
	}
	if t := r.ToolsList; t.WireAll.Tools > 0 {
		f := Figure{Measure: fmt.Sprintf("tools/list tokens (%d tools)", t.WireAll.Tools), Ours: strconv.Itoa(t.WireAll.Tokens), Bare: strconv.Itoa(t.Bare.Tokens),
			Direct: fmt.Sprintf("spec %d", t.SpecToks)}
		if t.Bare.Tokens > 0 {
			f.Ratio = float64(t.WireAll.Tokens) / float64(t.Bare.Tokens)
		}
		met := t.WireAll.Tokens <= targetTokens
		f.Target, f.Met = fmt.Sprintf("≤ %d tokens", targetTokens), &met
		r.Figures = append(r.Figures, f)
		r.Targets = append(r.Targets, Target{Name: f.Measure, Want: f.Target, Got: f.Ours + " tokens", Met: met})
	}
	if c := r.Cold; len(c.Dists) >= 4 {
		fig(Figure{Measure: "cold start → first tools/list p50, ms (151 tools)", Ours: ms(c.Dists[0].Stats.P50), Bare: ms(c.Dists[1].Stats.P50), Ratio: c.RatioList}, targetColdStart, true)
		fig(Figure{Measure: "cold start → initialize p50, ms", Ours: ms(c.Dists[2].Stats.P50), Bare: ms(c.Dists[3].Stats.P50), Ratio: c.RatioInit}, 0, true)
		fig(Figure{Measure: "RSS after initialize, MB (stdio)", Ours: mb(c.OursIdleRSSMB), Bare: mb(c.BareIdleRSSMB), Ratio: c.RatioIdleRSS}, 0, true)
	}
	for _, ratio := range r.Stdio.Ratios {
		row := func(server string) StdioRow {
			for _, x := range r.Stdio.Rows {
				if x.Server == server && x.Call == ratio.Call {
					return x
				}
			}
			return StdioRow{}
		}
		o, b, w, d := row(serverOurs), row(serverBare), row(serverRaw), row(serverDirect)
		wantP50, wantCPU := 0.0, 0.0
		if ratio.Call == callRead {
			wantP50, wantCPU = targetStdioAddedP50, targetStdioCPU
		}
		fig(Figure{Measure: "stdio added latency p50, µs, " + ratio.Call + " call", Ours: us(o.AddedP50), Bare: us(b.AddedP50), Raw: us(w.AddedP50), Direct: us(d.P50) + " (the call)", Ratio: ratio.AddedP50}, wantP50, true)
		p99 := 0.0
		if b.AddedP99 > 0 {
			p99 = float64(o.AddedP99) / float64(b.AddedP99)
		}
		fig(Figure{Measure: "stdio added latency p99, µs, " + ratio.Call + " call", Ours: us(o.AddedP99), Bare: us(b.AddedP99), Raw: us(w.AddedP99), Direct: us(d.All.P99) + " (the call)", Ratio: p99}, 0, true)
		fig(Figure{Measure: "stdio server CPU per call, µs, " + ratio.Call + " call", Ours: us(o.CPUPerCall), Bare: us(b.CPUPerCall), Raw: us(w.CPUPerCall), Ratio: ratio.CPUPerCall}, wantCPU, true)
	}
	for _, l := range r.HTTP {
		if len(l.Servers) < 4 {
			continue
		}
		o, b, w, d := l.Servers[0], l.Servers[1], l.Servers[2], l.Servers[3]
		wantPS, wantP99, wantRSS := 0.0, 0.0, 0.0
		if l.Clients == targetHTTPClients {
			wantPS, wantP99, wantRSS = targetHTTPPerSecond, targetHTTPP99, targetLoadRSS
		}
		errs := ""
		if o.Errors > 0 {
			errs = fmt.Sprintf(" (%d errors)", o.Errors)
		}
		fig(Figure{Measure: fmt.Sprintf("HTTP %d clients, calls/s", l.Clients), Ours: fmt.Sprintf("%.0f%s", o.PerSecond, errs), Bare: fmt.Sprintf("%.0f", b.PerSecond), Raw: fmt.Sprintf("%.0f", w.PerSecond), Direct: fmt.Sprintf("%.0f", d.PerSecond), Ratio: l.RatioPerSecond}, wantPS, false)
		fig(Figure{Measure: fmt.Sprintf("HTTP %d clients, p99 ms", l.Clients), Ours: ms(o.P99), Bare: ms(b.P99), Raw: ms(w.P99), Direct: ms(d.P99), Ratio: l.RatioP99}, wantP99, true)
		fig(Figure{Measure: fmt.Sprintf("HTTP %d clients, server CPU per call, µs", l.Clients), Ours: us(o.CPUPerCall), Bare: us(b.CPUPerCall), Raw: us(w.CPUPerCall), Ratio: l.RatioCPU}, 0, true)
		if l.Clients == targetHTTPClients {
			fig(Figure{Measure: fmt.Sprintf("RSS under the %d-client load, MB (peak)", l.Clients), Ours: mb(o.PeakRSSMB), Bare: mb(b.PeakRSSMB), Raw: mb(w.PeakRSSMB), Ratio: l.RatioRSS}, wantRSS, true)
		}
	}
	r.evaluateLocal()
}

// evaluateLocal adds the #12 figure: no 50 MiB local transfer grows the
// server's peak RSS by more than half the file.
func (r *Report) evaluateLocal() {
	var growth float64
	n := 0
	for _, l := range r.Local {
		if l.Bytes == localBigBytes && l.RSSGrowthMB >= 0 && !strings.HasPrefix(l.Name, "baseline") {
			growth, n = max(growth, l.RSSGrowthMB), n+1
		}
	}
	if n == 0 {
		return
	}
	met := growth <= targetLocalRSSMB
	f := Figure{Measure: "peak RSS growth during a 50 MiB local-file transfer, MB (#12)", Ours: fmt.Sprintf("%.1f (largest of %d)", growth, n),
		Target: fmt.Sprintf("≤ %d MB (half the file)", targetLocalRSSMB), Met: &met}
	r.Figures = append(r.Figures, f)
	r.Targets = append(r.Targets, Target{Name: f.Measure, Want: f.Target, Got: f.Ours, Met: met})
}

func us(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) }
func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }
func mb(v float64) string       { return strconv.FormatFloat(v, 'f', 1, 64) }
