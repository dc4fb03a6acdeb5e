package npm_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/dist"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

const catalogSize = 151

// TestPackageManifests checks what npm will see: names, the build's
// version, os/cpu on the platform package, exact-version optional
// dependencies on all six, the MCP Registry's mcpName, and no install
// scripts anywhere (nothing runs or downloads at install time).
func TestPackageManifests(t *testing.T) {
	f := setup(t)
	version := strings.TrimPrefix(f.rel.Version, "v")
	launcher, err := readManifest(f.tarballs[dist.NPMScope])
	if err != nil {
		t.Fatal(err)
	}
	if launcher.Version != version || launcher.MCPName != "io.github.miosa-osa/miosa-mcp" || launcher.Bin["miosa-mcp"] != "bin/miosa-mcp.js" || len(launcher.Bin) != 1 {
		t.Errorf("launcher manifest %+v", launcher)
	}
	want := map[string]string{}
	for _, tg := range dist.Targets {
		want[dist.NPMPackageName(tg)] = version
	}
	if fmt.Sprint(launcher.OptionalDependencies) != fmt.Sprint(want) {
		t.Errorf("optionalDependencies %v, want %v", launcher.OptionalDependencies, want)
	}
	plat, err := readManifest(f.tarballs[dist.NPMScope+"-linux-x64"])
	if err != nil {
		t.Fatal(err)
	}
	if plat.Version != version || !slices.Equal(plat.OS, []string{"linux"}) || !slices.Equal(plat.CPU, []string{"x64"}) || len(plat.Bin) != 0 {
		t.Errorf("platform manifest %+v", plat)
	}
	for _, m := range []manifest{launcher, plat} {
		for _, s := range []string{"preinstall", "install", "postinstall", "prepare"} {
			if _, ok := m.Scripts[s]; ok {
				t.Errorf("%s has a %s script", m.Name, s)
			}
		}
	}
}

// TestOfflineInstall: the project's install holds exactly the launcher and
// the linux-x64 package, the installed binary is the released one, and
// `npx miosa-mcp --version` prints the build's version.
func TestOfflineInstall(t *testing.T) {
	f := setup(t)
	ents, err := os.ReadDir(filepath.Join(f.project, "node_modules", "@miosa"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"mcp", "mcp-linux-x64"}) {
		t.Errorf("node_modules/@miosa holds %v, want mcp and mcp-linux-x64 only", names)
	}
	installed, err := os.ReadFile(filepath.Join(f.project, "node_modules", "@miosa", "mcp-linux-x64", "bin", "miosa-mcp"))
	released, err2 := os.ReadFile(f.binary)
	if err != nil || err2 != nil || string(installed) != string(released) {
		t.Errorf("the installed binary is not the released one (%v, %v)", err, err2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lookPath(f.nodeBin, "npx"), "--offline", "miosa-mcp", "--version")
	cmd.Dir = f.project
	cmd.Env = f.env(t.TempDir(), f.cache, "http://127.0.0.1:9/")
	out, err := cmd.Output()
	if err != nil || string(out) != "miosa-mcp "+f.rel.Version+"\n" {
		t.Errorf("npx miosa-mcp --version: %q, %v; want %q", out, err, "miosa-mcp "+f.rel.Version+"\n")
	}
}

// registry is a local npm registry serving the packed tarballs, plus
// packuments for the platform packages that were not built (they name a
// tarball that does not exist: fetching one is a failure). It records
// every tarball request.
type registry struct {
	*httptest.Server
	mu       sync.Mutex
	tarballs []string
}

func newRegistry(t *testing.T, f *fixture) *registry {
	t.Helper()
	r := &registry{}
	docs := map[string][]byte{}
	files := map[string]string{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := strings.TrimPrefix(req.URL.Path, "/")
		if file, ok := strings.CutPrefix(name, "-/tarballs/"); ok {
			r.mu.Lock()
			r.tarballs = append(r.tarballs, file)
			r.mu.Unlock()
			if p, ok := files[file]; ok {
				http.ServeFile(w, req, p)
				return
			}
			http.NotFound(w, req)
			return
		}
		if b, ok := docs[name]; ok {
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
			return
		}
		http.NotFound(w, req)
	}))
	t.Cleanup(r.Close)
	version := strings.TrimPrefix(f.rel.Version, "v")
	for _, name := range append([]string{dist.NPMScope}, platformNames()...) {
		var m map[string]any
		var integrity, shasum, file string
		if p, ok := f.tarballs[name]; ok {
			raw, err := exec.Command("tar", "-xzOf", p, "package/package.json").Output()
			if err != nil || json.Unmarshal(raw, &m) != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			s512, s1 := sha512.Sum512(b), sha1.Sum(b)
			integrity, shasum, file = "sha512-"+base64.StdEncoding.EncodeToString(s512[:]), hex.EncodeToString(s1[:]), filepath.Base(p)
			files[file] = p
		} else {
			platform, cpu, _ := strings.Cut(strings.TrimPrefix(name, dist.NPMScope+"-"), "-")
			m = map[string]any{"name": name, "version": version, "os": []string{platform}, "cpu": []string{cpu}}
			s512, s1 := sha512.Sum512([]byte(name)), sha1.Sum([]byte(name))
			integrity, shasum, file = "sha512-"+base64.StdEncoding.EncodeToString(s512[:]), hex.EncodeToString(s1[:]), "unbuilt-"+filepath.Base(name)+".tgz"
		}
		m["dist"] = map[string]string{"tarball": r.URL + "/-/tarballs/" + file, "integrity": integrity, "shasum": shasum}
		doc, _ := json.Marshal(map[string]any{
			"name": name, "dist-tags": map[string]string{"latest": version},
			"versions": map[string]any{version: m},
		})
		docs[name] = doc
	}
	return r
}

