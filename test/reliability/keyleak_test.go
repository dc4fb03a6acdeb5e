package reliability_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// A hostile (or merely careless) API echoes the caller's key everywhere it
// can: log lines of the log tools (JSON and event streams), a status field
// a wait copies into progress notifications, error bodies and their field
// lists, the X-Request-ID header, a body whose text is cut right inside the
// key, file content and images. None of it may reach the caller (text,
// structuredContent, resources, progress, HTTP headers), stdout of
// `miosa-mcp call`, or the debug log. Every test here asserts that
// explicitly, on top of the helpers' automatic scan (internal/testsupport).

const hostileKey = "msk_u_hostile_Wc4Jq8Tn2Rz6Xb1Kp5"

var hostileSecret = hostileKey[len("msk_u_"):]

// textCut is the runtime's default text cap (runtime.Limits.TextBytes).
const textCut = 80_000

// straddleBody is a JSON document whose text copy is cut inside the key:
// 12 characters of the secret fall before the cut.
func straddleBody(key string) []byte {
	prefix := `{"data":"`
	pad := textCut - len(prefix) - len("msk_u_") - 12
	return []byte(prefix + strings.Repeat("x", pad) + key + strings.Repeat("y", 100) + `"}`)
}

// hostileUpstream answers every request by reflecting the Authorization
// key it received into the response.
func hostileUpstream(t *testing.T) *testsupport.Upstream {
	var mu sync.Mutex
	polls := map[string]int{}
	return testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("X-Request-ID", "req-"+key+" part "+key[8:22])
		w.Header().Set("X-Debug-Echo", key)
		p := strings.TrimPrefix(r.URL.Path, "/api/v1")
		switch {
		case strings.HasSuffix(p, "/logs") && strings.HasPrefix(p, "/sandboxes/"):
			testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"lines": []string{
				"boot ok", "auth: Bearer " + key, "half: " + key[:20], "tail: " + key[len(key)-12:],
				strings.Repeat("z", 1990) + key, // straddles the 2,000-byte line cut
			}}})
		case strings.Contains(p, "/services/") && strings.HasSuffix(p, "/logs"):
			testsupport.WriteJSON(w, 200, map[string]any{"data": []any{
				map[string]any{"line": "service started", "timestamp": "2026-01-01T00:00:00Z"},
				map[string]any{"line": "token=" + key, "timestamp": "2026-01-01T00:00:01Z"},
				map[string]any{"message": key, "level": "debug"},
			}})
		case strings.HasSuffix(p, "/logs"): // logs_tail: an event stream
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"line\":\"env API_KEY=%s\",\"stream\":\"stdout\"}\n\n", key)
			fmt.Fprintf(w, "data: raw %s\n\n", key)
			fmt.Fprintf(w, "event: x\ndata: {\"message\":\"%s\"}\n\n", key[:16])
		case r.Method == http.MethodPost && p == "/computers":
			testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "cmp_h1", "status": "creating " + key}})
		case p == "/computers/cmp_h1":
			mu.Lock()
			polls[p]++
			n := polls[p]
			mu.Unlock()
			st := "provisioning " + key
			if n >= 2 {
				st = "running"
			}
			testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "cmp_h1", "status": st, "note": key}})
		case p == "/computers/err401":
			testsupport.WriteJSON(w, 401, map[string]any{"error": map[string]any{"code": "UNAUTHORIZED", "message": "key " + key + " is revoked",
				"details": map[string]any{"authorization": []string{"Bearer " + key + " is invalid"}}}, "request_id": "req-" + key})
		case p == "/computers/err500":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(500)
			io.WriteString(w, "panic: invalid token "+key+"\n"+strings.Repeat("stack ", 100))
		case p == "/computers" && r.Method == http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			w.Write(straddleBody(key))
		case strings.HasSuffix(p, "/files/notes.txt"):
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "API_KEY="+key+"\n")
		case strings.HasSuffix(p, "/files/blob.bin"):
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(append([]byte{0, 1, 2, 0xff}, []byte(key+"\x00tail")...))
		case strings.HasSuffix(p, "/desktop/screenshot"):
			w.Header().Set("Content-Type", "image/png")
			w.Write(append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dtEXtComment\x00"), key...))
		default:
			testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "x1", "echo": key}})
		}
	})
}

