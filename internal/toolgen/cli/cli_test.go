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
	for _, f := range []string{"api/openapi.yaml", "tools.yaml", "internal/composite/sandbox_python.go", "internal/composite/deployment_publish.go"} {
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

// TestComposites: the registry is read from the //toolgen:handler directives
// next to the handlers, and a malformed directive is an error naming its line.
func TestComposites(t *testing.T) {
	got, err := Composites(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"sandbox_python":     Module + "/internal/composite.SandboxPython",
		"deployment_publish": Module + "/internal/composite.DeploymentPublish",
	}
	if len(got) != len(want) || got["sandbox_python"] != want["sandbox_python"] || got["deployment_publish"] != want["deployment_publish"] {
		t.Fatalf("Composites = %v, want %v", got, want)
	}
	const header = "package composite\n\n"
	cases := []struct{ name, src, want string }{
		{"no name", "//toolgen:handler \nfunc A() {}\n", "a.go:3: want //toolgen:handler NAME"},
		{"two words", "//toolgen:handler a b\nfunc A() {}\n", "a.go:3: want //toolgen:handler NAME"},
		{"unexported", "//toolgen:handler a\nfunc a() {}\n", "a.go:3: handler a must be an exported function, not a"},
		{"method", "type T struct{}\n\n//toolgen:handler a\nfunc (T) A() {}\n", "a.go:5: handler a must be an exported function"},
		{"declared twice", "//toolgen:handler a\nfunc A() {}\n\n//toolgen:handler a\nfunc B() {}\n", "a.go:6: handler a is also declared at internal/composite/a.go:3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "internal", "composite")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(header+tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Composites(root)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Composites: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