func platformNames() []string {
	var out []string
	for _, tg := range dist.Targets {
		out = append(out, dist.NPMPackageName(tg))
	}
	return out
}

func (r *registry) fetched() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.tarballs)
	sort.Strings(out)
	return out
}

// TestStdioSession runs a real MCP session with mcp-go's client over the
// launcher: `npx -y @miosa/mcp --mock` with nothing installed (a fresh npm
// cache, the local registry), exactly the command the README and `config
// --npx` give, and `npx miosa-mcp --mock` in the project that installed the
// tarballs offline. initialize, tools/list (the whole catalog), one tool
// call, then EOF on stdin must end the server with exit 0, quickly.
func TestStdioSession(t *testing.T) {
	f := setup(t)
	tests := []struct {
		name     string
		npxNoDir bool // run in an empty directory against the local registry
		args     []string
	}{
		{"npx -y @miosa/mcp (no install)", true, []string{"-y", dist.NPMScope, "--mock"}},
		{"npx miosa-mcp (installed offline)", false, []string{"--offline", "miosa-mcp", "--mock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, env := f.project, f.env(t.TempDir(), f.cache, "http://127.0.0.1:9/")
			var reg *registry
			if tt.npxNoDir {
				reg = newRegistry(t, f)
				dir = t.TempDir()
				env = f.env(t.TempDir(), filepath.Join(t.TempDir(), "fresh-cache"), reg.URL+"/")
			}
			var cmd *exec.Cmd
			var stderr testsupport.Buffer
			tr := transport.NewStdioWithOptions(lookPath(f.nodeBin, "npx"), nil, tt.args,
				transport.WithCommandFunc(func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
					cmd = exec.Command(command, args...)
					cmd.Dir, cmd.Env = dir, env
					cmd.Stderr = &stderr
					return cmd, nil
				}))
			// What the server sends and logs is scanned for the mock's key.
			testsupport.RegisterKey(app.MockKey)
			ks := testsupport.NewKeyScan(t)
			t.Cleanup(func() { ks.ScanString("stderr of npx "+strings.Join(tt.args, " "), stderr.String()) })
			c := client.NewClient(testsupport.ScanTransport(tr, ks, "npx stdio client"))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			closed := false
			defer func() {
				if !closed {
					c.Close()
				}
			}()
			var req mcp.InitializeRequest
			req.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
			req.Params.ClientInfo = mcp.Implementation{Name: "npm-test", Version: "1"}
			init, err := c.Initialize(ctx, req)
			if err != nil {
				t.Fatalf("initialize through %s: %v", tt.name, err)
			}
			if init.ServerInfo.Name != "miosa-mcp" || init.ServerInfo.Version != f.rel.Version {
				t.Errorf("serverInfo %+v, want miosa-mcp %s", init.ServerInfo, f.rel.Version)
			}
			list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil || len(list.Tools) != catalogSize {
				t.Fatalf("tools/list: %d tools, %v; want %d", len(list.Tools), err, catalogSize)
			}
			var call mcp.CallToolRequest
			call.Params.Name = "sandbox_create"
			call.Params.Arguments = map[string]any{"name": "npm-test"}
			res, err := c.CallTool(ctx, call)
			if err != nil || res.IsError || res.StructuredContent == nil {
				t.Fatalf("tools/call sandbox_create: %+v, %v", res, err)
			}
			if b, _ := json.Marshal(res.StructuredContent); !strings.Contains(string(b), `"sbx_`) {
				t.Errorf("sandbox_create returned no sandbox id: %s", b)
			}
			// EOF: mcp-go's Close closes stdin and waits for the process.
			startEOF := time.Now()
			if err := c.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			closed = true
			took := time.Since(startEOF)
			if got := outcomeOf(cmd.ProcessState); got != (outcome{code: 0}) {
				t.Errorf("after EOF: %s, want exit 0", got)
			}
			// mcp-go's Close escalates to SIGTERM after a few seconds; a
			// server that needed that did not stop on EOF by itself.
			if took > 4*time.Second {
				t.Errorf("exit took %v after EOF", took)
			}
			t.Logf("%s: exit 0 %v after EOF", tt.name, took.Round(time.Millisecond))
			if reg != nil {
				want := []string{filepath.Base(f.tarballs[dist.NPMScope]), filepath.Base(f.tarballs[dist.NPMScope+"-linux-x64"])}
				sort.Strings(want)
				if got := reg.fetched(); !slices.Equal(got, want) {
					t.Errorf("npx fetched %v, want only %v (the launcher and this platform's package)", got, want)
				}
			}
		})
	}
}