// hostileCall is one tool call against the hostile upstream and what its
// (scrubbed) answer must still say.
type hostileCall struct {
	name, tool, args string
	want             []string // substrings of the JSON-RPC result
	progress         bool     // the call asks for progress and must get some
}

var hostileCalls = []hostileCall{
	{name: "sandbox_logs", tool: "sandbox_logs", args: `{"id":"sbx_1"}`, want: []string{"boot ok", `"structuredContent"`, Redacted}},
	{name: "service_logs", tool: "service_logs", args: `{"computer_id":"cmp_1","service_id":"svc_1"}`, want: []string{"service started", `"structuredContent"`, Redacted}},
	{name: "event-stream-logs", tool: "logs_tail", args: `{"computer_id":"cmp_1"}`, want: []string{"[stdout] env API_KEY=msk_u_" + Redacted, Redacted}},
	{name: "wait-status", tool: "computer_create", args: `{"wait":true,"wait_timeout_sec":30}`, want: []string{"Ready: cmp_h1 is running"}, progress: true},
	{name: "error-body", tool: "computer_get", args: `{"id":"err401"}`, want: []string{"HTTP 401", "UNAUTHORIZED", "is revoked", Redacted}},
	{name: "error-text-body", tool: "computer_get", args: `{"id":"err500"}`, want: []string{"HTTP 500", "invalid token msk_u_" + Redacted}},
	{name: "straddles-the-cut", tool: "computer_list", args: `{}`, want: []string{"truncated"}},
	{name: "text-file", tool: "sandbox_read_file", args: `{"id":"sbx_1","path":"notes.txt"}`, want: []string{"API_KEY=msk_u_" + Redacted}},
	{name: "binary-blob", tool: "sandbox_read_file", args: `{"id":"sbx_1","path":"blob.bin"}`, want: []string{`"blob"`}},
	{name: "image", tool: "desktop_screenshot", args: `{"computer_id":"cmp_1"}`, want: []string{`"image"`}},
	{name: "echo-field", tool: "sandbox_get", args: `{"id":"sbx_1"}`, want: []string{`"echo":"msk_u_` + Redacted}},
}

const Redacted = "[redacted]" // runtime.Redacted, restated: the test does not trust the code

// checkNoKey fails when data holds a fragment of the hostile key.
func checkNoKey(t *testing.T, channel string, data string) {
	t.Helper()
	if leak, found := testsupport.FindLeak([]byte(data)); found {
		t.Errorf("%s leaks the key: %s", channel, leak)
	}
}

