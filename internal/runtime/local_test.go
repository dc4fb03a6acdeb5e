package runtime_test

import (
	"bytes"
	"context"
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
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// The local-file arguments (issue #12) against the fixture catalog's
// blob_put/blob_get (raw body, bytes answer) and widget_file_write/
// widget_file_read (base64 in JSON both ways), served over in-process
// stdio to mcp-go's client, against a fake API that keeps what it gets.

// fileStore is a fake API that stores uploads and serves them back.
type fileStore struct {
	mu    sync.Mutex
	files map[string][]byte
	types map[string]string
}

func newFileStore(t *testing.T) (*fileStore, *testsupport.Upstream) {
	fs := &fileStore{files: map[string][]byte{}, types: map[string]string{}}
	up := testsupport.NewUpstream(t, fs.serve)
	return fs, up
}

func (fs *fileStore) get(k string) ([]byte, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	b, ok := fs.files[k]
	return b, ok
}

func (fs *fileStore) put(k string, b []byte, ctype string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files[k] = b
	fs.types[k] = ctype
}

func (fs *fileStore) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/api/v1/blobs/"):
		key, _ := url.PathUnescape(strings.TrimPrefix(p, "/api/v1/blobs/"))
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			if int64(len(b)) != r.ContentLength {
				testsupport.WriteJSON(w, 400, map[string]any{"error": "length mismatch"})
				return
			}
			fs.put("blob:"+key, b, r.Header.Get("Content-Type"))
			testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"size": len(b)}})
			return
		}
		b, ok := fs.get("blob:" + key)
		if !ok {
			testsupport.WriteJSON(w, 404, map[string]any{"error": map[string]any{"code": "NOT_FOUND", "message": "no such blob"}})
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	case strings.HasSuffix(p, "/files") && r.Method == http.MethodPost:
		var body struct{ Path, Content, Encoding string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			testsupport.WriteJSON(w, 400, map[string]any{"error": err.Error()})
			return
		}
		data := []byte(body.Content)
		if body.Encoding == "base64" {
			d, err := base64.StdEncoding.DecodeString(body.Content)
			if err != nil {
				testsupport.WriteJSON(w, 422, map[string]any{"error": "bad base64"})
				return
			}
			data = d
		}
		fs.put("file:"+body.Path, data, body.Encoding)
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"path": body.Path, "bytes": len(data)}})
	case strings.HasSuffix(p, "/files"):
		b, ok := fs.get("file:" + r.URL.Query().Get("path"))
		if !ok {
			testsupport.WriteJSON(w, 404, map[string]any{"error": map[string]any{"code": "NOT_FOUND", "message": "no such file"}})
			return
		}
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"content": base64.StdEncoding.EncodeToString(b), "size": len(b)}})
	default:
		testsupport.WriteJSON(w, 404, map[string]any{"error": "unexpected " + p})
	}
}

// clientRoots answers roots/list with a list the test can change.
type clientRoots struct {
	mu    sync.Mutex
	uris  []string
	calls atomic.Int32
}

func (c *clientRoots) set(uris ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uris = uris
}

func (c *clientRoots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	c.calls.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	res := &mcp.ListRootsResult{Roots: []mcp.Root{}}
	for _, u := range c.uris {
		res.Roots = append(res.Roots, mcp.Root{URI: u})
	}
	return res, nil
}

// stdioClient serves srv over in-process stdio and connects mcp-go's
// client; roots nil is a client without the roots capability.
func stdioClient(t *testing.T, srv *runtime.Server, roots mcpclient.RootsHandler, opts ...mcpclient.ClientOption) *mcpclient.Client {
	t.Helper()
	key := runtime.NewAPIKey("msk_u_local_test_key")
	testsupport.RegisterKey(key.Reveal())
	if roots != nil { // the client declares roots, with listChanged
		opts = append(opts, mcpclient.WithRootsHandler(roots))
	}
	c := testsupport.PipeClient(t, func(ctx context.Context, in io.Reader, out io.Writer) error {
		return srv.ServeStdio(ctx, in, out, runtime.StdioOptions{Key: key})
	}, opts...)
	testsupport.Initialize(t, c, "2025-11-25")
	return c
}

