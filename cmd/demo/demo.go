package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

const usageText = `Usage: go run ./cmd/demo [--bin bin/miosa-mcp] [--out-dir demo-output]

Starts "miosa-mcp --mock" (the offline mock of the MIOSA API: no account, no
network) and drives a real MCP session over stdio with mcp-go's client,
printing each step. Exits non-zero if any step fails.

Flags:
`

// run is the whole demo; it returns the process exit code: 0 when every
// step passed, 1 when a step failed, 2 for a usage problem.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin/miosa-mcp", "the miosa-mcp binary to run (make build writes bin/miosa-mcp)")
	outDir := fs.String("out-dir", "demo-output", "where to save the screenshot")
	protocol := fs.String("protocol", mcp.LATEST_LEGACY_PROTOCOL_VERSION, "MCP protocol version to ask for ("+mcp.LATEST_LEGACY_PROTOCOL_VERSION+" uses the initialize handshake editors use; "+mcp.LATEST_PROTOCOL_VERSION+" the stateless era)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	path, err := exec.LookPath(*bin)
	if err != nil {
		fmt.Fprintf(stderr, "demo: cannot run %s: %v\nBuild it first: make build (or go build -o bin/miosa-mcp ./cmd/miosa-mcp), or use make demo.\n", *bin, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	d := &demo{out: stdout, outDir: *outDir, protocol: *protocol, start: time.Now(), toolset: map[string]string{}}
	for _, t := range tools.All(nil) {
		d.toolset[t.Name] = t.Toolset
	}
	return d.run(ctx, path)
}

type demo struct {
	mu       sync.Mutex // guards out: progress arrives on the client's goroutine
	out      io.Writer
	outDir   string
	protocol string
	start    time.Time
	toolset  map[string]string // catalog tool → toolset, for the per-toolset counts
	cl       *client.Client
	logs     testsupport.Buffer // the server's stderr

	callStart time.Time
	progress  int // progress notifications seen for the current call

	sandboxID, computerID string
	screenshot            string
}

func (d *demo) printf(format string, a ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, format, a...)
}

type step struct {
	title string
	fn    func(context.Context) error
}

func (d *demo) run(ctx context.Context, bin string) int {
	d.printf("miosa-mcp demo: a real MCP session over stdio against the offline mock of the MIOSA API\n")
	d.printf("server: %s --mock   (nothing real is created; your MIOSA_* environment is not passed on)\n", bin)

	tr := transport.NewStdioWithOptions(bin, nil, []string{"--mock"},
		transport.WithCommandFunc(func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd := exec.CommandContext(ctx, command, args...)
			// Without MIOSA_*: the demo never picks up a real key, API URL
			// or tool selection from the caller's shell; it always runs the
			// full catalog against the mock.
			cmd.Env = testsupport.WithoutMIOSA(os.Environ())
			return cmd, nil
		}),
		transport.WithCommandStderrWriter(&d.logs))
	d.cl = client.NewClient(tr, client.WithProtocolVersion(d.protocol))
	d.cl.OnNotification(d.onNotification)
	if err := d.cl.Start(ctx); err != nil {
		d.printf("\nFAILED to start %s: %v\n", bin, err)
		return 1
	}
	defer d.cl.Close()

	steps := []step{
		{"initialize", d.initialize},
		{"tools/list", d.listTools},
		{"sandbox_create (wait=true, with a progress token)", d.sandboxCreate},
		{"sandbox_exec", d.sandboxExec},
		{"sandbox_write_file + sandbox_read_file, then run the file", d.sandboxFiles},
		{"computer_create (wait=true, with a progress token)", d.computerCreate},
		{"desktop_screenshot", d.screenshotStep},
	}
	failed := false
	for i, s := range steps {
		d.printf("\n[%d/%d] %s\n", i+1, len(steps)+1, s.title)
		if err := s.fn(ctx); err != nil {
			d.printf("  ✗ FAILED: %v\n", err)
			failed = true
			break
		}
	}
	d.printf("\n[%d/%d] clean up: destroy what the demo created\n", len(steps)+1, len(steps)+1)
	if err := d.cleanup(ctx); err != nil {
		d.printf("  ✗ FAILED: %v\n", err)
		failed = true
	}
	if logs := strings.TrimSpace(d.logs.String()); logs != "" {
		d.printf("\nserver log (stderr; stdout carried only JSON-RPC):\n")
		for _, l := range strings.Split(logs, "\n") {
			d.printf("  %s\n", l)
		}
	}
	if failed {
		d.printf("\nDemo FAILED after %s.\n", since(d.start))
		return 1
	}
	d.printf("\nDemo OK: %d steps in %s.", len(steps)+1, since(d.start))
	if d.screenshot != "" {
		d.printf(" Open the screenshot: %s", d.screenshot)
	}
	d.printf("\nNext: wire it into your editor with `miosa-mcp config claude-code` (or cursor, windsurf, vscode, claude-desktop).\n")
	return 0
}

