package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/mock"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// Local files (issue #12) end to end: the real binary over stdio, driven
// by mcp-go's client, against the mock API served in this process (so the
// server's RSS is its own, not the mock's), with the bytes checked by
// sha256 after a round trip.

// mockAPI serves the offline mock on a loopback port.
func mockAPI(t *testing.T) string {
	t.Helper()
	m, err := mock.New(mock.Options{ReadyAfter: mock.Immediately})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}

// randomFile writes n random bytes (streamed, not held) and returns their
// sha256.
func randomFile(t *testing.T, p string, n int64) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, n); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

func mustCall(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := testsupport.CallTool(ctx, c, name, args)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("%s: %s", name, testsupport.ResultText(res))
	}
	return res
}

// facts is a result's structured content as a map.
func facts(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	m, ok := structuredMap(res.StructuredContent)
	if !ok {
		t.Fatalf("no structured content in %s", testsupport.ResultText(res))
	}
	return m
}

// procMem reads VmRSS and VmHWM (kB) of pid.
func procMem(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, sc.Err()
}

// peakGrowth runs fn and returns how far the process's peak RSS rose above
// its RSS before (in bytes): the peak is reset first (clear_refs 5).
func peakGrowth(t *testing.T, pid int, fn func()) int64 {
	t.Helper()
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	rss, hwm, err := procMem(pid)
	if err != nil {
		t.Skip("no /proc:", err)
	}
	before := max(rss, hwm)
	fn()
	_, hwm, _ = procMem(pid)
	return max(0, hwm-before) << 10
}

