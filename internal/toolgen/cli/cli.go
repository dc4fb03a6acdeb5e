// Package cli is cmd/toolgen's command line: it reads the inputs, calls the
// pure generator (internal/toolgen) and writes or checks the files.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/miosa-osa/miosa-mcp/internal/toolgen"
)

// Module is this repository's Go module path.
const Module = "github.com/miosa-osa/miosa-mcp"

// Run executes cmd/toolgen and returns its exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("toolgen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	root := fl.String("root", ".", "repository root")
	check := fl.Bool("check", false, "write nothing; exit 1 if the generated files are stale or the catalog disagrees with the spec")
	stats := fl.Bool("stats", false, "print the tools/list cost per toolset")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	spec, err := os.ReadFile(filepath.Join(*root, "api/openapi.yaml"))
	if err != nil {
		fmt.Fprintln(stderr, "toolgen:", err)
		return 1
	}
	tools, err := os.ReadFile(filepath.Join(*root, "tools.yaml"))
	if err != nil {
		fmt.Fprintln(stderr, "toolgen:", err)
		return 1
	}
	composites, err := Composites(*root)
	if err != nil {
		fmt.Fprintln(stderr, "toolgen:", err)
		return 1
	}
	out, err := toolgen.Generate(toolgen.Inputs{Spec: spec, Tools: tools, ModulePath: Module, Composites: composites, Docs: true})
	if err != nil {
		var ge *toolgen.Error
		if errors.As(err, &ge) {
			fmt.Fprintf(stderr, "toolgen: api/openapi.yaml and tools.yaml disagree or are invalid: %v\n", err)
		} else {
			fmt.Fprintln(stderr, "toolgen:", err)
		}
		return 1
	}
	if *stats {
		fmt.Fprint(stdout, toolgen.FormatStats(out.Stats))
	}
	existing := existingGenerated(*root)
	if *check {
		stale := toolgen.Diff(out, func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(*root, p)) }, existing)
		if len(stale) > 0 {
			fmt.Fprintf(stderr, "toolgen: generated files are stale; run `go generate ./...` (or make generate) and commit:\n  %s\n", strings.Join(stale, "\n  "))
			return 1
		}
		fmt.Fprintf(stdout, "toolgen: %d files up to date (%d tools, tools/list %d tokens)\n", len(out.Files), len(out.Stats.Tools), out.Stats.TotalTokens)
		return 0
	}
	for _, p := range existing {
		if _, ok := out.Files[p]; !ok {
			os.Remove(filepath.Join(*root, p))
		}
	}
	for p, b := range out.Files {
		full := filepath.Join(*root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			fmt.Fprintln(stderr, "toolgen:", err)
			return 1
		}
		if cur, err := os.ReadFile(full); err == nil && string(cur) == string(b) {
			continue
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			fmt.Fprintln(stderr, "toolgen:", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "toolgen: wrote %d files (%d tools, tools/list %d bytes, %d tokens)\n", len(out.Files), len(out.Stats.Tools), out.Stats.TotalBytes, out.Stats.TotalTokens)
	return 0
}

// existingGenerated lists the *.gen.go files currently under gen/.
func existingGenerated(root string) []string {
	var out []string
	filepath.WalkDir(filepath.Join(root, "gen"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gen.go") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}
