// Package npm_test proves the no-Go install path from the packed npm
// tarballs: `make npm-test` builds the linux/amd64 binary and packs
// @miosa/mcp and @miosa/mcp-linux-x64 exactly as `make dist` and
// `make npm-pack` do, then runs these tests with the pinned Node 22 and no
// network (an offline install from the tarball files, and `npx -y
// @miosa/mcp` against a local registry that serves only those tarballs).
//
// The tests skip unless MIOSA_NPM_TEST_DIST (the dist directory holding
// metadata.json, the binary and npm/*.tgz) and MIOSA_NODE_BIN (the pinned
// Node's bin directory) are set; `make npm-test` sets both.
package npm_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/dist"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		if fix != nil {
			os.RemoveAll(fix.scratch)
		}
	}))
}

// fixture is what every test uses: the release under test and a project
// with it installed offline.
type fixture struct {
	rel      *dist.Release
	binary   string // the stamped binary, as `make dist` staged it
	tarballs map[string]string
	nodeBin  string
	project  string // a temporary project with both tarballs installed
	cache    string // that install's npm cache
	scratch  string // holds both; removed after the tests
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

// setup installs the tarballs once per test binary.
func setup(t *testing.T) *fixture {
	t.Helper()
	distDir, nodeBin := os.Getenv("MIOSA_NPM_TEST_DIST"), os.Getenv("MIOSA_NODE_BIN")
	if distDir == "" || nodeBin == "" {
		t.Skip("set MIOSA_NPM_TEST_DIST and MIOSA_NODE_BIN, or run `make npm-test`")
	}
	fixOnce.Do(func() { fix, fixErr = newFixture(distDir, nodeBin) })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func newFixture(distDir, nodeBin string) (*fixture, error) {
	rel, err := dist.ReadRelease(distDir)
	if err != nil {
		return nil, err
	}
	f := &fixture{rel: rel, nodeBin: nodeBin, tarballs: map[string]string{}}
	for _, a := range rel.Artifacts {
		if a.OS == "linux" && a.Arch == "amd64" {
			f.binary = filepath.Join(distDir, a.Binary)
		}
	}
	if f.binary == "" {
		return nil, fmt.Errorf("%s has no linux/amd64 binary", distDir)
	}
	tgz, err := filepath.Glob(filepath.Join(distDir, "npm", "*.tgz"))
	if err != nil || len(tgz) == 0 {
		return nil, fmt.Errorf("no npm tarballs in %s/npm (%v)", distDir, err)
	}
	for _, p := range tgz {
		m, err := readManifest(p)
		if err != nil {
			return nil, err
		}
		f.tarballs[m.Name] = p
	}
	for _, name := range []string{dist.NPMScope, dist.NPMScope + "-linux-x64"} {
		if f.tarballs[name] == "" {
			return nil, fmt.Errorf("%s/npm has no tarball for %s", distDir, name)
		}
	}
	// The fixture outlives any one test, so it is not a t.TempDir;
	// TestMain removes it.
	scratch, err := os.MkdirTemp("", "miosa-npm-test-")
	if err != nil {
		return nil, err
	}
	f.scratch = scratch
	f.project, f.cache = filepath.Join(scratch, "project"), filepath.Join(scratch, "cache")
	if err := os.MkdirAll(f.project, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(f.project, "package.json"), []byte(`{"private": true}`+"\n"), 0o644); err != nil {
		return nil, err
	}
	// --offline and an unreachable registry: nothing can come from the
	// network; the launcher's other five optional dependencies are simply
	// not installed (they are for other platforms).
	out, err := f.npm(context.Background(), f.project, f.cache, "http://127.0.0.1:9/",
		"install", "--offline", "--no-audit", "--no-fund", f.tarballs[dist.NPMScope], f.tarballs[dist.NPMScope+"-linux-x64"])
	if err != nil {
		return nil, fmt.Errorf("npm install --offline: %v\n%s", err, out)
	}
	return f, nil
}

// env is a clean environment for Node and npm: the pinned Node first on
// PATH, a throwaway HOME, and npm's cache and registry set.
func (f *fixture) env(home, cache, registry string) []string {
	return []string{
		"PATH=" + f.nodeBin + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home,
		"npm_config_cache=" + cache,
		"npm_config_registry=" + registry,
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_audit=false",
		"npm_config_loglevel=warn",
	}
}

func (f *fixture) npm(ctx context.Context, dir, cache, registry string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Path = lookPath(f.nodeBin, "npm")
	cmd.Dir = dir
	cmd.Env = f.env(filepath.Dir(cache), cache, registry)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// lookPath finds name on the PATH a child gets (the pinned Node first).
func lookPath(nodeBin, name string) string {
	for _, d := range []string{nodeBin, "/usr/local/bin", "/usr/bin", "/bin"} {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	return name
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

type manifest struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	OS                   []string          `json:"os"`
	CPU                  []string          `json:"cpu"`
	Bin                  map[string]string `json:"bin"`
	MCPName              string            `json:"mcpName"`
	Scripts              map[string]string `json:"scripts"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
}

// readManifest reads package/package.json from an npm tarball.
func readManifest(tgz string) (manifest, error) {
	var m manifest
	b, err := exec.Command("tar", "-xzOf", tgz, "package/package.json").Output()
	if err != nil {
		return m, fmt.Errorf("%s: %v", tgz, err)
	}
	return m, json.Unmarshal(b, &m)
}

// outcome is how a process ended, as its parent sees it.
type outcome struct {
	code   int    // exit code, -1 when killed by a signal
	signal string // the signal that killed it, or ""
}

func (o outcome) String() string {
	if o.signal != "" {
		return "killed by " + o.signal
	}
	return fmt.Sprintf("exit %d", o.code)
}

func outcomeOf(ps *os.ProcessState) outcome {
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return outcome{code: -1, signal: ws.Signal().String()}
	}
	return outcome{code: ws.ExitStatus()}
}

// proc is a started server process with raw access to its stdio.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Reader
	stderr *strings.Builder
	mu     sync.Mutex
	waited chan struct{}
	state  *os.ProcessState
	// stderrDone closes when every process holding stderr has exited.
	stderrDone chan struct{}
}

// start runs argv in its own process group (so cleanup can stop whatever a
// wrapper left behind) with env.
func start(t *testing.T, dir string, env []string, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// stdin is an os.Pipe of our own: Wait would close a StdinPipe when the
	// process exits, and that EOF would stop any orphan it left behind,
	// hiding it. The write end stays open until the test closes it.
	stdinR, stdin, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = stdinR
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// stderr is an os.Pipe of our own, not a copying goroutine, so Wait
	// returns when the process ends even if a grandchild still holds it.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = pw
	// Every server serves with the mock's key (none is configured); what it
	// writes is scanned for it (testsupport), the report after the cleanup
	// below, which collects the output.
	testsupport.RegisterKey(app.MockKey)
	ks := testsupport.NewKeyScan(t)
	name := strings.Join(argv, " ")
	p := &proc{cmd: cmd, stdin: stdin, lines: bufio.NewReader(ks.Reader("stdout of "+name, stdout)), stderr: &strings.Builder{}, waited: make(chan struct{}), stderrDone: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	stdinR.Close()
	go func() {
		io.Copy(lockedWriter{&p.mu, p.stderr}, pr)
		pr.Close()
		close(p.stderrDone)
	}()
	go func() {
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.waited)
	}()
	t.Cleanup(func() {
		// Whatever is left of the process group (a wrapper's orphans) goes.
		stdin.Close()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.waited
		<-p.stderrDone
		ks.ScanString("stderr of "+name, p.stderrText())
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (p *proc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// groupGone waits up to d for every process of the group to end: its
// stderr closes when the last holder exits.
func (p *proc) groupGone(d time.Duration) bool {
	select {
	case <-p.stderrDone:
		return true
	case <-time.After(d):
		return false
	}
}

// wait waits up to d for the process to end.
func (p *proc) wait(t *testing.T, d time.Duration) outcome {
	t.Helper()
	select {
	case <-p.waited:
		return outcomeOf(p.state)
	case <-time.After(d):
		t.Fatalf("%v did not exit within %v\nstderr:\n%s", p.cmd.Args, d, p.stderrText())
		return outcome{}
	}
}