// TestLocalFilesRoundTrip: a small text file, a 50 MB binary and a
// directory of 200 files go up with local_path and come back with
// save_to, byte for byte, through a client without roots (the server's
// working directory is the project). The server's peak RSS during the
// 50 MB transfers stays well under the file's size.
func TestLocalFilesRoundTrip(t *testing.T) {
	dir, _ := testsupport.ProjectDirs(t)
	api := mockAPI(t)
	var cmd *exec.Cmd
	c, stderr, _ := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{
		Env: []string{"MIOSA_API_KEY=" + testKey, "MIOSA_API_URL=" + api, "MIOSA_TIMEOUT_MS=600000"},
		Dir: dir, Started: func(c *exec.Cmd) { cmd = c },
	})
	sbx := facts(t, mustCall(t, c, "sandbox_create", map[string]any{"wait": true}))
	id, _ := sbx["data"].(map[string]any)["id"].(string)
	if id == "" {
		t.Fatalf("sandbox_create: %v", sbx)
	}

	// A small text file.
	testsupport.WriteFile(t, filepath.Join(dir, "notes.txt"), []byte("deploy notes\n"))
	mustCall(t, c, "sandbox_upload", map[string]any{"id": id, "local_path": "notes.txt", "path": "/workspace/notes.txt"})
	res := mustCall(t, c, "sandbox_read_file", map[string]any{"id": id, "path": "workspace/notes.txt", "save_to": "back/"})
	if got := fileSHA(t, filepath.Join(dir, "back", "notes.txt")); got != fileSHA(t, filepath.Join(dir, "notes.txt")) {
		t.Errorf("the text file came back different")
	}
	if m := facts(t, res); m["mime_type"] != "text/plain" || m["bytes"] != float64(13) {
		t.Errorf("download facts %v", m)
	}

	// A 50 MB binary both ways: base64-encoded on the fly into a JSON body
	// (sandbox_upload) and raw (storage_object_upload). Under the race
	// detector the mock's three decodes of a 70 MB JSON body take some
	// 15 s, so the base64 path moves 8 MiB there.
	mustCall(t, c, "storage_bucket_create", map[string]any{"name": "site"})
	const big = 50 << 20
	want := randomFile(t, filepath.Join(dir, "big.bin"), big)
	for _, tc := range []struct {
		name       string
		size       int64
		up, down   string
		upArgs     map[string]any
		downArgs   map[string]any
		local, out string
	}{
		{"base64 in JSON", big, "sandbox_upload", "sandbox_read_file",
			map[string]any{"id": id, "path": "/workspace/big.bin"}, map[string]any{"id": id, "path": "workspace/big.bin"}, "big.bin", "back/big.bin"},
		{"raw", big, "storage_object_upload", "storage_object_download",
			map[string]any{"bucket": "site", "key": "big.bin"}, map[string]any{"bucket": "site", "key": "big.bin"}, "big.bin", "back/big-raw.bin"},
	} {
		sum := want
		if testsupport.Race && tc.up == "sandbox_upload" {
			tc.size, tc.local = 8<<20, "mid.bin"
			sum = randomFile(t, filepath.Join(dir, tc.local), tc.size)
		}
		var up, down time.Duration
		upArgs := map[string]any{"local_path": tc.local}
		for k, v := range tc.upArgs {
			upArgs[k] = v
		}
		downArgs := map[string]any{"save_to": tc.out}
		for k, v := range tc.downArgs {
			downArgs[k] = v
		}
		upGrowth := peakGrowth(t, cmd.Process.Pid, func() {
			t0 := time.Now()
			res = mustCall(t, c, tc.up, upArgs)
			up = time.Since(t0)
		})
		if !strings.Contains(testsupport.ResultText(res), sum) {
			t.Errorf("%s: the upload result does not report the file's sha256: %s", tc.name, testsupport.ResultText(res))
		}
		downGrowth := peakGrowth(t, cmd.Process.Pid, func() {
			t0 := time.Now()
			res = mustCall(t, c, tc.down, downArgs)
			down = time.Since(t0)
		})
		if got := fileSHA(t, filepath.Join(dir, tc.out)); got != sum {
			t.Fatalf("%s: the %d-byte file came back with sha256 %s, want %s", tc.name, tc.size, got, sum)
		}
		if m := facts(t, res); m["sha256"] != sum || m["bytes"] != float64(tc.size) || m["path"] != filepath.Join(dir, tc.out) {
			t.Errorf("%s: download facts %v", tc.name, m)
		}
		t.Logf("%s, %d MiB: upload %v (peak RSS +%.1f MB), download %v (peak RSS +%.1f MB)", tc.name, tc.size>>20,
			up.Round(time.Millisecond), float64(upGrowth)/1e6, down.Round(time.Millisecond), float64(downGrowth)/1e6)
		if !testsupport.Race {
			// The race detector's shadow memory grows with every byte
			// touched, so the bound is only checked without it.
			for what, g := range map[string]int64{"upload": upGrowth, "download": downGrowth} {
				if g > tc.size/4 {
					t.Errorf("%s: peak RSS grew by %.1f MB during the %d MiB %s, want well under the file size (at most %.1f MB)", tc.name, float64(g)/1e6, tc.size>>20, what, float64(tc.size/4)/1e6)
				}
			}
		}
	}

	// The control: the same measure sees the cost of 4 MiB sent inline, as
	// base64 in the argument (what a model would have to produce).
	if !testsupport.Race {
		inline := make([]byte, 4<<20)
		rand.Read(inline)
		g := peakGrowth(t, cmd.Process.Pid, func() {
			mustCall(t, c, "sandbox_upload", map[string]any{"id": id, "path": "/workspace/inline.bin", "content": base64.StdEncoding.EncodeToString(inline)})
		})
		t.Logf("control, 4 MiB inline: peak RSS +%.1f MB", float64(g)/1e6)
		if g < 4<<20 {
			t.Errorf("4 MiB sent inline raised the peak RSS by only %.1f MB: the measure does not see memory", float64(g)/1e6)
		}
	}

	// A directory of 200 files in nested directories.
	sums := map[string]string{}
	for i := range 200 {
		rel := fmt.Sprintf("dist/%s/f%03d.js", []string{"assets", "assets/img", "pages/a/b", "."}[i%4], i)
		rel = filepath.ToSlash(filepath.Clean(rel))
		sums[rel] = randomFile(t, filepath.Join(dir, filepath.FromSlash(rel)), int64(100+i*37))
	}
	t0 := time.Now()
	res = mustCall(t, c, "sandbox_upload", map[string]any{"id": id, "local_path": "./dist", "path": "/workspace/dist"})
	tree := time.Since(t0)
	if m := facts(t, res); m["files"] != float64(200) {
		t.Fatalf("tree upload summary %v", m)
	}
	for rel, sum := range sums {
		out := filepath.Join("tree-back", filepath.FromSlash(rel))
		mustCall(t, c, "sandbox_read_file", map[string]any{"id": id, "path": "workspace/" + rel, "save_to": out})
		if got := fileSHA(t, filepath.Join(dir, out)); got != sum {
			t.Errorf("%s came back different", rel)
		}
	}
	t.Logf("200-file tree: uploaded in %v", tree.Round(time.Millisecond))

	// The other two tool pairs, with a small binary.
	bin := randomFile(t, filepath.Join(dir, "logo.png"), 70_001)
	mustCall(t, c, "storage_object_upload", map[string]any{"bucket": "site", "key": "img/logo.png", "local_path": "logo.png"})
	mustCall(t, c, "storage_object_download", map[string]any{"bucket": "site", "key": "img/logo.png", "save_to": "back/"})
	cmp := facts(t, mustCall(t, c, "computer_create", map[string]any{"wait": true}))
	cid, _ := cmp["data"].(map[string]any)["id"].(string)
	mustCall(t, c, "file_write", map[string]any{"computer_id": cid, "path": "/home/user/logo.png", "local_path": "logo.png"})
	mustCall(t, c, "file_read", map[string]any{"computer_id": cid, "path": "/home/user/logo.png", "save_to": "back/from-computer.png"})
	for _, p := range []string{"back/logo.png", "back/from-computer.png"} {
		if got := fileSHA(t, filepath.Join(dir, p)); got != bin {
			t.Errorf("%s came back different", p)
		}
	}
	if strings.Contains(stderr.String(), testKey) {
		t.Errorf("stderr contains the API key")
	}
}

