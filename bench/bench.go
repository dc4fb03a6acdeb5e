// Package bench holds what the benchmark driver (bench/cmd/benchdriver) and
// the in-process testing.B benchmarks share: the fixed local upstream, the
// request bodies, a raw JSON-RPC stdio client, latency statistics and
// /proc memory readings. See BENCHMARKS.md for what is measured and why.
package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ComputerID is the id every benchmark call reads.
const ComputerID = "cmp_bench_0001"

// UpstreamPath is the API path computer_get requests (under /api/v1).
const UpstreamPath = "/api/v1/computers/" + ComputerID

// ComputerBody is the fixed small JSON the local upstream answers.
var ComputerBody = []byte(`{"data":{"id":"cmp_bench_0001","name":"bench","status":"running","template":"miosa-desktop","size":"small","region":"us-east-1","ip":"10.0.0.7","created_at":"2026-01-01T00:00:00Z"}}`)

// EnvPath is the API path env_set posts to (under /api/v1), the write call.
const EnvPath = UpstreamPath + "/env"

// EnvBody is the fixed small JSON the local upstream answers to env_set.
var EnvBody = []byte(`{"data":{"name":"BENCH_VAR","value":"on","updated_at":"2026-01-01T00:00:00Z"}}`)

// Key returns a distinct, well-formed bench API key for client i.
func Key(i int) string { return fmt.Sprintf("msk_u_bench_client_%03d_0123456789abcdef", i) }

// CallBody is the JSON-RPC tools/call request for computer_get with id n.
func CallBody(n int) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(n) + `,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"` + ComputerID + `"}}}`)
}

// EnvSetBody is the JSON-RPC tools/call request for env_set (the write
// call: a JSON body POSTed upstream) with id n.
func EnvSetBody(n int) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(n) + `,"method":"tools/call","params":{"name":"env_set","arguments":{"computer_id":"` + ComputerID + `","name":"BENCH_VAR","value":"on"}}}`)
}

// InitializeBody is the JSON-RPC initialize request with id n.
func InitializeBody(n int) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(n) + `,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"miosa-bench","version":"0"}}}`)
}

// InitializedNotification follows a successful initialize.
var InitializedNotification = []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

// ToolsListBody is the JSON-RPC tools/list request with id n.
func ToolsListBody(n int) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(n) + `,"method":"tools/list","params":{}}`)
}

