package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// TestStdioHygiene drives the binary with raw JSON lines at debug log level
// against a failing upstream and inspects every byte of stdout: each line
// must be one JSON-RPC 2.0 message, and the key must appear neither on
// stderr nor in any result, even though the upstream echoes it back.
func TestStdioHygiene(t *testing.T) {
	echoing := newUpstream(t)
	echoing.respond = func(w http.ResponseWriter, r *http.Request, rec testsupport.Recorded) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("X-Request-ID", "req-"+auth)
		testsupport.WriteJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]any{
			"code": "internal_error", "message": "upstream exploded while handling " + auth,
			"details": map[string]any{"authorization": auth, "key": strings.TrimPrefix(auth, "Bearer ")},
		}})
	}
	// A port that refuses connections: listen, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	runs := []struct {
		name, url string
		up        *upstream
		wantText  string // every tool result carries this
	}{
		{"upstream answers 500 echoing the key", echoing.URL(), echoing, "HTTP 500"},
		{"connection refused", refused, nil, "connection refused"},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			stdout, stderr, code := rawStdioSession(t, []string{
				"MIOSA_API_KEY=" + testKey, "MIOSA_API_URL=" + run.url, "MIOSA_LOG_LEVEL=debug", "MIOSA_TIMEOUT_MS=5000",
			}, hygieneScript)
			if code != 0 {
				t.Errorf("exit code %d after stdin closed, want 0\nstderr:\n%s", code, stderr)
			}
			msgs := map[float64]map[string]any{}
			lines := strings.Split(stdout, "\n")
			if lines[len(lines)-1] != "" {
				t.Errorf("stdout does not end with a newline: %q", lines[len(lines)-1])
			}
			for i, line := range lines[:len(lines)-1] {
				var m map[string]any
				switch {
				case strings.TrimSpace(line) == "":
					t.Errorf("stdout line %d is empty", i+1)
					continue
				case json.Unmarshal([]byte(line), &m) != nil:
					t.Errorf("stdout line %d is not a JSON object: %q", i+1, line)
					continue
				case m["jsonrpc"] != "2.0":
					t.Errorf("stdout line %d is not JSON-RPC 2.0: %q", i+1, line)
					continue
				}
				_, hasResult := m["result"]
				_, hasError := m["error"]
				_, hasMethod := m["method"]
				id, hasID := m["id"]
				switch {
				case hasMethod && !hasResult && !hasError:
					// a notification or server request
				case hasID && hasResult != hasError:
					if f, ok := id.(float64); ok {
						msgs[f] = m
					}
				default:
					t.Errorf("stdout line %d is neither a response nor a notification: %q", i+1, line)
				}
			}
			for _, id := range hygieneIDs {
				if msgs[float64(id)] == nil {
					t.Errorf("request id %d was never answered", id)
				}
			}
			// Calls that reach the API fail with its error; bad arguments
			// are refused before; an unknown tool is a protocol error.
			for id := 4; id <= 12; id++ {
				m := msgs[float64(id)]
				if m == nil {
					continue
				}
				b, _ := json.Marshal(m)
				r, _ := m["result"].(map[string]any)
				switch {
				case id == 12:
					if m["error"] == nil {
						t.Errorf("unknown tool: %s, want a JSON-RPC error", b)
					}
				case r == nil || r["isError"] != true:
					t.Errorf("id %d: %s, want an isError tool result", id, b)
				case id == 11 && !strings.Contains(string(b), "command"):
					t.Errorf("invalid arguments: %s does not name the missing argument", b)
				case id < 11 && !strings.Contains(string(b), run.wantText):
					t.Errorf("id %d: %s lacks %q", id, b, run.wantText)
				}
			}
			if strings.Contains(stdout, testKey) {
				t.Errorf("stdout contains the API key")
			}
			if strings.Contains(stderr, testKey) {
				t.Errorf("stderr contains the API key:\n%s", stderr)
			}
			if !strings.Contains(stderr, "level=DEBUG") {
				t.Errorf("no debug log line on stderr at MIOSA_LOG_LEVEL=debug:\n%s", stderr)
			}
			if run.up != nil && run.up.Count() == 0 {
				t.Errorf("the upstream was never called, so the echo was not exercised")
			}
		})
	}
}

