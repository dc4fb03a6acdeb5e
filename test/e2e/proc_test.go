package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// syncBuffer is a goroutine-safe bytes sink for a child's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// childEnv is a clean environment for the binary: nothing MIOSA_* leaks in
// from the developer's shell, only what the test sets.
func childEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	if v := os.Getenv("GORACE"); v != "" {
		env = append(env, "GORACE="+v)
	}
	return append(env, extra...)
}

// checkChildStderr fails the test when the child reported a data race or a
// panic (a -race binary keeps running after a race and exits 66 later).
func checkChildStderr(t *testing.T, name, stderr string) {
	t.Helper()
	for _, bad := range []*regexp.Regexp{dataRaceRE, panicRE} {
		if bad.MatchString(stderr) {
			t.Errorf("%s stderr matches %q:\n%s", name, bad, stderr)
			return
		}
	}
}

var (
	dataRaceRE = regexp.MustCompile(`WARNING: DATA RACE`)
	panicRE    = regexp.MustCompile(`(?m)^(panic: |goroutine \d+ \[)`)
)

const testKey = "msk_u_e2e_0123456789abcdef_SECRET"

// stdioOptions configure a spawned stdio server.
type stdioOptions struct {
	env     []string // extra environment (KEY=VALUE)
	args    []string
	version string // pinned protocol version ("" = mcp-go's default)
	dir     string // the child's working directory ("" = the test's)
	copts   []client.ClientOption
	caps    mcp.ClientCapabilities // declared in initialize
	cmd     **exec.Cmd             // set to the child's command (its Process once started)
}

// startStdio spawns the binary through mcp-go's stdio transport, initializes
// a client and returns it with the child's stderr. The child is closed (stdin
// closed, waited for) at cleanup and its stderr checked for races/panics.
func startStdio(t *testing.T, o stdioOptions) (*client.Client, *syncBuffer, *mcp.InitializeResult) {
	t.Helper()
	stderr := &syncBuffer{}
	env := childEnv(o.env...)
	tr := transport.NewStdioWithOptions(binPath, nil, o.args,
		transport.WithCommandFunc(func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd := exec.Command(command, args...)
			cmd.Env = env
			cmd.Dir = o.dir
			cmd.Stderr = stderr // exec copies it; Wait waits for the copy
			if o.cmd != nil {
				*o.cmd = cmd
			}
			return cmd, nil
		}))
	copts := append([]client.ClientOption(nil), o.copts...)
	if o.version != "" {
		copts = append(copts, client.WithProtocolVersion(o.version))
	}
	c := client.NewClient(tr, copts...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("starting %s: %v", binPath, err)
	}
	t.Cleanup(func() {
		c.Close()
		checkChildStderr(t, "stdio server", stderr.String())
	})
	ir := initRequest()
	ir.Params.Capabilities = o.caps
	init, err := c.Initialize(ctx, ir)
	if err != nil {
		t.Fatalf("initialize over stdio: %v\nstderr:\n%s", err, stderr.String())
	}
	return c, stderr, init
}

func initRequest() mcp.InitializeRequest {
	var r mcp.InitializeRequest
	r.Params.ClientInfo = mcp.Implementation{Name: "miosa-mcp-e2e", Version: "1"}
	return r
}

// httpServer is a running `miosa-mcp http` process.
type httpServer struct {
	base   string // http://127.0.0.1:PORT
	stderr *syncBuffer
}

var servingRE = regexp.MustCompile(`serving MCP over HTTP at (http://[^/\s]+)/mcp`)

// startHTTP runs `miosa-mcp http --listen 127.0.0.1:0 args…` and waits for
// the address it prints on stderr. It is stopped with SIGTERM at cleanup.
func startHTTP(t *testing.T, env []string, args ...string) *httpServer {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"http", "--listen", "127.0.0.1:0", "--shutdown-grace", "2s"}, args...)...)
	cmd.Env = childEnv(env...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	var stdout syncBuffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &httpServer{stderr: &syncBuffer{}}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			s.stderr.Write([]byte(line + "\n"))
			if m := servingRE.FindStringSubmatch(line); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("miosa-mcp http did not stop within 10s of SIGINT")
		}
		<-copied
		checkChildStderr(t, "http server", s.stderr.String())
		if out := stdout.String(); out != "" {
			t.Errorf("miosa-mcp http wrote to stdout: %q", out)
		}
	})
	select {
	case a := <-addr:
		s.base = a
	case err := <-exited:
		exited <- err
		t.Fatalf("miosa-mcp http exited early: %v\nstderr:\n%s", err, s.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("miosa-mcp http did not print its address\nstderr:\n%s", s.stderr.String())
	}
	return s
}

// httpClientOptions configure an MCP client for the HTTP server.
type httpClientOptions struct {
	path    string // "/mcp" (default) or "/api/v1/mcp"
	auth    string // Authorization header value ("" = none)
	version string
}

// connectHTTP connects mcp-go's streamable HTTP client and initializes it.
func connectHTTP(t *testing.T, s *httpServer, o httpClientOptions) (*client.Client, *mcp.InitializeResult) {
	t.Helper()
	if o.path == "" {
		o.path = "/mcp"
	}
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 60 * time.Second}
	opts := []transport.StreamableHTTPCOption{transport.WithHTTPBasicClient(hc)}
	if o.auth != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": o.auth}))
	}
	tr, err := transport.NewStreamableHTTP(s.base+o.path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var copts []client.ClientOption
	if o.version != "" {
		copts = append(copts, client.WithProtocolVersion(o.version))
	}
	c := client.NewClient(tr, copts...)
	t.Cleanup(func() {
		c.Close()
		hc.CloseIdleConnections()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init, err := c.Initialize(ctx, initRequest())
	if err != nil {
		t.Fatalf("initialize over HTTP %s: %v\nserver stderr:\n%s", o.path, err, s.stderr.String())
	}
	return c, init
}

// listAllTools pages through tools/list.
func listAllTools(ctx context.Context, c *client.Client) ([]mcp.Tool, error) {
	var out []mcp.Tool
	var req mcp.ListToolsRequest
	for range 50 {
		res, err := c.ListTools(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Tools...)
		if res.NextCursor == "" {
			return out, nil
		}
		req.Params.Cursor = res.NextCursor
	}
	return nil, fmt.Errorf("tools/list did not stop paging")
}
