// Package e2e_test drives the real miosa-mcp binary with real MCP clients:
// mcp-go's stdio client over a spawned process, its streamable-HTTP client
// against `miosa-mcp http`, and raw JSON-RPC lines where every byte of
// stdout must be seen. A recording httptest upstream stands in for the MIOSA
// API, so each test asserts what the API would have received.
package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// binPath is the miosa-mcp binary built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "miosa-mcp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "miosa-mcp")
	if err := buildBinary(binPath); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building miosa-mcp:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// buildBinary runs `go build -o out ./cmd/miosa-mcp` from the module root.
// Under -race the binary is built with -race too, so the concurrency tests
// check the server's own goroutines, not only the test's.
func buildBinary(out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/miosa-mcp")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, b)
	}
	return nil
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the miosa-mcp module")
	}
	return filepath.Dir(mod), nil
}