// localServer is a stdio runtime with local files on, WorkDir work,
// against the API at base.
func localServer(t *testing.T, base *url.URL, work string, o func(*runtime.LocalFiles)) *runtime.Server {
	t.Helper()
	lf := &runtime.LocalFiles{WorkDir: work}
	if o != nil {
		o(lf)
	}
	srv, _ := newRuntime(t, base, func(opt *runtime.Options) {
		opt.Mode = runtime.ModeStdio
		opt.LocalFiles = lf
	})
	return srv
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func structured(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func TestLocalUploadAndDownload(t *testing.T) {
	store, up := newFileStore(t)
	project, _ := testsupport.ProjectDirs(t)
	bin := make([]byte, 300_001) // not a multiple of 3, past several chunks
	for i := range bin {
		bin[i] = byte(i*7 + i/251)
	}
	testsupport.WriteFile(t, filepath.Join(project, "build", "app.bin"), bin)
	testsupport.WriteFile(t, filepath.Join(project, "notes.txt"), []byte("hello\n"))
	testsupport.WriteFile(t, filepath.Join(project, "empty"), nil)
	srv := localServer(t, up.Base(), project, nil)
	c := stdioClient(t, srv, nil)

	for _, tc := range []struct {
		name, tool, local string
		args              map[string]any
		key               string // where the store has it
		want              []byte
	}{
		{"raw body", "blob_put", "build/app.bin", map[string]any{"key": "bin/app.bin"}, "blob:bin/app.bin", bin},
		{"base64 in JSON", "widget_file_write", "build/app.bin", map[string]any{"id": "w1", "path": "/srv/app.bin"}, "file:/srv/app.bin", bin},
		{"text file", "widget_file_write", "./notes.txt", map[string]any{"id": "w1", "path": "/srv/notes.txt", "encoding": "utf8"}, "file:/srv/notes.txt", []byte("hello\n")},
		{"empty file raw", "blob_put", "empty", map[string]any{"key": "empty"}, "blob:empty", []byte{}},
		{"empty file JSON", "widget_file_write", "empty", map[string]any{"id": "w1", "path": "/srv/empty"}, "file:/srv/empty", []byte{}},
		{"into a remote directory", "widget_file_write", "notes.txt", map[string]any{"id": "w1", "path": "/srv/docs/"}, "file:/srv/docs/notes.txt", []byte("hello\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := map[string]any{"local_path": tc.local}
			for k, v := range tc.args {
				args[k] = v
			}
			res := testsupport.MustCall(t, c, tc.tool, args)
			if res.IsError {
				t.Fatalf("%s: %s", tc.tool, testsupport.ResultText(res))
			}
			got, ok := store.get(tc.key)
			if !ok || !bytes.Equal(got, tc.want) {
				t.Fatalf("the API holds %d bytes (%v), want %d", len(got), ok, len(tc.want))
			}
			if !strings.Contains(testsupport.ResultText(res), "sha256 "+sha(tc.want)) {
				t.Errorf("result does not report the sha256: %s", testsupport.ResultText(res))
			}
		})
	}
	// A text file's declared encoding is the upload's: base64 (set:).
	if enc := store.types["file:/srv/notes.txt"]; enc != "base64" {
		t.Errorf("encoding sent %q, want the set: value base64", enc)
	}
	if ct := store.types["blob:bin/app.bin"]; ct != "application/octet-stream" {
		t.Errorf("raw upload of .bin sent Content-Type %q", ct)
	}

	// Downloads: the bytes answer and the JSON answer.
	for _, tc := range []struct {
		name, tool string
		args       map[string]any
		saveTo     string
		want       string // saved path
		mime       string
	}{
		{"bytes answer", "blob_get", map[string]any{"key": "bin/app.bin"}, "out/app.bin", filepath.Join(project, "out", "app.bin"), "application/octet-stream"},
		{"JSON answer", "widget_file_read", map[string]any{"id": "w1", "path": "/srv/app.bin"}, "out/from-json.bin", filepath.Join(project, "out", "from-json.bin"), "application/octet-stream"},
		{"into a directory", "widget_file_read", map[string]any{"id": "w1", "path": "/srv/notes.txt"}, "out/", filepath.Join(project, "out", "notes.txt"), "text/plain"},
		{"empty", "blob_get", map[string]any{"key": "empty"}, "out/empty", filepath.Join(project, "out", "empty"), "text/plain"},
	} {
		t.Run("download "+tc.name, func(t *testing.T) {
			args := map[string]any{"save_to": tc.saveTo}
			for k, v := range tc.args {
				args[k] = v
			}
			res := testsupport.MustCall(t, c, tc.tool, args)
			if res.IsError {
				t.Fatalf("%s: %s", tc.tool, testsupport.ResultText(res))
			}
			got, err := os.ReadFile(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			m := structured(t, res)
			if m["path"] != tc.want || m["sha256"] != sha(got) || m["bytes"] != float64(len(got)) || m["mime_type"] != tc.mime {
				t.Errorf("result %v; want path %s, %d bytes, sha256 %s, %s", m, tc.want, len(got), sha(got), tc.mime)
			}
			if len(res.Content) != 1 || len(testsupport.ResultText(res)) > 400 {
				t.Errorf("a saved download returns only the facts, got %d content items: %s", len(res.Content), testsupport.ResultText(res))
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(project, "out", "from-json.bin")); !bytes.Equal(b, bin) {
		t.Errorf("the JSON answer was saved as %d bytes, want the %d uploaded", len(b), len(bin))
	}
	// Without save_to the download is inline as before.
	if res := testsupport.MustCall(t, c, "widget_file_read", map[string]any{"id": "w1", "path": "/srv/notes.txt"}); res.IsError || !strings.Contains(testsupport.ResultText(res), "hello") {
		t.Errorf("inline download: %s", testsupport.ResultText(res))
	}
}

func TestLocalDirectoryUpload(t *testing.T) {
	store, up := newFileStore(t)
	project, _ := testsupport.ProjectDirs(t)
	want := map[string][]byte{}
	for i := range 30 {
		rel := fmt.Sprintf("dist/%s/f%02d.txt", []string{"a", "b/c", "."}[i%3], i)
		b := []byte(strings.Repeat(fmt.Sprint(i), i+1))
		testsupport.WriteFile(t, filepath.Join(project, filepath.FromSlash(rel)), b)
		want[strings.ReplaceAll(rel, "/./", "/")] = b
	}
	srv := localServer(t, up.Base(), project, nil)
	var notes []string
	var mu sync.Mutex
	c := stdioClient(t, srv, nil)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/progress" {
			mu.Lock()
			notes = append(notes, fmt.Sprint(n.Params.AdditionalFields["message"]))
			mu.Unlock()
		}
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "widget_file_write"
	req.Params.Arguments = map[string]any{"id": "w1", "path": "/workspace/dist/", "local_path": "dist"}
	req.Params.Meta = &mcp.Meta{ProgressToken: "up-1"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("%v %s", err, testsupport.ResultText(res))
	}
	for rel, b := range want {
		got, ok := store.get("file:/workspace/" + rel)
		if !ok || !bytes.Equal(got, b) {
			t.Errorf("%s: the API holds %q (%v), want %q", rel, got, ok, b)
		}
	}
	m := structured(t, res)
	if m["files"] != float64(30) {
		t.Errorf("summary %v", m)
	}
	mu.Lock()
	n := len(notes)
	mu.Unlock()
	if n != 30 {
		t.Errorf("%d progress notifications, want one per file (30): %v", n, notes)
	}
}

// TestLocalConfinement: each refused path names the allowed directories,
// and nothing reaches the API.
func TestLocalConfinement(t *testing.T) {
	_, up := newFileStore(t)
	project, outside := testsupport.ProjectDirs(t)
	testsupport.WriteFile(t, filepath.Join(project, "ok.txt"), []byte("ok"))
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(project, "link-out"))
	os.Symlink(outside, filepath.Join(project, "dir-out"))
	os.Symlink(filepath.Join(project, "ok.txt"), filepath.Join(project, "link-in"))
	fifo := filepath.Join(project, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	srv := localServer(t, up.Base(), project, func(lf *runtime.LocalFiles) { lf.MaxBytes = 1000 })
	c := stdioClient(t, srv, nil)
	testsupport.WriteFile(t, filepath.Join(project, "big.bin"), make([]byte, 1001))

	up1 := func(p string) map[string]any { return map[string]any{"key": "k", "local_path": p} }
	down := func(p string) map[string]any { return map[string]any{"key": "k", "save_to": p} }
	for _, tc := range []struct {
		name, tool string
		args       map[string]any
		reason     string
	}{
		{"dot-dot", "blob_put", up1("../outside/secret.txt"), "is outside the allowed directories"},
		{"absolute outside", "blob_put", up1(filepath.Join(outside, "secret.txt")), "is outside the allowed directories"},
		{"etc", "blob_put", up1("/etc/hostname"), "is outside the allowed directories"},
		{"symlink at the file", "blob_put", up1("link-out"), "through a symbolic link"},
		{"symlink at a parent", "blob_put", up1("dir-out/secret.txt"), "through a symbolic link"},
		{"fifo", "blob_put", up1("fifo"), "FIFO"},
		{"dev/zero", "blob_put", up1("/dev/zero"), "is outside the allowed directories"},
		{"missing", "blob_put", up1("nope.txt"), "does not exist"},
		{"over the size cap", "blob_put", up1("big.bin"), "over the 1000-byte limit of one call (--local-max-bytes / MIOSA_LOCAL_MAX_BYTES)"},
		{"save outside", "blob_get", down("../outside/new.txt"), "is outside the allowed directories"},
		{"overwrite outside", "blob_get", down(filepath.Join(outside, "secret.txt")), "is outside the allowed directories"},
		{"save through a symlink", "blob_get", down("link-in"), "does not write through symbolic links"},
		{"save through a symlinked parent", "blob_get", down("dir-out/x.txt"), "through a symbolic link"},
		{"save over a fifo", "blob_get", down("fifo"), "FIFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.Requests())
			res := testsupport.MustCall(t, c, tc.tool, tc.args)
			msg := testsupport.ResultText(res)
			if !res.IsError || !strings.Contains(msg, tc.reason) {
				t.Fatalf("result (error %v): %s; want a refusal saying %q", res.IsError, msg, tc.reason)
			}
			if !strings.Contains(msg, "Allowed directories: "+project) || !strings.Contains(msg, "--allow-dir") {
				t.Errorf("the refusal does not name the allowed directory %s and where it comes from: %s", project, msg)
			}
			if n := len(up.Requests()) - before; n != 0 {
				t.Errorf("%d requests reached the API", n)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != "secret" {
		t.Errorf("the file outside was changed: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(project, "ok.txt")); string(b) != "ok" {
		t.Errorf("the symlink's target was written through: %q", b)
	}
}

// TestLocalExactlyOne: content and local_path together, or neither, are
// refused before anything is sent; so is a local argument where local
// files are off.
func TestLocalExactlyOne(t *testing.T) {
	_, up := newFileStore(t)
	project, _ := testsupport.ProjectDirs(t)
	testsupport.WriteFile(t, filepath.Join(project, "a.txt"), []byte("a"))
	on := stdioClient(t, localServer(t, up.Base(), project, nil), nil)
	off, _ := newRuntime(t, up.Base(), func(o *runtime.Options) { o.Mode = runtime.ModeStdio })
	offc := stdioClient(t, off, nil)
	for _, tc := range []struct {
		name string
		c    *mcpclient.Client
		tool string
		args map[string]any
		want string
	}{
		{"both", on, "widget_file_write", map[string]any{"id": "w", "path": "/x", "content": "eA==", "local_path": "a.txt"}, "give either content (the bytes) or local_path"},
		{"neither", on, "widget_file_write", map[string]any{"id": "w", "path": "/x"}, "give content (the bytes) or local_path"},
		{"neither raw", on, "blob_put", map[string]any{"key": "k"}, "give content (the bytes) or local_path"},
		{"off: upload", offc, "blob_put", map[string]any{"key": "k", "local_path": "a.txt"}, "local_path is not available: local files are turned off on this server (--no-local-files"},
		{"off: download", offc, "blob_get", map[string]any{"key": "k", "save_to": "a.txt"}, "omit save_to to get the content inline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.Requests())
			res := testsupport.MustCall(t, tc.c, tc.tool, tc.args)
			if !res.IsError || !strings.Contains(testsupport.ResultText(res), tc.want) {
				t.Errorf("%s: %s; want an error saying %q", tc.tool, testsupport.ResultText(res), tc.want)
			}
			if n := len(up.Requests()) - before; n != 0 {
				t.Errorf("%d requests reached the API", n)
			}
		})
	}
	// Off: the schemas are the plain ones.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lt, err := offc.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range lt.Tools {
		if b, _ := json.Marshal(tl); bytes.Contains(b, []byte("local_path")) || bytes.Contains(b, []byte("save_to")) {
			t.Errorf("with local files off, %s lists a local argument", tl.Name)
		}
	}
	lt, err = on.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, tl := range lt.Tools {
		b, _ := json.Marshal(tl.InputSchema)
		if bytes.Contains(b, []byte(`"local_path"`)) || bytes.Contains(b, []byte(`"save_to"`)) {
			found++
		}
	}
	if found != 4 {
		t.Errorf("%d tools list a local argument over stdio, want the fixture's 4", found)
	}
}

// TestLocalRoots: a client with roots confines paths to them (file: URIs,
// percent-encoded), and a changed root list (list_changed) is fetched
// again before the next call.
func TestLocalRoots(t *testing.T) {
	store, up := newFileStore(t)
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rootA := filepath.Join(base, "My Project %A") // a space and a percent sign
	rootB := filepath.Join(base, "other ✓")
	work := filepath.Join(base, "work") // the server's directory: not a root here
	for _, d := range []string{rootA, rootB, work} {
		os.MkdirAll(d, 0o755)
	}
	testsupport.WriteFile(t, filepath.Join(rootA, "a.txt"), []byte("from A"))
	testsupport.WriteFile(t, filepath.Join(rootB, "b.txt"), []byte("from B"))
	testsupport.WriteFile(t, filepath.Join(work, "w.txt"), []byte("from work"))
	uri := func(p string) string { return (&url.URL{Scheme: "file", Path: p}).String() }
	if !strings.Contains(uri(rootA), "%25A") || !strings.Contains(uri(rootA), "%20") {
		t.Fatalf("test URI %s is not percent-encoded", uri(rootA))
	}
	roots := &clientRoots{}
	roots.set(uri(rootA), "https://example.com/not-a-file-root")
	srv := localServer(t, up.Base(), work, func(lf *runtime.LocalFiles) { lf.AllowDirs = []string{rootB} })
	c := stdioClient(t, srv, roots)

	upload := func(p, key string) *mcp.CallToolResult {
		return testsupport.MustCall(t, c, "blob_put", map[string]any{"key": key, "local_path": p})
	}
	if res := upload(filepath.Join(rootA, "a.txt"), "a"); res.IsError {
		t.Fatalf("a file in the client's root: %s", testsupport.ResultText(res))
	}
	if b, _ := store.get("blob:a"); string(b) != "from A" {
		t.Errorf("uploaded %q", b)
	}
	// The working directory and --allow-dir do not apply: the client's
	// roots are the boundary.
	for _, p := range []string{filepath.Join(work, "w.txt"), filepath.Join(rootB, "b.txt")} {
		res := upload(p, "x")
		if !res.IsError || !strings.Contains(testsupport.ResultText(res), "Allowed directories: "+rootA+" (the client's roots") {
			t.Errorf("%s with client roots: %s", p, testsupport.ResultText(res))
		}
	}
	// A relative path resolves against the first root (the working
	// directory is not inside one).
	if res := upload("a.txt", "rel"); res.IsError {
		t.Errorf("relative path: %s", testsupport.ResultText(res))
	}
	if n := roots.calls.Load(); n != 1 {
		t.Errorf("roots/list asked %d times for 4 calls, want 1 (cached until list_changed)", n)
	}

	roots.set(uri(rootB))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.RootListChanges(ctx); err != nil {
		t.Fatal(err)
	}
	before := len(up.Requests())
	res := upload(filepath.Join(rootA, "a.txt"), "a2")
	if !res.IsError || !strings.Contains(testsupport.ResultText(res), "Allowed directories: "+rootB) {
		t.Errorf("after the roots changed to B, a file in A: %s", testsupport.ResultText(res))
	}
	if n := len(up.Requests()) - before; n != 0 {
		t.Errorf("%d requests reached the API for the refused path", n)
	}
	if res := upload(filepath.Join(rootB, "b.txt"), "b"); res.IsError {
		t.Errorf("a file in the new root: %s", testsupport.ResultText(res))
	}
	if n := roots.calls.Load(); n != 2 {
		t.Errorf("roots/list asked %d times, want 2 (once more after list_changed)", n)
	}
}

// TestLocalGrowingFile: a file that grows while it is uploaded is cut off
// before its end, so the API never gets a complete body. The fake API
// holds the body unread until the file has grown; 32 MiB is more than the
// socket buffers take, so the upload is still reading the file then.
func TestLocalGrowingFile(t *testing.T) {
	project, _ := testsupport.ProjectDirs(t)
	p := filepath.Join(project, "growing.log")
	testsupport.WriteFile(t, p, bytes.Repeat([]byte("x"), 32<<20))
	var complete atomic.Int32
	grown := make(chan struct{})
	var once sync.Once
	// Not a recording upstream: it must leave the body unread.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte("more lines\n"))
			f.Close()
			close(grown)
		})
		<-grown
		if b, err := io.ReadAll(r.Body); err == nil && int64(len(b)) == r.ContentLength {
			complete.Add(1)
		}
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{}})
	}))
	t.Cleanup(api.Close)
	base, _ := url.Parse(api.URL + "/api/v1")
	srv := localServer(t, base, project, nil)
	c := stdioClient(t, srv, nil)
	res := testsupport.MustCall(t, c, "blob_put", map[string]any{"key": "log", "local_path": "growing.log"})
	if !res.IsError || !strings.Contains(testsupport.ResultText(res), "changed size while it was read") {
		t.Fatalf("a growing file: %s", testsupport.ResultText(res))
	}
	if n := complete.Load(); n != 0 {
		t.Errorf("the API received %d complete bodies", n)
	}
}

