package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckMode: -check passes on fresh output and fails, naming the file,
// on every kind of staleness; it never writes.
func TestCheckMode(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"api/openapi.yaml", "tools.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(root, f), b, 0o644)
	}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Run(append([]string{"-root", root}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run("-check"); code != 1 || !strings.Contains(out, "gen/client/client.gen.go: missing") {
		t.Fatalf("check before generation: %d %s", code, out)
	}
	if code, out := run(); code != 0 {
		t.Fatalf("generate: %d %s", code, out)
	}
	if code, out := run("-check"); code != 0 {
		t.Fatalf("check after generation: %d %s", code, out)
	}
	edited := filepath.Join(root, "gen/tools/desktop.gen.go")
	b, _ := os.ReadFile(edited)
	os.WriteFile(edited, append(b, []byte("\n// hand edit\n")...), 0o644)
	if code, out := run("-check"); code != 1 || !strings.Contains(out, "gen/tools/desktop.gen.go: out of date") {
		t.Fatalf("check after a hand edit: %d %s", code, out)
	}
	if b2, _ := os.ReadFile(edited); !bytes.Contains(b2, []byte("hand edit")) {
		t.Fatal("-check wrote files")
	}
	run()
	os.WriteFile(filepath.Join(root, "gen/tools/old.gen.go"), []byte("package tools\n"), 0o644)
	if code, out := run("-check"); code != 1 || !strings.Contains(out, "gen/tools/old.gen.go: no longer generated") {
		t.Fatalf("check with an orphan: %d %s", code, out)
	}
	tools, _ := os.ReadFile(filepath.Join(root, "tools.yaml"))
	os.WriteFile(filepath.Join(root, "tools.yaml"), bytes.Replace(tools, []byte("name: computer_get\n        operation: getComputer\n"), []byte("name: computer_get\n        operation: getComputr\n"), 1), 0o644)
	if code, out := run("-check"); code != 1 || !strings.Contains(out, `operation "getComputr" does not exist`) || !strings.Contains(out, `did you mean "getComputer"`) {
		t.Fatalf("check with a misspelled operation: %d %s", code, out)
	}
}