// UpstreamHandler answers GET UpstreamPath with ComputerBody, a POST of a
// JSON object to EnvPath with EnvBody, and anything else with a JSON 404,
// like the MIOSA API. It does no other work, so its cost is the floor every
// measured path shares.
func UpstreamHandler() http.Handler {
	clen, elen := strconv.Itoa(len(ComputerBody)), strconv.Itoa(len(EnvBody))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		authorized := r.Header.Get("Authorization") != ""
		switch {
		case r.Method == http.MethodGet && r.URL.Path == UpstreamPath && authorized:
			h["Content-Length"] = []string{clen}
			w.Write(ComputerBody)
			return
		case r.Method == http.MethodPost && r.URL.Path == EnvPath && authorized:
			b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err == nil && len(b) > 0 && b[0] == '{' {
				h["Content-Length"] = []string{elen}
				w.Write(EnvBody)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"code":"not_found","message":"not found"}}`)
	})
}

// Upstream is the local fake MIOSA API, served on a loopback port.
type Upstream struct {
	URL   string       // http://127.0.0.1:PORT (no /api/v1)
	Conns atomic.Int64 // TCP connections accepted so far (keep-alive check)
	srv   *http.Server
}

// StartUpstream serves UpstreamHandler on 127.0.0.1 with keep-alive.
func StartUpstream() (*Upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &Upstream{URL: "http://" + ln.Addr().String()}
	u.srv = &http.Server{Handler: UpstreamHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				u.Conns.Add(1)
			}
		}}
	go u.srv.Serve(ln)
	return u, nil
}

// Close stops the upstream.
func (u *Upstream) Close() error { return u.srv.Close() }

// Proc is a spawned MCP server spoken to with raw JSON-RPC lines.
type Proc struct {
	Cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// StartProc spawns bin with args and env and connects to its stdin/stdout.
// stderr goes to errw (nil: discarded).
func StartProc(bin string, env []string, errw io.Writer, args ...string) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = errw
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Proc{Cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}, nil
}

// Send writes one JSON-RPC message and its newline.
func (p *Proc) Send(msg []byte) error {
	b := make([]byte, 0, len(msg)+1)
	b = append(append(b, msg...), '\n')
	_, err := p.in.Write(b)
	return err
}

// ReadLine returns the next stdout line without its newline.
func (p *Proc) ReadLine() ([]byte, error) {
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// Response reads lines until the response with the given id, skipping
// notifications and server requests; it fails on a JSON-RPC error.
func (p *Proc) Response(id int) ([]byte, error) {
	for {
		line, err := p.ReadLine()
		if err != nil {
			return nil, err
		}
		if err := CheckResponse(line, id); err != nil {
			if errors.Is(err, errNotThisID) {
				continue
			}
			return nil, err
		}
		return line, nil
	}
}

var errNotThisID = errors.New("not the awaited response")

// CheckResponse verifies that line is the successful JSON-RPC response with
// the given id and, for tool results, that isError is not set.
func CheckResponse(line []byte, id int) error {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Result *struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return fmt.Errorf("not JSON-RPC: %v: %.200s", err, line)
	}
	if m.Method != "" || string(m.ID) != strconv.Itoa(id) {
		return errNotThisID
	}
	if m.Error != nil {
		return fmt.Errorf("JSON-RPC error %d: %s", m.Error.Code, m.Error.Message)
	}
	if m.Result == nil {
		return fmt.Errorf("response without result: %.200s", line)
	}
	if m.Result.IsError {
		t := ""
		if len(m.Result.Content) > 0 {
			t = m.Result.Content[0].Text
		}
		return fmt.Errorf("tool error: %.300s", t)
	}
	return nil
}

// Close closes stdin (the server exits on EOF), waits up to 5 s, then kills.
func (p *Proc) Close() error {
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		p.Cmd.Process.Kill()
		<-done
		return errors.New("did not exit within 5 s of stdin closing; killed")
	}
}

// Initialize performs the MCP handshake (id 0).
func (p *Proc) Initialize() error {
	if err := p.Send(InitializeBody(0)); err != nil {
		return err
	}
	if _, err := p.Response(0); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	return p.Send(InitializedNotification)
}

// Mem is a process's resident memory from /proc/PID/status, in KiB.
type Mem struct {
	RSS, HWM int64
	// Anon and File split RSS into anonymous memory (heap, stacks) and
	// file-backed pages (mostly the binary's own mapped pages); RssShmem,
	// the third part, is zero for these servers.
	Anon, File int64
}

// MB renders KiB as MB (10^6 bytes), the unit the targets use.
func MB(kib int64) float64 { return float64(kib) * 1024 / 1e6 }

// ReadMem reads VmRSS, VmHWM, RssAnon and RssFile of pid (KiB).
func ReadMem(pid int) (Mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, err
	}
	var m Mem
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		case "RssAnon":
			m.Anon = n
		case "RssFile":
			m.File = n
		}
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("no VmRSS for pid %d", pid)
	}
	return m, nil
}

// Summary is the distribution of a sample of durations.
type Summary struct {
	N                                 int
	Min, P10, P50, P90, P99, Max, Avg time.Duration
}

// Summarize sorts a copy of d and reads nearest-rank percentiles.
func Summarize(d []time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return Summary{
		N: len(s), Min: s[0], Max: s[len(s)-1], Avg: sum / time.Duration(len(s)),
		P10: Percentile(s, 10), P50: Percentile(s, 50), P90: Percentile(s, 90), P99: Percentile(s, 99),
	}
}

// Percentile returns the nearest-rank p-th percentile of sorted s.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// Median of float64 values (the mean of the middle two for even counts).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// CPUTime is the CPU time all threads of pid have used so far, from
// /proc/PID/task/*/schedstat (nanosecond resolution). Threads that already
// exited are not counted; Go keeps its threads, so deltas are accurate.
func CPUTime(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			total += n
		}
	}
	return time.Duration(total), nil
}

// ResetPeak resets pid's VmHWM to its current RSS (clear_refs 5, Linux
// 4.0+), so the next ReadMem's HWM is the peak since now.
func ResetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