// decodedBinary returns the decoded image/blob payloads of a tools/call
// response message.
func decodedBinary(t *testing.T, raw json.RawMessage) []string {
	var r struct {
		Result struct {
			Content []struct {
				Data     string `json:"data"`
				Resource struct {
					Blob string `json:"blob"`
				} `json:"resource"`
			} `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Errorf("the message is not JSON-RPC: %v", err)
	}
	var out []string
	for _, c := range r.Result.Content {
		for _, b64 := range []string{c.Data, c.Resource.Blob} {
			if b64 == "" {
				continue
			}
			b, err := decodeB64(b64)
			if err != nil {
				t.Errorf("binary content is not base64: %v", err)
			}
			out = append(out, string(b))
		}
	}
	return out
}

func checkHostileAnswer(t *testing.T, c hostileCall, result json.RawMessage, progress []rpcMsg) {
	t.Helper()
	checkNoKey(t, "the result", string(result))
	bins := decodedBinary(t, result)
	for _, b := range bins {
		checkNoKey(t, "decoded binary content", b)
	}
	if (c.name == "binary-blob" || c.name == "image") && len(bins) == 0 {
		t.Errorf("no binary content to check: %s", clip(string(result)))
	}
	for _, w := range c.want {
		if !strings.Contains(string(result), w) {
			t.Errorf("result lacks %q: %s", w, clip(string(result)))
		}
	}
	if c.progress {
		if len(progress) == 0 {
			t.Errorf("no progress notification arrived")
		}
		for _, p := range progress {
			checkNoKey(t, "a progress notification", p.Raw)
		}
		if !strings.Contains(fmt.Sprint(progress), Redacted) {
			t.Errorf("progress never quoted the (redacted) status: %v", progress)
		}
	}
}

// TestKeyNeverInAnyOutputChannelStdio runs every hostile call through the
// stdio binary: the JSON-RPC lines (results with their structuredContent,
// resources and blobs, and progress notifications) and the debug log.
func TestKeyNeverInAnyOutputChannelStdio(t *testing.T) {
	t.Parallel()
	up := hostileUpstream(t)
	s := startStdio(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_API_KEY": hostileKey, "MIOSA_LOG_LEVEL": "debug"})
	for i, c := range hostileCalls {
		t.Run(c.name, func(t *testing.T) {
			s.takeLoose()
			params := fmt.Sprintf(`{"name":%q,"arguments":%s,"_meta":{"progressToken":"tok-%d"}}`, c.tool, c.args, i)
			m := s.request(fmt.Sprint(i+1), "tools/call", params)
			if m.Error != nil {
				t.Fatalf("JSON-RPC error: %s", m.Raw)
			}
			checkHostileAnswer(t, c, json.RawMessage(m.Raw), s.takeLoose())
		})
	}
	t.Cleanup(func() { checkNoKey(t, "the debug log", s.Stderr.String()) })
	if !strings.Contains(s.Stderr.String(), "req-msk_u_"+Redacted) {
		t.Errorf("the debug log does not show the (scrubbed) request id of the failed calls:\n%s", clip(s.Stderr.String()))
	}
}

// TestKeyNeverInAnyOutputChannelHTTP runs every hostile call through the
// HTTP binary: response headers and bodies (SSE: results and progress)
// and the debug log.
func TestKeyNeverInAnyOutputChannelHTTP(t *testing.T) {
	t.Parallel()
	up := hostileUpstream(t)
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_LOG_LEVEL": "debug"})
	for i, c := range hostileCalls {
		t.Run(c.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s,"_meta":{"progressToken":"tok-%d"}}}`, i+1, c.tool, c.args, i)
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/mcp", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-11-25")
			req.Header.Set("Authorization", "Bearer "+hostileKey)
			testsupport.RegisterKey(hostileKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var hdr bytes.Buffer
			resp.Header.Write(&hdr)
			checkNoKey(t, "the response headers", hdr.String())
			checkNoKey(t, "the response body", string(raw))
			var result json.RawMessage
			var progress []rpcMsg
			for _, m := range parseMessages(resp.Header.Get("Content-Type"), raw) {
				if m.Method == "notifications/progress" {
					progress = append(progress, m)
				} else if len(m.Result) > 0 {
					result = json.RawMessage(m.Raw)
				}
			}
			if result == nil {
				t.Fatalf("no result: %s", clip(string(raw)))
			}
			checkHostileAnswer(t, c, result, progress)
		})
	}
	t.Cleanup(func() { checkNoKey(t, "the debug log", h.Stderr.String()) })
	// The HTTP server has no key of its own: the log is scrubbed with the
	// key of the request each record belongs to.
	if !strings.Contains(h.Stderr.String(), "req-msk_u_"+Redacted) {
		t.Errorf("the debug log does not show the (scrubbed) request id of the failed calls:\n%s", clip(h.Stderr.String()))
	}
}

// runCLI runs the binary once (e.g. `miosa-mcp call …`) and returns its
// stdout and stderr, both scanned for keys.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	p := testsupport.Command(t, testsupport.Binary(t), debugEnv(env), args...)
	var stdout bytes.Buffer
	p.Cmd.Stdout = p.Keys.Writer("stdout of miosa-mcp "+strings.Join(args, " "), &stdout)
	p.Start()
	<-p.Exited
	code := 0
	if ee, ok := p.WaitErr.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if p.WaitErr != nil {
		t.Fatal(p.WaitErr)
	}
	return stdout.String(), p.Stderr.String(), code
}