// recordingAPI stands in for the MIOSA API and counts the requests that
// reached it with a complete body.
type recordingAPI struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   int
}

func newRecordingAPI(t *testing.T) *recordingAPI {
	a := &recordingAPI{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err == nil {
			a.mu.Lock()
			a.n++
			a.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data":{}}`))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *recordingAPI) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// fileRoots is a client's roots, changeable between calls.
type fileRoots struct {
	mu   sync.Mutex
	uris []string
}

func (r *fileRoots) set(uris ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uris = uris
}

func (r *fileRoots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &mcp.ListRootsResult{Roots: []mcp.Root{}}
	for _, u := range r.uris {
		res.Roots = append(res.Roots, mcp.Root{URI: u})
	}
	return res, nil
}

// TestLocalFilesConfinement: with a client without roots and with one
// with roots, each path that leaves the allowed directories is refused,
// the error names them, and nothing reaches the API.
func TestLocalFilesConfinement(t *testing.T) {
	dir, outside := testsupport.ProjectDirs(t)
	testsupport.WriteFile(t, filepath.Join(dir, "ok.txt"), []byte("ok"))
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "link-out"))
	os.Symlink(outside, filepath.Join(dir, "dir-out"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	// A root whose name needs percent-encoding in a file: URI.
	rootDir := filepath.Join(filepath.Dir(dir), "My Root #1 %")
	testsupport.WriteFile(t, filepath.Join(rootDir, "in-root.txt"), []byte("in root"))
	other := filepath.Join(filepath.Dir(dir), "other root")
	testsupport.WriteFile(t, filepath.Join(other, "later.txt"), []byte("later"))
	uri := func(p string) string { return (&url.URL{Scheme: "file", Path: p}).String() }

	api := newRecordingAPI(t)
	env := []string{"MIOSA_API_KEY=" + testKey, "MIOSA_API_URL=" + api.srv.URL}
	noRoots, _, _ := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{Env: env, Dir: dir})
	roots := &fileRoots{}
	roots.set(uri(rootDir))
	withRoots, _, _ := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{Env: env, Dir: dir, Client: []client.ClientOption{client.WithRootsHandler(roots)},
		Capabilities: mcp.ClientCapabilities{Roots: &struct {
			ListChanged bool `json:"listChanged,omitempty"`
		}{ListChanged: true}}})

	refused := func(t *testing.T, c *client.Client, name string, args map[string]any, reason, allowed string) {
		t.Helper()
		before := api.count()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := testsupport.CallTool(ctx, c, name, args)
		if err != nil {
			t.Fatal(err)
		}
		txt := testsupport.ResultText(res)
		if !res.IsError || !strings.Contains(txt, reason) || !strings.Contains(txt, "Allowed directories: "+allowed) {
			t.Errorf("%s %v: %s; want a refusal saying %q and naming %s", name, args, txt, reason, allowed)
		}
		if n := api.count() - before; n != 0 {
			t.Errorf("%s %v: %d requests reached the API", name, args, n)
		}
	}
	upload := func(p string) map[string]any { return map[string]any{"bucket": "b", "key": "k", "local_path": p} }
	for _, tc := range []struct {
		name, path, reason string
	}{
		{"dot-dot", "../outside/secret.txt", "is outside the allowed directories"},
		{"absolute outside", filepath.Join(outside, "secret.txt"), "is outside the allowed directories"},
		{"symlink at the file", "link-out", "through a symbolic link"},
		{"symlink at a parent", "dir-out/secret.txt", "through a symbolic link"},
		{"fifo", "fifo", "FIFO"},
		{"dev/zero", "/dev/zero", "is outside the allowed directories"},
		{"a root of the other client", filepath.Join(rootDir, "in-root.txt"), "is outside the allowed directories"},
	} {
		t.Run("no roots: "+tc.name, func(t *testing.T) {
			refused(t, noRoots, "storage_object_upload", upload(tc.path), tc.reason, dir)
		})
	}
	t.Run("no roots: save outside", func(t *testing.T) {
		refused(t, noRoots, "storage_object_download", map[string]any{"bucket": "b", "key": "k", "save_to": filepath.Join(outside, "secret.txt")}, "is outside the allowed directories", dir)
	})

	// With roots: the percent-encoded root works, the working directory
	// does not, and after list_changed the new root list applies.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res, err := testsupport.CallTool(ctx, withRoots, "storage_object_upload", upload(filepath.Join(rootDir, "in-root.txt"))); err != nil || res.IsError {
		t.Fatalf("a file in the client's root: %v %s", err, testsupport.ResultText(res))
	}
	refused(t, withRoots, "storage_object_upload", upload(filepath.Join(dir, "ok.txt")), "is outside the allowed directories", rootDir)
	refused(t, withRoots, "storage_object_upload", upload(filepath.Join(other, "later.txt")), "is outside the allowed directories", rootDir)
	roots.set(uri(other))
	if err := withRoots.RootListChanges(ctx); err != nil {
		t.Fatal(err)
	}
	refused(t, withRoots, "storage_object_upload", upload(filepath.Join(rootDir, "in-root.txt")), "is outside the allowed directories", other)
	if res, err := testsupport.CallTool(ctx, withRoots, "storage_object_upload", upload(filepath.Join(other, "later.txt"))); err != nil || res.IsError {
		t.Errorf("a file in the new root: %v %s", err, testsupport.ResultText(res))
	}
}

