package testsupport

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBuildKeyFollowsTheSources: the cached binary is rebuilt exactly when
// an input of the build changes (a Go source, go.mod, an embedded file, the
// race flag), not when a test, testdata or another module does.
func TestBuildKeyFollowsTheSources(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module "+modulePath+"\n")
	write("go.sum", "")
	write("cmd/miosa-mcp/main.go", "package main\n\nfunc main() {}\n")
	write("api/embed.go", "package api\n\nimport _ \"embed\"\n\n//go:embed openapi.yaml\nvar Spec []byte\n")
	write("api/openapi.yaml", "openapi: 3.0.3\n")
	key := func() string {
		t.Helper()
		k, err := buildKey(root, false)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key()
	if race, _ := buildKey(root, true); race == base {
		t.Error("the race build has the plain build's key")
	}
	for _, tc := range []struct {
		name, file, content string
		changes             bool
	}{
		{"a test", "cmd/miosa-mcp/main_test.go", "package main\n", false},
		{"testdata", "api/testdata/x.go", "package x\n", false},
		{"another module", "tools/go.mod", "module tools\n", false},
		{"another module's source", "tools/tools.go", "package tools\n", false},
		{"a README", "README.md", "# hi\n", false},
		{"a source", "cmd/miosa-mcp/main.go", "package main\n\nfunc main() { println() }\n", true},
		{"an embedded file", "api/openapi.yaml", "openapi: 3.1.0\n", true},
		{"go.mod", "go.mod", "module " + modulePath + "\n\ngo 1.26\n", true},
	} {
		write(tc.file, tc.content)
		if got := key(); (got != base) != tc.changes {
			t.Errorf("%s: key changed = %v, want %v", tc.name, got != base, tc.changes)
		}
		base = key()
	}
}
