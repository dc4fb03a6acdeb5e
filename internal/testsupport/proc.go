package testsupport

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// Proc is a spawned miosa-mcp. Its stderr is kept; when the test ends the
// process is stopped and waited for, its stderr is scanned for keys and
// checked for data races and panics (a -race binary keeps running after a
// race and exits 66 later), and stdout, when the test gave none, must have
// stayed empty.
type Proc struct {
	Cmd    *exec.Cmd
	Stderr *Buffer
	Keys   *KeyScan // scans stderr at exit; scan stdout with it as it arrives
	// Exited closes once the process has exited; WaitErr is then Wait's.
	Exited  chan struct{}
	WaitErr error

	t      testing.TB
	stdout *Buffer // when the test gave no stdout
	stop   os.Signal
	grace  time.Duration
}

// Command prepares bin with args in ChildEnv(env...); the test may set its
// Stdin and Stdout (or take pipes) before Start.
func Command(t testing.TB, bin string, env []string, args ...string) *Proc {
	t.Helper()
	// The scanner is created first, so its report runs after the process
	// has exited and its output is all in.
	p := &Proc{t: t, Cmd: exec.Command(bin, args...), Stderr: &Buffer{}, Keys: NewKeyScan(t), Exited: make(chan struct{}), stop: os.Kill}
	p.Cmd.Env = ChildEnv(env...)
	p.Cmd.Stderr = p.Stderr
	p.Cmd.WaitDelay = 5 * time.Second
	return p
}

// Start starts the process. Stdin or Stdout that are *os.File ends meant
// for the child are closed here once the child holds them.
func (p *Proc) Start() {
	p.t.Helper()
	if p.Cmd.Stdout == nil {
		p.stdout = &Buffer{}
		p.Cmd.Stdout = p.stdout
	}
	err := p.Cmd.Start()
	for _, f := range []any{p.Cmd.Stdin, p.Cmd.Stdout} {
		if f, ok := f.(*os.File); ok {
			f.Close()
		}
	}
	if err != nil {
		p.t.Fatal(err)
	}
	go func() {
		p.WaitErr = p.Cmd.Wait()
		close(p.Exited)
	}()
	name := "miosa-mcp " + strings.Join(p.Cmd.Args[1:], " ")
	p.t.Cleanup(func() {
		if p.stop != os.Kill {
			p.Cmd.Process.Signal(p.stop)
			select {
			case <-p.Exited:
			case <-time.After(p.grace):
				p.t.Errorf("%s did not stop within %s of %v", name, p.grace, p.stop)
			}
		}
		p.Cmd.Process.Kill()
		<-p.Exited
		p.Keys.ScanString("stderr of "+name, p.Stderr.String())
		CheckStderr(p.t, name, p.Stderr.String())
		if p.stdout != nil {
			if out := p.stdout.String(); out != "" {
				p.t.Errorf("%s wrote to stdout: %q", name, out)
			}
		}
	})
}

var (
	dataRaceRE = regexp.MustCompile(`WARNING: DATA RACE`)
	panicRE    = regexp.MustCompile(`(?m)^(panic: |goroutine \d+ \[)`)
)

// CheckStderr fails the test when a server's stderr reports a data race or
// a panic.
func CheckStderr(t testing.TB, name, stderr string) {
	t.Helper()
	for _, bad := range []*regexp.Regexp{dataRaceRE, panicRE} {
		if bad.MatchString(stderr) {
			t.Errorf("%s stderr matches %q:\n%s", name, bad, stderr)
			return
		}
	}
}

// HTTPServer is `miosa-mcp http` on a loopback port.
type HTTPServer struct {
	*Proc
	URL string // http://127.0.0.1:PORT
}

var servingRE = regexp.MustCompile(`serving MCP over HTTP at (http://[^/\s]+)/mcp`)

// HTTPOptions configure StartHTTP.
type HTTPOptions struct {
	Env  []string // KEY=VALUE for ChildEnv
	Args []string // after `http --listen 127.0.0.1:0 --shutdown-grace 2s`; a flag given again wins
	// Interrupt stops the server with SIGINT at cleanup, and fails the test
	// when it has not stopped 10 s later (default: it is killed).
	Interrupt bool
}

// StartHTTP runs bin as an HTTP server and waits until it prints its
// address.
func StartHTTP(t testing.TB, bin string, o HTTPOptions) *HTTPServer {
	t.Helper()
	p := Command(t, bin, o.Env, append([]string{"http", "--listen", "127.0.0.1:0", "--shutdown-grace", "2s"}, o.Args...)...)
	if o.Interrupt {
		p.stop, p.grace = os.Interrupt, 10*time.Second
	}
	p.Start()
	var addr string
	p.Stderr.WaitFor(30*time.Second, p.Exited, func(s string) bool {
		if m := servingRE.FindStringSubmatch(s); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	if addr == "" {
		select {
		case <-p.Exited:
			t.Fatalf("miosa-mcp http exited: %v\n%s", p.WaitErr, p.Stderr.String())
		default:
			t.Fatalf("miosa-mcp http did not print its address\nstderr:\n%s", p.Stderr.String())
		}
	}
	return &HTTPServer{Proc: p, URL: addr}
}

// StdioOptions configure StdioClient.
type StdioOptions struct {
	Env     []string // KEY=VALUE for ChildEnv
	Args    []string
	Dir     string // the server's working directory ("" = the test's)
	Version string // the protocol version to ask for ("" = mcp-go's default)
	Client  []client.ClientOption
	// Capabilities are declared in initialize (besides those the client's
	// handlers imply).
	Capabilities mcp.ClientCapabilities
	// Started, when set, is given the server's command once mcp-go made it
	// (its Process once started).
	Started func(*exec.Cmd)
}

// StdioClient spawns bin through mcp-go's stdio transport, initializes a
// client and returns it, with the server's stderr and initialize result.
// Every message the client receives is scanned for keys; at cleanup the
// client is closed (stdin closed, the process waited for) and stderr is
// scanned and checked.
func StdioClient(t testing.TB, bin string, o StdioOptions) (*client.Client, *Buffer, *mcp.InitializeResult) {
	t.Helper()
	stderr := &Buffer{}
	env := ChildEnv(o.Env...)
	ks := NewKeyScan(t)
	tr := transport.NewStdioWithOptions(bin, nil, o.Args,
		transport.WithCommandFunc(func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd := exec.Command(command, args...)
			cmd.Env, cmd.Dir = env, o.Dir
			cmd.Stderr = stderr // exec copies it; Wait waits for the copy
			if o.Started != nil {
				o.Started(cmd)
			}
			return cmd, nil
		}))
	opts := o.Client
	if o.Version != "" {
		opts = append(opts, client.WithProtocolVersion(o.Version))
	}
	c := client.NewClient(ScanTransport(tr, ks, "stdio client"), opts...)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		c.Close()
		ks.ScanString("stderr of miosa-mcp stdio", stderr.String())
		CheckStderr(t, "stdio server", stderr.String())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ir := InitRequest("miosa-mcp-tests")
	ir.Params.Capabilities = o.Capabilities
	init, err := c.Initialize(ctx, ir)
	if err != nil {
		t.Fatalf("initialize over stdio: %v\nstderr:\n%s", err, stderr.String())
	}
	return c, stderr, init
}

// InitRequest is an initialize request from a client named name.
func InitRequest(name string) mcp.InitializeRequest {
	var r mcp.InitializeRequest
	r.Params.ClientInfo = mcp.Implementation{Name: name, Version: "1"}
	return r
}