// TestKeyNeverInCallOutput: `miosa-mcp call` prints text and
// structuredContent to stdout; the key never appears there, for the log
// tools whose structuredContent carried it before (issue #10), or any
// other hostile call.
func TestKeyNeverInCallOutput(t *testing.T) {
	t.Parallel()
	up := hostileUpstream(t)
	env := map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_API_KEY": hostileKey}
	for _, c := range hostileCalls {
		if c.progress {
			continue // call prints no progress; the wait is covered above
		}
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, _ := runCLI(t, env, "call", c.tool, c.args)
			checkNoKey(t, "stdout of miosa-mcp call", stdout)
			checkNoKey(t, "stderr of miosa-mcp call", stderr)
			if stdout == "" {
				t.Errorf("no output; stderr: %s", stderr)
			}
		})
	}
	stdout, _, code := runCLI(t, env, "call", "sandbox_logs", `{"id":"sbx_1"}`)
	if code != 0 || !strings.Contains(stdout, `"lines"`) || !strings.Contains(stdout, "auth: Bearer msk_u_"+Redacted) {
		t.Errorf("sandbox_logs via call: exit %d, output %s", code, clip(stdout))
	}
}

// TestKeyStraddlingTheCutNeverLeaks: the text copy of a JSON answer is cut
// at 80,000 bytes; a key that straddles the cut leaves no fragment of its
// secret on either side (scrub first, then cut), whichever share of it
// falls before the cut.
func TestKeyStraddlingTheCutNeverLeaks(t *testing.T) {
	t.Parallel()
	var shift int
	var mu sync.Mutex
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		n := shift
		mu.Unlock()
		prefix := `{"data":"`
		pad := textCut - len(prefix) - n
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, prefix+strings.Repeat("x", pad)+key+strings.Repeat("y", 50)+`"}`)
	})
	s := startStdio(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_API_KEY": hostileKey})
	for n := 1; n < len(hostileKey); n++ {
		mu.Lock()
		shift = n
		mu.Unlock()
		m := s.request(fmt.Sprint(n), "tools/call", `{"name":"computer_list","arguments":{}}`)
		checkNoKey(t, fmt.Sprintf("a text cut %d bytes into the key", n), m.Raw)
		if !strings.Contains(m.Raw, "truncated") {
			t.Errorf("cut %d: the text was not cut: %s", n, clip(m.Raw))
		}
	}
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// uEscaped spells s with JSON \u escapes only, as an API may write any
// string character.
func uEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

var uEscapeRE = regexp.MustCompile(`\\u([0-9a-fA-F]{4})`)

// unescapeU decodes the \u escapes of s wherever they stand: what a model
// reading a cut JSON text would read.
func unescapeU(s string) string {
	return uEscapeRE.ReplaceAllStringFunc(s, func(e string) string {
		n, _ := strconv.ParseUint(e[2:], 16, 16)
		return string(rune(n))
	})
}

// TestKeyStraddlingTheKeptHeadNeverLeaks: of a JSON answer longer than the
// text cap only its first TextBytes+1 bytes are kept (runtime send.go), and
// that end is a cut too. A key straddling it, written plainly or spelled
// with \u escapes, is redacted from the kept head before the head is cut to
// the text cap, whichever byte the head ends at: no 10 characters of the
// secret reach the caller, read as sent or with the escapes decoded.
func TestKeyStraddlingTheKeptHeadNeverLeaks(t *testing.T) {
	t.Parallel()
	const head = textCut + 1 // what is kept of a longer answer
	const prefix = `{"data":"`
	var mu sync.Mutex
	var spelled string // the key as the API writes it
	var kept int       // how many bytes of it fall inside the head
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		k, n := spelled, kept
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		// Streamed: far longer than is ever kept whole.
		io.WriteString(w, prefix+strings.Repeat("x", head-len(prefix)-n)+k+strings.Repeat("y", 256<<10)+`"}`)
	})
	s := startStdio(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_API_KEY": hostileKey})
	id := 0
	for _, form := range []struct {
		name, key string
		step      int
	}{
		{"plain", hostileKey, 1},
		{"u-escaped", uEscaped(hostileKey), 5},
	} {
		redacted := 0
		for n := 1; n < len(form.key); n += form.step {
			mu.Lock()
			spelled, kept = form.key, n
			mu.Unlock()
			id++
			m := s.request(fmt.Sprint(id), "tools/call", `{"name":"computer_list","arguments":{}}`)
			_, text, ok := m.toolResult()
			if !ok {
				t.Fatalf("%s, %d bytes kept: no tool result: %s", form.name, n, clip(m.Raw))
			}
			where := fmt.Sprintf("%s key, %d of its %d bytes inside the kept head", form.name, n, len(form.key))
			checkNoKey(t, where, m.Raw)
			checkNoKey(t, where+", escapes decoded", unescapeU(text))
			if !strings.Contains(text, "truncated") {
				t.Errorf("%s: the text was not cut: %s", where, clip(text))
			}
			if strings.Contains(text, Redacted) {
				redacted++
			}
		}
		if redacted == 0 {
			t.Errorf("%s: no answer showed the key redacted; the key never reached the kept text", form.name)
		}
	}
}

