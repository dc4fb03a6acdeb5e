package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// 4 and 5. HTTP throughput and latency, and server memory under load.

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

// httpServer is one server under HTTP load.
type httpServer struct {
	name string
	url  string // the POST /mcp endpoint ("" for direct)
	pid  int
	runs map[int][]LoadResult // per concurrency level, one per round
}

func measureHTTP(c config, up *bench.Upstream, rep *Report) error {
	env := serverEnv(up.URL, "")
	var spawnedAll []*spawned
	defer func() {
		for _, sp := range spawnedAll {
			sp.stop()
		}
	}()
	spawn := func(bin, marker, end string, args ...string) (*spawned, error) {
		sp, err := spawnHTTP(bin, env, marker, end, args...)
		if err == nil {
			spawnedAll = append(spawnedAll, sp)
		}
		return sp, err
	}
	ours, err := spawn(c.bin, "serving MCP over HTTP at http://", "/mcp", "http", "--listen", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bare, err := spawn(c.bareBin, "listening on ", "", "http", "--listen", "127.0.0.1:0", "--tools", c.catalog)
	if err != nil {
		return err
	}
	raw, err := spawn(c.rawBin, "listening on ", "", "http", "--listen", "127.0.0.1:0")
	if err != nil {
		return err
	}
	servers := []*httpServer{
		{name: serverOurs, url: "http://" + ours.addr + "/mcp", pid: ours.cmd.Process.Pid},
		{name: serverBare, url: "http://" + bare.addr + "/mcp", pid: bare.cmd.Process.Pid},
		{name: serverRaw, url: "http://" + raw.addr + "/mcp", pid: raw.cmd.Process.Pid},
		{name: serverDirect},
	}
	time.Sleep(200 * time.Millisecond)
	cl := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, s := range servers[:2] {
		idle, err := bench.ReadMem(s.pid)
		if err != nil {
			return err
		}
		if err := post(cl, s.url, bench.Key(0), bench.ToolsListBody(1), 1); err != nil {
			return fmt.Errorf("%s tools/list: %w", s.name, err)
		}
		listed, _ := bench.ReadMem(s.pid)
		rep.Memory = append(rep.Memory,
			MemRow{Process: "http " + s.name, When: "idle, 200 ms after listening", RSSMB: bench.MB(idle.RSS), HWMMB: bench.MB(idle.HWM)},
			MemRow{Process: "http " + s.name, When: "after one tools/list", RSSMB: bench.MB(listed.RSS), HWMMB: bench.MB(listed.HWM)})
	}
	cl.CloseIdleConnections()

	body := bench.CallBody(1)
	directURL := up.URL + bench.UpstreamPath
	for _, s := range servers {
		s.runs = map[int][]LoadResult{}
	}
	for _, n := range c.levels {
		for r := range max(1, c.httpRounds) {
			for i := range servers {
				s := servers[(i+r)%len(servers)]
				do := func(cl *http.Client, i int) error { return post(cl, s.url, bench.Key(i), body, 1) }
				if s.name == serverDirect {
					do = func(cl *http.Client, i int) error { return get(cl, directURL, bench.Key(i)) }
				}
				s.runs[n] = append(s.runs[n], loadServer(n, c, s.pid, do))
			}
		}
		lvl := HTTPLevel{Clients: n}
		for _, s := range servers {
			lvl.Servers = append(lvl.Servers, summarizeRuns(s.name, s.runs[n]))
		}
		o, b := servers[0].runs[n], servers[1].runs[n]
		var ops, bps, o99, b99, ocpu, bcpu, orss, brss []float64
		for i := range o {
			ops, bps = append(ops, o[i].PerSecond), append(bps, b[i].PerSecond)
			o99, b99 = append(o99, float64(o[i].Lat.P99)), append(b99, float64(b[i].Lat.P99))
			ocpu, bcpu = append(ocpu, float64(o[i].ServerCPUPerCall)), append(bcpu, float64(b[i].ServerCPUPerCall))
			orss, brss = append(orss, o[i].PeakRSSMB), append(brss, b[i].PeakRSSMB)
		}
		lvl.RatioPerSecond, lvl.RatioP99 = pairedRatio(ops, bps), pairedRatio(o99, b99)
		lvl.RatioCPU, lvl.RatioRSS = pairedRatio(ocpu, bcpu), pairedRatio(orss, brss)
		rep.HTTP = append(rep.HTTP, lvl)
		m, bm := lvl.Servers[0], lvl.Servers[1]
		logf("  %d clients: miosa-mcp %.0f calls/s p99 %s ms, bare mcp-go %.0f/s p99 %s ms (×%.2f calls/s, ×%.2f p99); raw proxy %.0f/s; direct %.0f/s",
			n, m.PerSecond, ms(m.P99), bm.PerSecond, ms(bm.P99), lvl.RatioPerSecond, lvl.RatioP99, lvl.Servers[2].PerSecond, lvl.Servers[3].PerSecond)
	}
	return nil
}

// loadServer runs one load of n clients and reads the server's CPU time
// per call and its peak VmRSS (sampled every 50 ms) over it, with that
// sample's split into anonymous and file-backed memory.
func loadServer(n int, c config, pid int, do func(cl *http.Client, i int) error) LoadResult {
	var peak bench.Mem // written by the sampler only, read after wg.Wait
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var cpu0 time.Duration
	if pid != 0 {
		cpu0, _ = bench.CPUTime(pid)
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
					if m, err := bench.ReadMem(pid); err == nil && m.RSS > peak.RSS {
						peak = m
					}
				}
			}
		}()
	}
	lr := load(n, c.warmup, c.duration, do)
	close(stop)
	wg.Wait()
	if pid != 0 {
		if cpu1, err := bench.CPUTime(pid); err == nil && lr.AllCalls > 0 {
			lr.ServerCPUPerCall = (cpu1 - cpu0) / time.Duration(lr.AllCalls)
		}
		lr.PeakRSSMB, lr.PeakAnonMB, lr.PeakFileMB = bench.MB(peak.RSS), bench.MB(peak.Anon), bench.MB(peak.File)
	}
	return lr
}