// hygieneScript is the raw session: a handshake, listing, tool calls of
// every result kind and failure path, garbage input, and a ping.
var hygieneScript = []string{
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e-raw","version":"1"}}}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}`,
	`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`,
	`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"sandbox_get","arguments":{"id":"sb-1"}}}`,
	`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"sandbox_create","arguments":{"name":"x","wait":true,"wait_timeout_sec":2}}}`,
	`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"desktop_screenshot","arguments":{"computer_id":"c1"}}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"file_read","arguments":{"computer_id":"c1","path":"/etc/hosts"}}}`,
	`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"sandbox_logs","arguments":{"id":"sb-1","lines":5}}}`,
	`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"sandbox_python","arguments":{"id":"sb-1","code":"print(1)"}}}`,
	`{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"storage_object_upload","arguments":{"bucket":"b","key":"k","content":"hi"}}}`,
	`{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"sandbox_exec","arguments":{"id":"sb-1"}}}`,
	`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}`,
	`this line is not JSON`,
	`{"jsonrpc":"2.0","id":13,"method":"ping"}`,
}

var hygieneIDs = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}

// rawStdioSession spawns the binary, writes lines to stdin one by one,
// waits until every request id was answered, closes stdin and returns all
// of stdout and stderr and the exit code.
func rawStdioSession(t *testing.T, env []string, lines []string) (string, string, int) {
	t.Helper()
	p := testsupport.Command(t, testsupport.Binary(t), env)
	stdin, err := p.Cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutPipe, err := p.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	var stdout testsupport.Buffer
	ids := make(chan float64, 64)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r := bufio.NewReader(stdoutPipe)
		for {
			line, err := r.ReadString('\n')
			stdout.Write([]byte(line))
			p.Keys.ScanString("stdout of miosa-mcp stdio", line)
			var m struct {
				ID     any             `json:"id"`
				Result json.RawMessage `json:"result"`
				Error  json.RawMessage `json:"error"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && (m.Result != nil || m.Error != nil) {
				if f, ok := m.ID.(float64); ok {
					ids <- f
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for _, l := range lines {
		if _, err := io.WriteString(stdin, l+"\n"); err != nil {
			t.Fatalf("writing to stdin: %v\nstderr:\n%s", err, p.Stderr.String())
		}
	}
	want := 0
	for _, l := range lines {
		if strings.Contains(l, `"id":`) {
			want++
		}
	}
	deadline := time.After(30 * time.Second)
	for got := 0; got < want; got++ {
		select {
		case <-ids:
		case <-deadline: // the process is killed at cleanup
			t.Fatalf("only %d of %d responses arrived\nstdout:\n%s\nstderr:\n%s", got, want, stdout.String(), p.Stderr.String())
		}
	}
	stdin.Close()
	<-readDone
	<-p.Exited
	code := 0
	var ee *exec.ExitError
	if errors.As(p.WaitErr, &ee) {
		code = ee.ExitCode()
	} else if p.WaitErr != nil {
		t.Fatal(p.WaitErr)
	}
	return stdout.String(), p.Stderr.String(), code
}

// TestMissingKeyStdio: without MIOSA_API_KEY the server still starts and
// lists its tools, warns on stderr, and every call explains how to set the
// key in the MCP config; nothing is sent upstream.
func TestMissingKeyStdio(t *testing.T) {
	up := newUpstream(t)
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			c, stderr, init := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{
				Env:     []string{"MIOSA_API_URL=" + up.URL()},
				Version: era.pin,
			})
			if init.ProtocolVersion != era.want {
				t.Errorf("negotiated %s, want %s", init.ProtocolVersion, era.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			listed, err := listAllTools(ctx, c)
			if err != nil || len(listed) != catalogSize {
				t.Fatalf("tools/list: %d tools, %v", len(listed), err)
			}
			for _, call := range []struct {
				name string
				args map[string]any
			}{
				{"sandbox_get", map[string]any{"id": "sb-1"}},
				{"sandbox_create", map[string]any{"wait": false}},
				{"desktop_screenshot", map[string]any{"computer_id": "c1"}},
			} {
				res, err := testsupport.CallTool(ctx, c, call.name, call.args)
				if err != nil {
					t.Fatalf("%s: %v (want an isError result)", call.name, err)
				}
				txt := testsupport.ResultText(res)
				if !res.IsError {
					t.Errorf("%s without a key succeeded: %s", call.name, txt)
				}
				for _, want := range []string{"MIOSA_API_KEY", "MCP config", `"env"`, "msk_u_"} {
					if !strings.Contains(txt, want) {
						t.Errorf("%s error %q does not mention %s", call.name, txt, want)
					}
				}
			}
			if n := up.Count(); n != 0 {
				t.Errorf("%d request(s) went upstream without a key", n)
			}
			if s := stderr.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "MIOSA_API_KEY") {
				t.Errorf("no MIOSA_API_KEY warning on stderr:\n%s", s)
			}
		})
	}
}

// TestStartupErrors: invalid configuration stops the binary quickly with
// exit code 2 and a message naming the setting and what is accepted, and
// nothing on stdout (an editor would try to parse it as JSON-RPC).
func TestStartupErrors(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
		want []string // stderr must contain each
	}{
		{"http API URL to a non-loopback host", []string{"MIOSA_API_URL=http://api.miosa.ai"}, nil, []string{"MIOSA_API_URL", "https", "localhost"}},
		{"ftp API URL", []string{"MIOSA_API_URL=ftp://api.miosa.ai"}, nil, []string{"MIOSA_API_URL", "https"}},
		{"API URL that is not a URL", []string{"MIOSA_API_URL=not a url"}, nil, []string{"MIOSA_API_URL", "https://api.miosa.ai"}},
		{"API URL with a bad escape", []string{"MIOSA_API_URL=https://api.miosa.ai/%zz"}, nil, []string{"MIOSA_API_URL", "not a URL"}},
		{"API URL with credentials", []string{"MIOSA_API_URL=https://user:pw@api.miosa.ai"}, nil, []string{"MIOSA_API_URL", "credentials"}},
		{"timeout not a number", []string{"MIOSA_TIMEOUT_MS=abc"}, nil, []string{"MIOSA_TIMEOUT_MS", "milliseconds", "30000"}},
		{"unknown log level", []string{"MIOSA_LOG_LEVEL=loud"}, nil, []string{"MIOSA_LOG_LEVEL", "debug, info, warn or error"}},
		{"read-only not a boolean", []string{"MIOSA_READ_ONLY=maybe"}, nil, []string{"MIOSA_READ_ONLY", "true or false"}},
		{"unknown toolset flag", nil, []string{"--toolsets", "nope"}, []string{`"nope"`, "valid toolsets", "sandbox", "core"}},
		{"unknown toolset env", []string{"MIOSA_TOOLSETS=nope"}, nil, []string{`"nope"`, "valid toolsets"}},
		{"unknown tool flag", nil, []string{"--tools", "nope"}, []string{`"nope"`, "valid tools", "sandbox_create"}},
		{"unknown excluded tool", nil, []string{"--exclude-tools", "nope"}, []string{`"nope"`, "valid tools"}},
		{"http: unknown toolset", nil, []string{"http", "--listen", "127.0.0.1:0", "--toolsets", "nope"}, []string{`"nope"`, "valid toolsets"}},
		{"http: invalid API URL", []string{"MIOSA_API_URL=ftp://x"}, []string{"http", "--listen", "127.0.0.1:0"}, []string{"MIOSA_API_URL", "https"}},
		{"OTLP timeout not a number", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_TIMEOUT=10s"}, nil, []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "milliseconds"}},
		{"OTLP client certificate without its key", []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=/nonexistent.pem"}, nil, []string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY"}},
		{"unknown flag", nil, []string{"--bogus"}, []string{"bogus"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := testsupport.Command(t, testsupport.Binary(t), append([]string{"MIOSA_API_KEY=" + testKey}, tc.env...), tc.args...)
			var stdout bytes.Buffer
			p.Cmd.Stdout = p.Keys.Writer("stdout of miosa-mcp", &stdout)
			start := time.Now()
			p.Start()
			select {
			case <-p.Exited:
			case <-time.After(15 * time.Second):
				t.Fatalf("still running after 15s\nstderr:\n%s", p.Stderr.String())
			}
			took := time.Since(start)
			stderr := p.Stderr
			var ee *exec.ExitError
			if !errors.As(p.WaitErr, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want exit code 2\nstderr:\n%s", p.WaitErr, stderr.String())
			}
			if took > 5*time.Second {
				t.Errorf("took %v to fail, want a quick start-up error", took)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty: %q", stdout.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not contain %q", stderr.String(), w)
				}
			}
			if strings.Contains(stderr.String(), testKey) {
				t.Errorf("stderr contains the API key")
			}
		})
	}
}
