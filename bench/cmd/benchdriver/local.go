package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/bench"
	"github.com/miosa-osa/miosa-mcp/internal/mock"
)

// 7. Local-file transfers (issue #12): the spawned server moves a 50 MiB
// file and a 200-file tree between a local directory and the mock API
// (served in this process, so the server's memory is its own) with
// local_path and save_to. Baselines in the same run: the same 50 MiB as
// inline base64 content (what a model would have to produce without a
// local path), and the same JSON body POSTed by this process straight to
// the mock (the floor).

const (
	localBigBytes  = 50 << 20
	localTreeFiles = 200
	localTreeBytes = 8 << 10 // per file
	localRuns      = 3
	// targetLocalRSSMB: peak RSS growth during a 50 MiB transfer, at most
	// half the file (issue #12: "well under the file size").
	targetLocalRSSMB = 26
)

// LocalRow is one local-file transfer: the median time and the largest
// peak-RSS growth over its runs.
type LocalRow struct {
	Name        string
	Bytes       int64
	Files       int
	Runs        int
	Median      time.Duration
	MBPerSec    float64
	RSSGrowthMB float64 // VmHWM after − VmRSS before, the peak reset first
	Note        string
}

func measureLocal(c config, rep *Report) error {
	m, err := mock.New(mock.Options{ReadyAfter: mock.Immediately})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	api := "http://" + ln.Addr().String()

	dir, err := os.MkdirTemp("", "miosa-bench-local-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bigSum, err := randomFile(filepath.Join(dir, "big.bin"), localBigBytes)
	if err != nil {
		return err
	}
	for i := range localTreeFiles {
		if _, err := randomFile(filepath.Join(dir, "dist", fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%03d.js", i)), localTreeBytes); err != nil {
			return err
		}
	}

	env := serverEnv(api, bench.Key(0))
	var cmd *exec.Cmd
	tr := transport.NewStdioWithOptions(c.bin, nil, nil,
		transport.WithCommandFunc(func(_ context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd = exec.Command(command, args...)
			cmd.Env, cmd.Dir, cmd.Stderr = env, dir, io.Discard
			return cmd, nil
		}))
	mc := mcpclient.NewClient(tr)
	ctx := context.Background()
	if err := mc.Start(ctx); err != nil {
		return err
	}
	defer mc.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "miosa-bench", Version: "0"}
	if _, err := mc.Initialize(ctx, init); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	callTool := func(name string, args map[string]any) (*mcp.CallToolResult, error) {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = name, args
		res, err := mc.CallTool(ctx, req)
		if err == nil && res.IsError {
			err = fmt.Errorf("%s: %v", name, res.Content)
		}
		return res, err
	}
	res, err := callTool("sandbox_create", map[string]any{"wait": true})
	if err != nil {
		return err
	}
	var sbx struct {
		Data struct{ ID string } `json:"data"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if json.Unmarshal(b, &sbx); sbx.Data.ID == "" {
		return fmt.Errorf("sandbox_create: no id in %s", b)
	}
	id := sbx.Data.ID
	if _, err := callTool("storage_bucket_create", map[string]any{"name": "bench"}); err != nil {
		return err
	}
	// Warm-up: every path once, small.
	os.WriteFile(filepath.Join(dir, "small.txt"), []byte("warm-up"), 0o644)
	for _, w := range []struct {
		name string
		args map[string]any
	}{
		{"sandbox_upload", map[string]any{"id": id, "path": "/workspace/small.txt", "local_path": "small.txt"}},
		{"sandbox_read_file", map[string]any{"id": id, "path": "workspace/small.txt", "save_to": "out/small.txt"}},
		{"storage_object_upload", map[string]any{"bucket": "bench", "key": "small.txt", "local_path": "small.txt"}},
		{"storage_object_download", map[string]any{"bucket": "bench", "key": "small.txt", "save_to": "out/small-raw.txt"}},
	} {
		if _, err := callTool(w.name, w.args); err != nil {
			return err
		}
	}

	// measure runs fn localRuns times (once when once), each with the
	// peak reset first.
	measure := func(name, note string, bytes int64, files int, once bool, fn func() error) error {
		runs := localRuns
		if once {
			runs = 1
		}
		var times []time.Duration
		var growth int64
		for range runs {
			bench.ResetPeak(pid)
			before, err := bench.ReadMem(pid)
			if err != nil {
				return err
			}
			t0 := time.Now()
			if err := fn(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			times = append(times, time.Since(t0))
			after, _ := bench.ReadMem(pid)
			growth = max(growth, after.HWM-max(before.RSS, before.HWM))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		med := times[len(times)/2]
		rep.Local = append(rep.Local, LocalRow{Name: name, Bytes: bytes, Files: files, Runs: runs, Median: med,
			MBPerSec: float64(bytes) / 1e6 / med.Seconds(), RSSGrowthMB: bench.MB(max(0, growth)), Note: note})
		logf("  %s: %v, peak RSS +%.1f MB", name, med.Round(time.Millisecond), bench.MB(max(0, growth)))
		return nil
	}
	check := func(p, want string) error {
		got, err := fileSum(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: sha256 %s, want %s", p, got, want)
		}
		return nil
	}
	steps := []struct {
		name, note string
		bytes      int64
		files      int
		once       bool
		fn         func() error
	}{
		{"sandbox_upload local_path, 50 MiB", "base64 into the JSON body as it is read", localBigBytes, 1, false, func() error {
			_, err := callTool("sandbox_upload", map[string]any{"id": id, "path": "/workspace/big.bin", "local_path": "big.bin"})
			return err
		}},
		{"sandbox_read_file save_to, 50 MiB", "streamed to a temporary file, renamed", localBigBytes, 1, false, func() error {
			if _, err := callTool("sandbox_read_file", map[string]any{"id": id, "path": "workspace/big.bin", "save_to": "out/big.bin"}); err != nil {
				return err
			}
			return check("out/big.bin", bigSum)
		}},
		{"storage_object_upload local_path, 50 MiB", "raw body", localBigBytes, 1, false, func() error {
			_, err := callTool("storage_object_upload", map[string]any{"bucket": "bench", "key": "big.bin", "local_path": "big.bin"})
			return err
		}},
		{"storage_object_download save_to, 50 MiB", "raw body", localBigBytes, 1, false, func() error {
			if _, err := callTool("storage_object_download", map[string]any{"bucket": "bench", "key": "big.bin", "save_to": "out/big-raw.bin"}); err != nil {
				return err
			}
			return check("out/big-raw.bin", bigSum)
		}},
		{fmt.Sprintf("sandbox_upload local_path, %d-file tree", localTreeFiles), fmt.Sprintf("%d KiB each, one request per file", localTreeBytes>>10), localTreeFiles * localTreeBytes, localTreeFiles, false, func() error {
			_, err := callTool("sandbox_upload", map[string]any{"id": id, "path": "/workspace/dist", "local_path": "dist"})
			return err
		}},
		{"baseline: sandbox_upload inline content, 50 MiB", "the base64 in the argument (a 70 MB JSON-RPC line)", localBigBytes, 1, true, func() error {
			raw, err := os.ReadFile(filepath.Join(dir, "big.bin"))
			if err != nil {
				return err
			}
			_, err = callTool("sandbox_upload", map[string]any{"id": id, "path": "/workspace/inline.bin", "content": base64.StdEncoding.EncodeToString(raw)})
			return err
		}},
	}
	// The floor first (before the inline baseline fills the mock): this
	// process POSTs the same JSON body to the mock (the server's RSS
	// column does not apply).
	raw, err := os.ReadFile(filepath.Join(dir, "big.bin"))
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"path": "/workspace/direct.bin", "content": base64.StdEncoding.EncodeToString(raw)})
	raw = nil
	var times []time.Duration
	for range localRuns {
		req, _ := http.NewRequest(http.MethodPost, api+"/api/v1/sandboxes/"+id+"/files", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bench.Key(0))
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("direct POST: HTTP %d", resp.StatusCode)
		}
		times = append(times, time.Since(t0))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	med := times[len(times)/2]
	floorRow := LocalRow{Name: "floor: the same JSON body POSTed straight to the mock, 50 MiB", Bytes: localBigBytes, Files: 1, Runs: localRuns,
		Median: med, MBPerSec: float64(localBigBytes) / 1e6 / med.Seconds(), RSSGrowthMB: -1, Note: "from this process; the mock's work included"}
	for _, st := range steps {
		if err := measure(st.name, st.note, st.bytes, st.files, st.once, st.fn); err != nil {
			return err
		}
	}
	rep.Local = append(rep.Local, floorRow)
	return nil
}

// randomFile writes n random bytes to p and returns their sha256.
func randomFile(p string, n int64) (string, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, n); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