// TestLocalFilesNotOverHTTP: `miosa-mcp http` lists no local argument in
// any schema, and a call that sends one anyway is refused before anything
// reaches the API. --no-local-files does the same over stdio.
func TestLocalFilesNotOverHTTP(t *testing.T) {
	dir, _ := testsupport.ProjectDirs(t)
	testsupport.WriteFile(t, filepath.Join(dir, "a.txt"), []byte("a"))
	api := newRecordingAPI(t)
	srv := testsupport.StartHTTP(t, testsupport.Binary(t), testsupport.HTTPOptions{Interrupt: true, Env: []string{"MIOSA_API_URL=" + api.srv.URL}})
	hc, _ := connectHTTP(t, srv, httpClientOptions{auth: "Bearer " + testKey + "_http"})
	off, _, _ := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{Env: []string{"MIOSA_API_KEY=" + testKey, "MIOSA_API_URL=" + api.srv.URL}, Dir: dir, Args: []string{"--no-local-files"}})
	on, _, _ := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{Env: []string{"MIOSA_API_KEY=" + testKey, "MIOSA_API_URL=" + api.srv.URL}, Dir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, c := range map[string]*client.Client{"http": hc, "stdio --no-local-files": off, "stdio": on} {
		lt, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, tl := range lt.Tools {
			b, _ := json.Marshal(tl)
			if bytes.Contains(b, []byte("local_path")) || bytes.Contains(b, []byte("save_to")) {
				n++
			}
		}
		switch {
		case name == "stdio" && n != 6:
			t.Errorf("stdio lists %d tools with a local argument, want 6", n)
		case name != "stdio" && n != 0:
			t.Errorf("%s lists %d tools with a local argument", name, n)
		}
	}
	for name, c := range map[string]*client.Client{"http": hc, "stdio --no-local-files": off} {
		for _, tc := range []struct {
			tool string
			args map[string]any
		}{
			{"sandbox_upload", map[string]any{"id": "sbx_1", "path": "/workspace/a.txt", "local_path": filepath.Join(dir, "a.txt")}},
			{"storage_object_upload", map[string]any{"bucket": "b", "key": "k", "content": "x", "local_path": "a.txt"}},
			{"sandbox_read_file", map[string]any{"id": "sbx_1", "path": "workspace/a.txt", "save_to": filepath.Join(dir, "x.txt")}},
		} {
			res, err := testsupport.CallTool(ctx, c, tc.tool, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !res.IsError || !strings.Contains(testsupport.ResultText(res), "is not available") {
				t.Errorf("%s: forged %s: %s", name, tc.tool, testsupport.ResultText(res))
			}
		}
	}
	if n := api.count(); n != 0 {
		t.Errorf("%d requests reached the API", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.txt")); err == nil {
		t.Errorf("a forged save_to wrote a file")
	}
}
