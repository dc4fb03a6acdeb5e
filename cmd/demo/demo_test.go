package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runDemo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDemoEndToEnd runs the whole demo against the mock, as `make demo`
// does, in both protocol eras, and checks every step and the PNG.
func TestDemoEndToEnd(t *testing.T) {
	for _, protocol := range []string{"2025-11-25", "2026-07-28"} {
		t.Run(protocol, func(t *testing.T) {
			// A real key and a narrowing selection in the caller's
			// environment must not reach the demo's server.
			t.Setenv("MIOSA_API_KEY", "msk_u_must_not_be_used_123")
			t.Setenv("MIOSA_TOOLSETS", "billing")
			outDir := filepath.Join(t.TempDir(), "out")
			start := time.Now()
			code, out, errOut := runDemo(t, "--bin", testsupport.PlainBinary(t), "--out-dir", outDir, "--protocol", protocol)
			if code != 0 {
				t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("demo took %s; it should take a few seconds", d)
			}
			wants := []string{
				"[1/8] initialize",
				"server:   miosa-mcp ",
				"protocol: " + protocol,
				"| NOTE: OFFLINE MOCK of the MIOSA API",
				"[2/8] tools/list",
				"151 tools in 21 toolsets",
				"computer 8 · desktop 30",
				"[3/8] sandbox_create",
				`→ sandbox_create {"name":"miosa-demo","wait":true}`,
				"[4/8] sandbox_exec",
				"✓ exit_code 0",
				"[5/8] sandbox_write_file + sandbox_read_file",
				"file | print('hello from a MIOSA sandbox')",
				"✓ read back the same",
				"stdout | hello from a MIOSA sandbox",
				"[6/8] computer_create",
				"[7/8] desktop_screenshot",
				"saved to " + filepath.Join(outDir, "screenshot.png"),
				"[8/8] clean up",
				"server log (stderr; stdout carried only JSON-RPC):",
				"OFFLINE MOCK",
				"Demo OK: 8 steps",
			}
			for _, w := range wants {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, re := range []string{
				`(?m)^  … progress 1 \(\+.*\): sandbox_create \S+: \S+`,
				`(?m)^  ✓ sandbox \S+ is running`,
				`(?m)^  … progress 1 \(\+.*\): computer_create \S+: \S+`,
				`(?m)^  ✓ computer \S+ is running`,
				`(?m)^  ✓ image/png \d+x\d+, \d+ bytes`,
				`(?m)^  ✓ sandbox \S+ destroyed`,
				`(?m)^  ✓ computer \S+ destroyed`,
			} {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("output does not match %s", re)
				}
			}
			if strings.Contains(out, "msk_u_must_not_be_used_123") {
				t.Error("the caller's key reached the demo output")
			}
			f, err := os.Open(filepath.Join(outDir, "screenshot.png"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("screenshot.png does not decode: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
				t.Errorf("screenshot is only %v", b)
			}
			if t.Failed() {
				t.Logf("demo output:\n%s", out)
			}
		})
	}
}

func TestDemoFailures(t *testing.T) {
	notMCP, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no `true` binary")
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout+stderr
	}{
		{"missing binary", []string{"--bin", filepath.Join(t.TempDir(), "nope")}, 2, "Build it first: make build"},
		{"not an MCP server", []string{"--bin", notMCP, "--out-dir", t.TempDir(), "--timeout", "10s"}, 1, "✗ FAILED"},
		{"unknown flag", []string{"--bogus"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"extra"}, 2, "Usage: go run ./cmd/demo"},
		{"help", []string{"--help"}, 0, "Usage: go run ./cmd/demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runDemo(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d (want %d), want %q in\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, tt.want, out, errOut)
			}
			if tt.wantCode == 1 && !strings.Contains(out, "Demo FAILED") {
				t.Errorf("a failed demo should say so:\n%s", out)
			}
		})
	}
}