// TestLocalOverHTTP: over HTTP the schemas have no local argument and a
// call that sends one anyway is refused before anything is sent.
func TestLocalOverHTTP(t *testing.T) {
	_, up := newFileStore(t)
	project, _ := testsupport.ProjectDirs(t)
	srv, catalog := newRuntime(t, up.Base(), func(o *runtime.Options) {
		o.LocalFiles = &runtime.LocalFiles{WorkDir: project} // ignored over HTTP
	})
	c := connect(t, mcpHTTP(t, srv, catalog), testsupport.Bearer("msk_u_local_http_key"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lt, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range lt.Tools {
		if b, _ := json.Marshal(tl); bytes.Contains(b, []byte("local_path")) || bytes.Contains(b, []byte("save_to")) {
			t.Errorf("over HTTP %s lists a local argument", tl.Name)
		}
	}
	testsupport.WriteFile(t, filepath.Join(project, "a.txt"), []byte("a"))
	for _, args := range []map[string]any{
		{"key": "k", "local_path": filepath.Join(project, "a.txt")},
		{"key": "k", "content": "x", "local_path": "a.txt"},
	} {
		res := testsupport.MustCall(t, c, "blob_put", args)
		if !res.IsError || !strings.Contains(testsupport.ResultText(res), "over HTTP the server does not run on your machine") {
			t.Errorf("forged local_path over HTTP: %s", testsupport.ResultText(res))
		}
	}
	res := testsupport.MustCall(t, c, "blob_get", map[string]any{"key": "k", "save_to": filepath.Join(project, "x")})
	if !res.IsError || !strings.Contains(testsupport.ResultText(res), "save_to is not available") {
		t.Errorf("forged save_to over HTTP: %s", testsupport.ResultText(res))
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("%d requests reached the API", n)
	}
	if _, err := os.Stat(filepath.Join(project, "x")); err == nil {
		t.Errorf("a file was written over HTTP")
	}
}

type failingRoots struct{}

func (failingRoots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	return nil, fmt.Errorf("roots are not available")
}

// TestLocalRootsUnanswered: a client that declares roots but fails
// roots/list gets an error, not the server's own directories.
func TestLocalRootsUnanswered(t *testing.T) {
	_, up := newFileStore(t)
	project, _ := testsupport.ProjectDirs(t)
	testsupport.WriteFile(t, filepath.Join(project, "a.txt"), []byte("a"))
	srv := localServer(t, up.Base(), project, nil)
	c := stdioClient(t, srv, failingRoots{})
	res := testsupport.MustCall(t, c, "blob_put", map[string]any{"key": "k", "local_path": "a.txt"})
	if !res.IsError || !strings.Contains(testsupport.ResultText(res), "the client declares roots but roots/list failed") {
		t.Errorf("roots/list failing: %s", testsupport.ResultText(res))
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("%d requests reached the API", n)
	}
}