func (d *demo) onNotification(n mcp.JSONRPCNotification) {
	if n.Method != string(mcp.MethodNotificationProgress) {
		return
	}
	f := n.Params.AdditionalFields
	d.mu.Lock()
	defer d.mu.Unlock()
	d.progress++
	fmt.Fprintf(d.out, "  … progress %v (+%s): %v\n", f["progress"], since(d.callStart), f["message"])
}

func (d *demo) initialize(ctx context.Context) error {
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = d.protocol
	req.Params.ClientInfo = mcp.Implementation{Name: "miosa-mcp-demo", Version: "1"}
	res, err := d.cl.Initialize(ctx, req)
	if err != nil {
		return err
	}
	d.printf("  server:   %s %s\n", res.ServerInfo.Name, res.ServerInfo.Version)
	d.printf("  protocol: %s\n", res.ProtocolVersion)
	lines := strings.Split(strings.TrimSpace(res.Instructions), "\n")
	if len(lines) == 0 || !strings.Contains(res.Instructions, "OFFLINE MOCK") {
		return fmt.Errorf("the instructions do not say the server runs against the offline mock")
	}
	d.printf("  instructions (%d lines, %d bytes; the client gives them to the model), first lines:\n", len(lines), len(res.Instructions))
	shown := 0
	for _, l := range lines {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		d.printf("    | %s\n", clip(l, 110))
		if shown++; shown == 3 {
			break
		}
	}
	return nil
}

func (d *demo) listTools(ctx context.Context) error {
	res, err := d.cl.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, t := range res.Tools {
		ts := d.toolset[t.Name]
		if ts == "" {
			ts = "other"
		}
		counts[ts]++
	}
	var parts []string
	for _, ts := range tools.Toolsets {
		if n := counts[ts.Name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", ts.Name, n))
		}
	}
	if n := counts["other"]; n > 0 {
		parts = append(parts, fmt.Sprintf("other %d", n))
	}
	d.printf("  %d tools in %d toolsets:\n", len(res.Tools), len(parts))
	for i := 0; i < len(parts); i += 7 {
		d.printf("    %s\n", strings.Join(parts[i:min(i+7, len(parts))], " · "))
	}
	if len(res.Tools) == 0 {
		return errors.New("no tools listed")
	}
	return nil
}

// call runs one tool call, printing the call and, when progress is asked
// for, the progress notifications as they arrive.
func (d *demo) call(ctx context.Context, name string, args map[string]any, withProgress bool) (*mcp.CallToolResult, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(args)
	d.mu.Lock()
	d.callStart, d.progress = time.Now(), 0
	fmt.Fprintf(d.out, "  → %s %s\n", name, bytes.TrimSpace(b.Bytes()))
	d.mu.Unlock()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	if withProgress {
		req.Params.Meta = &mcp.Meta{ProgressToken: "demo-" + name}
	}
	res, err := d.cl.CallTool(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if res.IsError {
		return nil, fmt.Errorf("%s returned an error: %s", name, testsupport.ResultText(res))
	}
	return res, nil
}

func (d *demo) sandboxCreate(ctx context.Context) error {
	res, err := d.call(ctx, "sandbox_create", map[string]any{"name": "miosa-demo", "wait": true}, true)
	if err != nil {
		return err
	}
	id, state := str(res.StructuredContent, "data.id"), str(res.StructuredContent, "data.state")
	if id == "" {
		return fmt.Errorf("sandbox_create returned no data.id: %s", testsupport.ResultText(res))
	}
	d.sandboxID = id
	if state != "running" {
		return fmt.Errorf("sandbox %s is %q after wait=true, want running", id, state)
	}
	if d.progressSeen() == 0 {
		return errors.New("no progress notifications arrived while waiting")
	}
	d.printf("  ✓ sandbox %s is %s (template %s) after %s\n", id, state, str(res.StructuredContent, "data.template_id"), since(d.callStart))
	return nil
}

func (d *demo) progressSeen() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.progress
}

func (d *demo) sandboxExec(ctx context.Context) error {
	res, err := d.call(ctx, "sandbox_exec", map[string]any{"id": d.sandboxID, "command": "echo \"hello from $HOSTNAME\" && python3 --version"}, false)
	if err != nil {
		return err
	}
	code, ok := get(res.StructuredContent, "data.exit_code")
	if !ok {
		return fmt.Errorf("sandbox_exec returned no data.exit_code: %s", testsupport.ResultText(res))
	}
	for _, l := range strings.Split(strings.TrimRight(str(res.StructuredContent, "data.stdout"), "\n"), "\n") {
		d.printf("    stdout | %s\n", l)
	}
	if e := strings.TrimSpace(str(res.StructuredContent, "data.stderr")); e != "" {
		d.printf("    stderr | %s\n", e)
	}
	d.printf("  ✓ exit_code %v\n", code)
	if fmt.Sprint(code) != "0" {
		return fmt.Errorf("exit_code %v, want 0", code)
	}
	return nil
}