// TestLauncherBehavesLikeBinary runs each scenario against the binary and
// through the launcher (node_modules/.bin/miosa-mcp, which npx executes)
// and requires the same outcome: exit code or killing signal, the same
// stderr for the errors, and nothing left running. npx itself gets the same
// checks for EOF and errors. On a signal npx's own exit status is npm's
// (it forwards SIGINT and SIGTERM only to the `sh -c` it runs the launcher
// in, and does not forward SIGHUP), so for npx the test requires that it
// ends and that the server does not outlive it. On SIGTERM sh dies, npm
// dies of the signal, and the launcher sees its parent go and stops the
// binary. On SIGINT sh keeps waiting for its child and on SIGHUP npm dies
// alone: there the server ends at EOF, so the client closes stdin after the
// signal, as MCP clients do when they stop a server.
func TestLauncherBehavesLikeBinary(t *testing.T) {
	f := setup(t)
	variants := []struct {
		name string
		argv []string
	}{
		{"binary", []string{f.binary}},
		{"launcher", []string{filepath.Join(f.project, "node_modules", ".bin", "miosa-mcp")}},
		{"npx", []string{lookPath(f.nodeBin, "npx"), "--offline", "miosa-mcp"}},
	}
	type result struct {
		outcome outcome
		stderr  string
		took    time.Duration // from the signal or EOF to the process's exit
	}
	scenarios := []struct {
		name   string
		args   []string
		env    []string
		server bool           // it serves: wait for the initialize answer first
		signal syscall.Signal // then send this; 0: close stdin
	}{
		{"EOF on stdin", []string{"--mock"}, nil, true, 0},
		{"SIGTERM", []string{"--mock"}, nil, true, syscall.SIGTERM},
		{"SIGINT", []string{"--mock"}, nil, true, syscall.SIGINT},
		{"SIGHUP", []string{"--mock"}, nil, true, syscall.SIGHUP},
		{"bad flag", []string{"--no-such-flag"}, nil, false, 0},
		{"bad environment", []string{"--mock"}, []string{"MIOSA_TIMEOUT_MS=soon"}, false, 0},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			results := map[string]result{}
			for _, v := range variants {
				env := append(f.env(t.TempDir(), f.cache, "http://127.0.0.1:9/"), sc.env...)
				p := start(t, f.project, env, append(slices.Clone(v.argv), sc.args...)...)
				if sc.server {
					fmt.Fprintln(p.stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"npm-test","version":"1"}}}`)
					line, err := p.lines.ReadString('\n')
					if err != nil || !strings.Contains(line, `"serverInfo"`) {
						t.Fatalf("%s: initialize answer %q, %v\nstderr:\n%s", v.name, line, err, p.stderrText())
					}
				}
				begin := time.Now()
				if sc.signal != 0 {
					if err := p.cmd.Process.Signal(sc.signal); err != nil {
						t.Fatal(err)
					}
				} else {
					p.stdin.Close()
				}
				if v.name == "npx" && (sc.signal == syscall.SIGINT || sc.signal == syscall.SIGHUP) {
					p.stdin.Close() // what reaches the server through npx: the client's EOF
				}
				r := result{outcome: p.wait(t, 30*time.Second), took: time.Since(begin)}
				if !p.groupGone(10 * time.Second) {
					t.Errorf("%s: a process it started is still running 10s after it exited", v.name)
				}
				r.stderr = p.stderrText()
				results[v.name] = r
			}
			want := results["binary"]
			for _, v := range variants[1:] {
				got := results[v.name]
				if v.name == "npx" && sc.signal != 0 {
					continue // npm's own exit status; the checks above still apply
				}
				if got.outcome != want.outcome {
					t.Errorf("%s: %s; the binary: %s\nstderr:\n%s", v.name, got.outcome, want.outcome, got.stderr)
				}
				if !sc.server && got.stderr != want.stderr {
					t.Errorf("%s: stderr differs from the binary's:\n%q\nwant\n%q", v.name, got.stderr, want.stderr)
				}
			}
			for _, v := range variants {
				t.Logf("%-8s %s, %v after the %s", v.name, results[v.name].outcome, results[v.name].took.Round(time.Millisecond), map[bool]string{true: "signal", false: "EOF/start"}[sc.signal != 0])
			}
		})
	}
}

// TestConfigNPXSnippetsRun starts every `miosa-mcp config --npx CLIENT`
// snippet's command exactly as written (npx, its arguments) from the local
// registry, and requires the tools/list the binary serves with the same
// arguments: the snippets work as printed, including arguments after the
// package name, which npx passes to the command.
func TestConfigNPXSnippetsRun(t *testing.T) {
	f := setup(t)
	reg := newRegistry(t, f)
	env := f.env(t.TempDir(), filepath.Join(t.TempDir(), "cache"), reg.URL+"/")
	dir := t.TempDir()
	if len(app.NPXClients()) < 5 {
		t.Fatalf("NPXClients() = %v", app.NPXClients())
	}
	for _, c := range app.NPXClients() {
		t.Run(c, func(t *testing.T) {
			raw, err := app.NPXConfigSnippet(c)
			if err != nil {
				t.Fatal(err)
			}
			type entry struct {
				Command string   `json:"command"`
				Args    []string `json:"args"`
			}
			var e entry
			if app.SnippetLang(c) == "toml" {
				// Codex: command = "…" and args = […] are JSON values too.
				for _, kv := range []struct {
					key string
					v   any
				}{{"command", &e.Command}, {"args", &e.Args}} {
					m := regexp.MustCompile(`(?m)^` + kv.key + ` = (.*)$`).FindSubmatch(raw)
					if m == nil || json.Unmarshal(m[1], kv.v) != nil {
						t.Fatalf("no %s in the TOML snippet:\n%s", kv.key, raw)
					}
				}
			} else {
				var doc struct{ MCPServers, Servers map[string]entry }
				if err := json.Unmarshal(raw, &doc); err != nil {
					t.Fatal(err)
				}
				var ok bool
				if e, ok = doc.MCPServers["miosa"]; !ok {
					e = doc.Servers["miosa"]
				}
			}
			if e.Command != "npx" || len(e.Args) < 2 || e.Args[1] != dist.NPMScope {
				t.Fatalf("entry %+v", e)
			}
			got := listTools(t, dir, env, lookPath(f.nodeBin, e.Command), e.Args)
			want := listTools(t, dir, env, f.binary, e.Args[2:])
			if !slices.Equal(got, want) || len(got) == 0 {
				t.Errorf("npx %q serves %d tools, the binary with %q %d", e.Args, len(got), e.Args[2:], len(want))
			}
		})
	}
}

// listTools starts command over stdio with mcp-go's client and returns the
// names tools/list gives.
func listTools(t *testing.T, dir string, env []string, command string, args []string) []string {
	t.Helper()
	tr := transport.NewStdioWithOptions(command, nil, args,
		transport.WithCommandFunc(func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd := exec.Command(command, args...)
			cmd.Dir, cmd.Env = dir, env
			return cmd, nil
		}))
	c := client.NewClient(tr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var req mcp.InitializeRequest
	req.Params.ClientInfo = mcp.Implementation{Name: "npm-test", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("%s %q: initialize: %v", command, args, err)
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("%s %q: tools/list: %v", command, args, err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	return names
}