// TestKeyInTailedLogLinesNeverLeaks: a log answer too long to keep (a text
// body over 1 MiB, or an event stream) is read keeping its last lines, each
// cut to its first 2,001 bytes as it is read (runtime logs.go). A key in
// such a line, whole or straddling that cut (and the 2,000-byte line cut)
// at any byte, never reaches the text or structuredContent: every line
// whose kept head holds 10 characters of the secret shows it redacted.
func TestKeyInTailedLogLinesNeverLeaks(t *testing.T) {
	t.Parallel()
	const lineHead = 2001 // bytes kept of a long line
	keyLines := func(key string) []string {
		lines := []string{"auth: Bearer " + key, "half " + key[:20]}
		for n := 1; n < len(key); n++ { // n bytes of the key inside the line's head
			lines = append(lines, strings.Repeat("z", lineHead-n)+key+" after the key")
		}
		return lines
	}
	// The lines whose head holds at least testsupport.MinFragment characters of the
	// secret: the first two, and those with n >= len("msk_u_")+testsupport.MinFragment.
	wantRedacted := 2 + len(hostileSecret) - testsupport.MinFragment
	nLines := len(keyLines(hostileKey))
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.HasPrefix(r.URL.Path, "/api/v1/sandboxes/") {
			w.Header().Set("Content-Type", "text/plain")
			filler := strings.Repeat(strings.Repeat("f", 99)+"\n", (1<<20)/100+10) // past the 1 MiB kept whole
			io.WriteString(w, filler+strings.Join(keyLines(key), "\n")+"\n")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, l := range keyLines(key) {
			fmt.Fprintf(w, "data: {\"line\":%q}\n\n", l)
		}
	})
	s := startStdio(t, map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_API_KEY": hostileKey})
	for i, c := range []struct{ name, tool, args string }{
		{"text-over-1MiB", "sandbox_logs", fmt.Sprintf(`{"id":"sbx_1","lines":%d}`, nLines)},
		{"event-stream", "logs_tail", fmt.Sprintf(`{"computer_id":"cmp_1","lines":%d}`, nLines)},
	} {
		m := s.request(fmt.Sprint(i+1), "tools/call", fmt.Sprintf(`{"name":%q,"arguments":%s}`, c.tool, c.args))
		isErr, text, ok := m.toolResult()
		if !ok || isErr {
			t.Fatalf("%s: want a log result, got %s", c.name, clip(m.Raw))
		}
		checkNoKey(t, c.name, m.Raw)
		var r struct {
			Result struct {
				StructuredContent struct {
					Data struct {
						Lines []string `json:"lines"`
					} `json:"data"`
				} `json:"structuredContent"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(m.Raw), &r); err != nil {
			t.Fatal(err)
		}
		lines := r.Result.StructuredContent.Data.Lines
		if len(lines) != nLines {
			t.Fatalf("%s: %d lines in structuredContent, want the last %d", c.name, len(lines), nLines)
		}
		redacted := 0
		for _, l := range lines {
			// A marker right at the line cut may itself be cut.
			if strings.Contains(l, Redacted[:7]) {
				redacted++
			}
		}
		if redacted != wantRedacted {
			t.Errorf("%s: %d lines show the key redacted, want %d", c.name, redacted, wantRedacted)
		}
		if strings.Count(text, "line cut") != nLines-2 {
			t.Errorf("%s: %d long lines cut in the text, want %d: %s", c.name, strings.Count(text, "line cut"), nLines-2, clip(text))
		}
	}
}
