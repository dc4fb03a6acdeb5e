package runtime_test

import (
	"bufio"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/gen/client"
	gentools "github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// One tool call stays in a few runtime files, one a stage (issue #13:
// select → validate → bind → send → shape → scrub, "6 runtime files or
// fewer"). The test measures it rather than trusting the layout: it runs
// itself twice under coverage, making one and then two sandbox_exec calls
// of the real catalog over ServeStdio, and the runtime code the second call
// adds is one call's path. The stdio transport (reading the line, the
// strict check, writing the answer) is not the call and is listed apart.

// callPathEnv makes TestCallPathFiles the child that makes that many calls.
const callPathEnv = "MIOSA_CALLPATH_CALLS"

// maxCallFiles is issue #13's target.
const maxCallFiles = 6

// stdioTransport are the files of the stdio transport around a call.
var stdioTransport = []string{"stdio.go", "strict.go", "numbers.go", "rpcerror.go"}

func TestCallPathFiles(t *testing.T) {
	if n := os.Getenv(callPathEnv); n != "" {
		calls, err := strconv.Atoi(n)
		if err != nil {
			t.Fatal(err)
		}
		makeExecCalls(t, calls)
		return
	}
	if testing.Short() {
		t.Skip("builds the runtime's tests twice under coverage")
	}
	if testing.CoverMode() != "" {
		t.Skip("the measure runs its own coverage")
	}
	dir := t.TempDir()
	one := coveredBlocks(t, filepath.Join(dir, "1.out"), 1)
	two := coveredBlocks(t, filepath.Join(dir, "2.out"), 2)
	files := map[string]map[string]bool{} // file → functions the second call ran
	for block, n := range two {
		if n <= one[block] {
			continue
		}
		file, line := blockStart(t, block)
		if files[file] == nil {
			files[file] = map[string]bool{}
		}
		files[file][funcAt(t, file, line)] = true
	}
	var call, transport []string
	funcs := 0
	for f, fns := range files {
		if slices.Contains(stdioTransport, f) {
			transport = append(transport, f)
			continue
		}
		call = append(call, fmt.Sprintf("%s (%d)", f, len(fns)))
		funcs += len(fns)
	}
	slices.Sort(call)
	slices.Sort(transport)
	t.Logf("one sandbox_exec call: %d runtime files, %d functions: %s; stdio transport: %s",
		len(call), funcs, strings.Join(call, ", "), strings.Join(transport, ", "))
	if len(call) == 0 {
		t.Fatal("the second call covered no runtime code: the measure is broken")
	}
	if len(call) > maxCallFiles {
		t.Errorf("one call runs in %d runtime files, want at most %d (a stage a file)", len(call), maxCallFiles)
	}
}

// coveredBlocks runs this test as the child making calls calls, and returns
// the execution count of each covered block of internal/runtime.
func coveredBlocks(t *testing.T, profile string, calls int) map[string]int {
	t.Helper()
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestCallPathFiles$", "-covermode=count",
		"-coverpkg=github.com/miosa-osa/miosa-mcp/internal/runtime", "-coverprofile="+profile, ".")
	cmd.Env = append(os.Environ(), callPathEnv+"="+strconv.Itoa(calls))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test under coverage: %v\n%s", err, out)
	}
	f, err := os.Open(profile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blocks := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "mode:") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		n, err := strconv.Atoi(line[i+1:])
		if err != nil {
			t.Fatalf("profile line %q: %v", line, err)
		}
		blocks[line[:i]] += n
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// blockStart is the file (in this directory) and first line of a profile
// block, "<import path>/file.go:L.C,L.C <statements>".
func blockStart(t *testing.T, block string) (string, int) {
	t.Helper()
	path, pos, _ := strings.Cut(block, ":")
	line, err := strconv.Atoi(pos[:strings.IndexByte(pos, '.')])
	if err != nil {
		t.Fatalf("profile block %q: %v", block, err)
	}
	return filepath.Base(path), line
}

// funcSpan is a function's name and lines in its file.
type funcSpan struct {
	name       string
	first, end int
}

var funcsOf = map[string][]funcSpan{}

// funcAt names the function declared in file around line.
func funcAt(t *testing.T, file string, line int) string {
	t.Helper()
	spans, ok := funcsOf[file]
	if !ok {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				spans = append(spans, funcSpan{fd.Name.Name, fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line})
			}
		}
		funcsOf[file] = spans
	}
	for _, sp := range spans {
		if sp.first <= line && line <= sp.end {
			return sp.name
		}
	}
	return "(file scope)"
}

// makeExecCalls serves the real catalog over ServeStdio and makes calls
// sandbox_exec calls with an explicit id, against an upstream that answers
// like the API.
func makeExecCalls(t *testing.T, calls int) {
	up := testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"stdout":"hi\n","stderr":"","exit_code":0}`)
	})
	base := up.Base()
	cl, err := client.NewClient(base.String(), client.WithHTTPClient(runtime.NewHTTPClient(runtime.RetryPolicy{})),
		client.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		t.Fatal(err)
	}
	catalog := gentools.All(cl)
	srv := runtime.NewServer(runtime.Options{Name: "callpath", Version: "0", Tools: catalog, Catalog: catalog,
		Toolsets: gentools.Toolsets, BaseURL: base, Timeout: 5 * time.Second, Mode: runtime.ModeStdio,
		Hints: gentools.Hints, Resources: gentools.Resources})
	c := testsupport.PipeClient(t, func(ctx context.Context, in io.Reader, out io.Writer) error {
		return srv.ServeStdio(ctx, in, out, runtime.StdioOptions{Key: runtime.NewAPIKey(testKey)})
	})
	testsupport.Initialize(t, c, "")
	for range calls {
		res := testsupport.MustCall(t, c, "sandbox_exec", map[string]any{"id": "sbx_1", "command": "echo hi"})
		if res.IsError || !strings.Contains(testsupport.ResultText(res), `"exit_code":0`) {
			t.Fatalf("sandbox_exec: %s", testsupport.ResultText(res))
		}
	}
}
