package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The summary printed at the end of a run and results.md.

func ratio(f Figure) string {
	if f.Ratio == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", f.Ratio)
}

func result(f Figure) string {
	switch {
	case f.Met == nil:
		return ""
	case *f.Met:
		return "met"
	default:
		return "MISSED"
	}
}

func (r *Report) printSummary(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nmiosa-mcp benchmarks — %s, %d × %s, %s\nload average %s → %s; CPU pressure (some, avg10/avg60) %s → %s\n\n", m.Commit, m.NProc, m.CPU, m.GoVersion, m.LoadBefore, m.LoadAfter, m.PressureBefore, m.PressureAfter)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tMIOSA-MCP\tBARE MCP-GO\tRAW PROXY\tDIRECT\t÷ BARE\tTARGET\tRESULT")
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Measure, f.Ours, f.Bare, f.Raw, f.Direct, ratio(f), f.Target, result(f))
	}
	tw.Flush()
	for _, e := range r.Errors {
		fmt.Fprintf(w, "SECTION FAILED: %s\n", e)
	}
}

func (r *Report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "## Run %s\n\n", m.Date)
	fmt.Fprintf(&b, "- Machine: %d × %s (nproc %d), Linux %s\n- Go: %s\n- Commit: %s; binary %.1f MB\n- Load average (1/5/15 min): %s before, %s after\n- CPU pressure (PSI some, avg10 / avg60): %s before, %s after\n- Command: `benchdriver %s`\n\n",
		m.NProc, m.CPU, m.NProc, m.Kernel, m.GoVersion, m.Commit, float64(m.BinaryBytes)/1e6, m.LoadBefore, m.LoadAfter, m.PressureBefore, m.PressureAfter, strings.Join(m.Args, " "))

	b.WriteString("### Every figure beside its floors\n\n| Measure | miosa-mcp | bare mcp-go | raw proxy | direct | ÷ bare | target | result |\n|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, f := range r.Figures {
		res := result(f)
		if res == "MISSED" {
			res = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f.Measure, f.Ours, f.Bare, f.Raw, f.Direct, ratio(f), f.Target, res)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "\n**Section failed:** %s\n", e)
	}

	t := r.ToolsList
	b.WriteString("\n### 1. tools/list payload (cl100k tokens of the `result` object)\n\n| Selection | Tools | Result bytes | JSON-RPC line bytes | Tokens | Tokens/tool | % of all bytes |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range append([]Payload{t.WireAll, t.WireCore, t.Bare}, t.Toolsets...) {
		pct := ""
		if p.PercentOfAllBytes > 0 {
			pct = fmt.Sprintf("%.1f", p.PercentOfAllBytes)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.0f | %s |\n", p.Name, p.Tools, p.Bytes, p.LineBytes, p.Tokens, p.TokensPerTool, pct)
	}
	fmt.Fprintf(&b, "| reference: api/openapi.yaml as-is | 148 ops | %d | | %d | | |\n\n", t.SpecBytes, t.SpecToks)
	fmt.Fprintf(&b, "Wire figures come from the spawned binaries over stdio; per-toolset rows from the same catalog rendered in-process by mcp-go (in-process \"all\" equals the wire: %v).\n", t.WireAll.InProcessMatches)

	fmt.Fprintf(&b, "\n### 2. Cold start (ms; %d rounds, one spawn of each kind per round in random order)\n\n| What | n | min | p10 | p50 | p90 | p99 | max | note |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n", r.Cold.Rounds)
	for _, d := range r.Cold.Dists {
		s := d.Stats
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", d.Name, s.N, ms(s.Min), ms(s.P10), ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), d.Note)
	}
	fmt.Fprintf(&b, "\nmiosa-mcp ÷ bare mcp-go (median of the rounds' ratios): to the first tools/list %.2f×, to initialize %.2f×, RSS after initialize %.2f×.\n", r.Cold.RatioList, r.Cold.RatioInit, r.Cold.RatioIdleRSS)

	st := r.Stdio
	fmt.Fprintf(&b, "\n### 3. Per-call latency over stdio (µs; %d rounds of %d calls per server and call, servers in rotating order)\n\n", st.Rounds, st.CallsPerRound)
	b.WriteString("| Server | Call | p50 | added p50 | p99 (all calls) | added p99 | server CPU/call | p50 per round |\n|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, row := range st.Rows {
		var per []string
		for _, rs := range row.Rounds {
			per = append(per, us(rs.P50))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", row.Server, row.Call, us(row.P50), us(row.AddedP50), us(row.All.P99), us(row.AddedP99), us(row.CPUPerCall), strings.Join(per, " "))
	}
	fmt.Fprintf(&b, "\nAdded = p50 minus the direct call's p50 in the same round. Server CPU: all threads, /proc/PID/task/*/schedstat, over the round. The stdio hop alone (a line to bench/cmd/stdioecho and back): p50 %s µs, p99 %s µs. Upstream connections opened during the measured calls: %d.\n", us(st.EchoRoundTrip.P50), us(st.EchoRoundTrip.P99), st.UpstreamConns)
	for _, ra := range st.Ratios {
		fmt.Fprintf(&b, "%s call, miosa-mcp ÷ bare mcp-go (median of the rounds' ratios): added p50 %.2f×, CPU/call %.2f×.\n", ra.Call, ra.AddedP50, ra.CPUPerCall)
	}

	b.WriteString("\n### 4. HTTP (stateless POST /mcp tools/call computer_get; each client its own keep-alive connection and key; medians over the rounds)\n\n| Clients | Server | calls/s | p50 ms | p99 ms | errors | server CPU µs/call | peak RSS MB (anon + file) | calls/s per round |\n|---:|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, l := range r.HTTP {
		for _, s := range l.Servers {
			var per []string
			for _, run := range s.Runs {
				per = append(per, fmt.Sprintf("%.0f", run.PerSecond))
			}
			cpu, rss := us(s.CPUPerCall), fmt.Sprintf("%s (%s + %s)", mb(s.PeakRSSMB), mb(s.PeakAnonMB), mb(s.PeakFileMB))
			if s.Server == serverDirect {
				cpu, rss = "", ""
			}
			fmt.Fprintf(&b, "| %d | %s | %.0f | %s | %s | %d | %s | %s | %s |\n", l.Clients, s.Server, s.PerSecond, ms(s.P50), ms(s.P99), s.Errors, cpu, rss, strings.Join(per, " "))
		}
	}
	b.WriteString("\n")
	for _, l := range r.HTTP {
		fmt.Fprintf(&b, "%d clients, miosa-mcp ÷ bare mcp-go (median of the rounds' ratios): calls/s %.2f×, p99 %.2f×, CPU/call %.2f×, peak RSS %.2f×.\n", l.Clients, l.RatioPerSecond, l.RatioP99, l.RatioCPU, l.RatioRSS)
	}

	b.WriteString("\n### 5. Memory (MB = 10^6 bytes, from /proc/PID/status)\n\n| Process | When | VmRSS | VmHWM |\n|---|---|---:|---:|\n")
	for _, mr := range r.Memory {
		hwm := ""
		if mr.HWMMB > 0 {
			hwm = mb(mr.HWMMB)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mr.Process, mr.When, mb(mr.RSSMB), hwm)
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