func (d *demo) sandboxFiles(ctx context.Context) error {
	const content = "print('hello from a MIOSA sandbox')\n"
	if _, err := d.call(ctx, "sandbox_write_file", map[string]any{"id": d.sandboxID, "path": "/workspace/hello.py", "content": content}, false); err != nil {
		return err
	}
	d.printf("  ✓ wrote %d bytes to /workspace/hello.py\n", len(content))
	res, err := d.call(ctx, "sandbox_read_file", map[string]any{"id": d.sandboxID, "path": "workspace/hello.py"}, false)
	if err != nil {
		return err
	}
	got := testsupport.ResultText(res)
	d.printf("    file | %s\n", strings.TrimRight(got, "\n"))
	if got != content {
		return fmt.Errorf("read back %q, wrote %q", got, content)
	}
	d.printf("  ✓ read back the same %d bytes\n", len(got))
	res, err = d.call(ctx, "sandbox_exec", map[string]any{"id": d.sandboxID, "command": "python3 /workspace/hello.py"}, false)
	if err != nil {
		return err
	}
	stdout := str(res.StructuredContent, "data.stdout")
	d.printf("    stdout | %s\n", strings.TrimRight(stdout, "\n"))
	if stdout != "hello from a MIOSA sandbox\n" {
		return fmt.Errorf("running the file printed %q", stdout)
	}
	code, _ := get(res.StructuredContent, "data.exit_code")
	if fmt.Sprint(code) != "0" {
		return fmt.Errorf("exit_code %v, want 0", code)
	}
	d.printf("  ✓ exit_code %v\n", code)
	return nil
}

func (d *demo) computerCreate(ctx context.Context) error {
	res, err := d.call(ctx, "computer_create", map[string]any{"name": "miosa-demo-desktop", "wait": true}, true)
	if err != nil {
		return err
	}
	id, status := str(res.StructuredContent, "data.id"), str(res.StructuredContent, "data.status")
	if id == "" {
		return fmt.Errorf("computer_create returned no data.id: %s", testsupport.ResultText(res))
	}
	d.computerID = id
	if status != "running" {
		return fmt.Errorf("computer %s is %q after wait=true, want running", id, status)
	}
	if d.progressSeen() == 0 {
		return errors.New("no progress notifications arrived while waiting")
	}
	d.printf("  ✓ computer %s is %s after %s\n", id, status, since(d.callStart))
	return nil
}

func (d *demo) screenshotStep(ctx context.Context) error {
	res, err := d.call(ctx, "desktop_screenshot", map[string]any{"computer_id": d.computerID}, false)
	if err != nil {
		return err
	}
	for _, c := range res.Content {
		img, ok := c.(mcp.ImageContent)
		if !ok {
			continue
		}
		data, err := base64.StdEncoding.DecodeString(img.Data)
		if err != nil {
			return fmt.Errorf("image content is not base64: %w", err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("image content (%s) is not a PNG: %w", img.MIMEType, err)
		}
		if err := os.MkdirAll(d.outDir, 0o755); err != nil {
			return err
		}
		path := filepath.Join(d.outDir, "screenshot.png")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		d.screenshot = path
		d.printf("  ✓ %s %dx%d, %d bytes, saved to %s\n", img.MIMEType, cfg.Width, cfg.Height, len(data), path)
		return nil
	}
	return fmt.Errorf("desktop_screenshot returned no image: %s", testsupport.ResultText(res))
}

// cleanup destroys whatever the demo created, even after a failed step.
func (d *demo) cleanup(ctx context.Context) error {
	var errs []error
	if d.sandboxID != "" {
		if _, err := d.call(ctx, "sandbox_destroy", map[string]any{"id": d.sandboxID}, false); err != nil {
			errs = append(errs, err)
		} else {
			d.printf("  ✓ sandbox %s destroyed\n", d.sandboxID)
		}
	}
	if d.computerID != "" {
		if _, err := d.call(ctx, "computer_destroy", map[string]any{"id": d.computerID}, false); err != nil {
			errs = append(errs, err)
		} else {
			d.printf("  ✓ computer %s destroyed\n", d.computerID)
		}
	}
	if d.sandboxID == "" && d.computerID == "" {
		d.printf("  nothing to destroy\n")
	}
	return errors.Join(errs...)
}

// get follows a dotted path into decoded JSON.
func get(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

func str(v any, path string) string {
	x, _ := get(v, path)
	s, _ := x.(string)
	return s
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func since(t time.Time) string {
	return time.Since(t).Round(10 * time.Millisecond).String()
}
