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
	"sync/atomic"
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
	if err := post(cl, mcpURL, bench.Key(0), bench.ToolsListBody(1), 1); err != nil {
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
			return post(cl, mcpURL, bench.Key(i), body, 1)
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
				return post(cl, proxyURL, bench.Key(i), body, 1)
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