// summarizeRuns is the median of each figure over a server's rounds.
func summarizeRuns(name string, runs []LoadResult) HTTPServerSummary {
	var ps, p50, p99, cpu, rss, anon, file []float64
	s := HTTPServerSummary{Server: name, Runs: runs}
	for _, r := range runs {
		ps = append(ps, r.PerSecond)
		p50 = append(p50, float64(r.Lat.P50))
		p99 = append(p99, float64(r.Lat.P99))
		cpu = append(cpu, float64(r.ServerCPUPerCall))
		rss = append(rss, r.PeakRSSMB)
		anon, file = append(anon, r.PeakAnonMB), append(file, r.PeakFileMB)
		s.Errors += r.Errors
		if s.FirstError == "" {
			s.FirstError = r.FirstError
		}
	}
	s.PerSecond, s.P50, s.P99 = bench.Median(ps), time.Duration(bench.Median(p50)), time.Duration(bench.Median(p99))
	s.CPUPerCall, s.PeakRSSMB = time.Duration(bench.Median(cpu)), bench.Median(rss)
	s.PeakAnonMB, s.PeakFileMB = bench.Median(anon), bench.Median(file)
	return s
}

// post sends one JSON-RPC request to the MCP endpoint and checks the answer.
func post(cl *http.Client, url, key string, body []byte, id int) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	status, b, err := send(cl, req, key)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.300s", status, b)
	}
	return bench.CheckResponse(bytes.TrimSpace(b), id)
}

// send performs req with the key as a bearer token and reads the whole body.
func send(cl *http.Client, req *http.Request, key string) (int, []byte, error) {
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
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
