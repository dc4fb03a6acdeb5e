package reliability_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// Concurrency over stdio: the issue-10 scenario (500 concurrent calls to an
// API that takes 250 ms) and the properties it broke. The structural tests
// hold the upstream until the property is observed, so they do not depend
// on timing; TestStdioUnderLoadFigures measures and logs the latencies.

const concKey = "msk_u_conc_Pz4Kw9Nd2Rq7Vm"

// slowAPI is an upstream whose answers wait for delay, or for release when
// it is non-nil, or until the request is cancelled; paths with a hold-
// segment wait until they are cancelled. It counts requests in
// flight, their peak, and those whose context ended (the server gave up).
type slowAPI struct {
	*testsupport.Upstream
	delay     time.Duration
	release   chan struct{}
	cur, peak atomic.Int32
	cancelled atomic.Int32
	arrived   chan string // every path, when there is room
	mu        sync.Mutex
	doneAt    map[string]time.Time // path → when its context ended
}

func newSlowAPI(t *testing.T, delay time.Duration, release chan struct{}) *slowAPI {
	a := &slowAPI{delay: delay, release: release, arrived: make(chan string, 4096), doneAt: map[string]time.Time{}}
	a.Upstream = testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		n := a.cur.Add(1)
		defer a.cur.Add(-1)
		for p := a.peak.Load(); n > p && !a.peak.CompareAndSwap(p, n); p = a.peak.Load() {
		}
		select {
		case a.arrived <- r.URL.Path:
		default:
		}
		wait := time.After(a.delay)
		if a.release != nil || strings.Contains(r.URL.Path, "/hold-") {
			wait = nil // until released or cancelled (hold-: until cancelled)
		}
		release := a.release
		if strings.Contains(r.URL.Path, "/hold-") {
			release = nil
		}
		select {
		case <-wait:
		case <-release:
		case <-r.Context().Done():
			a.cancelled.Add(1)
			a.mu.Lock()
			a.doneAt[r.URL.Path] = time.Now()
			a.mu.Unlock()
			return
		}
		okData(w, r)
	})
	return a
}

// waitArrived waits until path reached the upstream.
func (a *slowAPI) waitArrived(t *testing.T, path string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case p := <-a.arrived:
			if p == path {
				return
			}
		case <-deadline:
			t.Fatalf("%s never reached the upstream within %v", path, d)
		}
	}
}

// waitFor polls cond (an event the test cannot subscribe to) until it holds.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func getCall(id, cmp string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"computer_get","arguments":{"id":"` + cmp + `"}}}`
}

func cancelNote(id string) string {
	return `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + id + `,"reason":"test"}}`
}

// writeAll writes lines from a goroutine (the pipe may fill while the
// server is busy) and reports when every line was handed over.
func (s *stdioProc) writeAll(lines []string) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, l := range lines {
			if _, err := io.WriteString(s.stdin, l+"\n"); err != nil {
				return
			}
		}
	}()
	return done
}

// TestStdioUnderLoadFigures runs the scenario against the binary: 500
// concurrent computer_get calls to a 250 ms API. It logs the ping latency,
// the cancel latency (notification sent → the upstream request's context
// ends), the peak of upstream requests in flight, and the exit time on EOF
// with calls in flight; the bounds asserted are loose (a loaded 2-core CI
// machine), the structural tests below pin the properties themselves.
func TestStdioUnderLoadFigures(t *testing.T) {
	const calls, delay = 500, 250 * time.Millisecond
	api := newSlowAPI(t, delay, nil)
	s := startStdio(t, map[string]string{"MIOSA_API_URL": api.URL(), "MIOSA_API_KEY": concKey, "MIOSA_TIMEOUT_MS": "60000"})

	// A call to cancel later, already running upstream.
	target := `"cancel-target"`
	targetCh := s.expect(target)
	api2 := "/api/v1/computers/hold-target"
	s.write(getCall(target, "hold-target"))
	api.waitArrived(t, api2, 10*time.Second)

	var lines []string
	chans := map[string]chan rpcMsg{}
	for i := range calls {
		id := fmt.Sprintf(`"load-%d"`, i)
		chans[id] = s.expect(id)
		lines = append(lines, getCall(id, fmt.Sprintf("cmp-%d", i)))
	}
	start := time.Now()
	written := s.writeAll(lines)
	waitFor(t, 10*time.Second, "the load reaching the upstream", func() bool { return api.cur.Load() > 1 })

	pingStart := time.Now()
	pingCh := s.expect(`"ping-1"`)
	s.write(`{"jsonrpc":"2.0","id":"ping-1","method":"ping"}`)
	if _, ok := s.await(pingCh, `"ping-1"`, 60*time.Second); !ok {
		t.Fatal("no answer to ping")
	}
	pingLatency := time.Since(pingStart)

	cancelStart := time.Now()
	s.write(cancelNote(target))
	waitFor(t, 60*time.Second, "the cancelled call's upstream request ending", func() bool {
		api.mu.Lock()
		defer api.mu.Unlock()
		_, ok := api.doneAt[api2]
		return ok
	})
	api.mu.Lock()
	cancelLatency := api.doneAt[api2].Sub(cancelStart)
	api.mu.Unlock()

	<-written
	failed := 0
	for id, ch := range chans {
		m, ok := s.await(ch, id, 120*time.Second)
		if isErr, _, _ := m.toolResult(); !ok || isErr {
			failed++
		}
	}
	total := time.Since(start)
	select {
	case m := <-targetCh:
		t.Errorf("the cancelled call was answered: %s", clip(m.Raw))
	default:
	}

	// EOF with calls in flight: a fresh burst, then stdin closes.
	for i := range calls {
		lines[i] = getCall(fmt.Sprintf(`"eof-%d"`, i), fmt.Sprintf("eof-%d", i))
	}
	cancelledBefore := api.cancelled.Load()
	written = s.writeAll(lines)
	waitFor(t, 10*time.Second, "the second burst reaching the upstream", func() bool { return api.cur.Load() > 1 })
	inflight := api.cur.Load()
	<-written
	eofStart := time.Now()
	s.stdin.Close()
	select {
	case <-s.Exited:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of EOF")
	}
	eofExit := time.Since(eofStart)
	waitFor(t, 10*time.Second, "upstream requests ending after exit", func() bool { return api.cur.Load() == 0 })

	t.Logf("%d calls to a %v API: ping answered in %v; cancel reached the upstream in %v; peak upstream in flight %d; all answered in %v (%d failed)",
		calls, delay, pingLatency.Round(time.Millisecond), cancelLatency.Round(time.Millisecond), api.peak.Load(), total.Round(time.Millisecond), failed)
	t.Logf("EOF with %d upstream requests in flight: exit after %v; %d upstream requests cancelled", inflight, eofExit.Round(time.Millisecond), api.cancelled.Load()-cancelledBefore)
	if failed > 0 {
		t.Errorf("%d of %d calls failed", failed, calls)
	}
	if pingLatency > 5*time.Second || cancelLatency > 5*time.Second || eofExit > 5*time.Second {
		t.Errorf("ping %v, cancel %v, EOF exit %v: each must be handled at once", pingLatency, cancelLatency, eofExit)
	}
}

// busyStdio starts the binary against an upstream that holds every request
// until release is closed, and fills the pool: n calls (ids "busy-0"…) are
// sent and the test waits until workers of them are in flight upstream.
// The first workers calls are sent, and in flight, before the rest: else
// the reader may queue the rest before a worker took the first, and a
// queue sized for the rest would already be full (calls refused busy).
// release lets the upstream answer.
func busyStdio(t *testing.T, n, workers int, args ...string) (s *stdioProc, api *slowAPI, release func(), calls []chan rpcMsg) {
	t.Helper()
	held := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(held) }) })
	api = newSlowAPI(t, 0, held)
	s = startStdio(t, map[string]string{"MIOSA_API_URL": api.URL(), "MIOSA_API_KEY": concKey, "MIOSA_TIMEOUT_MS": "60000"}, args...)
	var chans []chan rpcMsg
	var lines []string
	for i := range n {
		id := fmt.Sprintf(`"busy-%d"`, i)
		chans = append(chans, s.expect(id))
		lines = append(lines, getCall(id, fmt.Sprintf("busy-%d", i)))
	}
	first := min(workers, n)
	<-s.writeAll(lines[:first])
	waitFor(t, 20*time.Second, fmt.Sprintf("%d calls in flight upstream", first), func() bool { return int(api.cur.Load()) == first })
	<-s.writeAll(lines[first:])
	waitFor(t, 20*time.Second, fmt.Sprintf("%d calls in flight upstream", workers), func() bool { return int(api.cur.Load()) == workers })
	return s, api, func() { once.Do(func() { close(held) }) }, chans
}

// TestPingAnsweredWhileWorkersBusy: with every worker waiting on the API
// and more calls queued, a ping is answered before anything is released;
// the concurrency is the stated default, 32 (runtime.DefaultStdioWorkers).
func TestPingAnsweredWhileWorkersBusy(t *testing.T) {
	t.Parallel()
	s, api, release, calls := busyStdio(t, 100, 32)
	ch := s.expect(`"ping"`)
	s.write(`{"jsonrpc":"2.0","id":"ping","method":"ping"}`)
	if m, ok := s.await(ch, `"ping"`, 20*time.Second); !ok || m.Error != nil {
		t.Fatalf("ping not answered while the workers were busy: %+v", m)
	}
	// tools/list too: it never waits for the pool.
	ch = s.expect(`"list"`)
	s.write(`{"jsonrpc":"2.0","id":"list","method":"tools/list"}`)
	if m, ok := s.await(ch, `"list"`, 20*time.Second); !ok || m.Error != nil {
		t.Fatalf("tools/list not answered while the workers were busy")
	}
	if n := api.cur.Load(); n != 32 {
		t.Errorf("%d upstream requests in flight before the release, want 32", n)
	}
	release()
	for i, ch := range calls {
		if m, ok := s.await(ch, fmt.Sprintf(`"busy-%d"`, i), 30*time.Second); !ok || m.Error != nil {
			t.Fatalf("call %d: %+v", i, m)
		}
	}
	if p := api.peak.Load(); p != 32 {
		t.Errorf("peak upstream concurrency %d, want the 32 workers", p)
	}
}

// TestCancelledBeforeStartNeverRuns: a computer_destroy queued behind busy
// workers and then cancelled never reaches the API, and is not answered.
// A call queued after it proves the queue moved past its place.
func TestCancelledBeforeStartNeverRuns(t *testing.T) {
	t.Parallel()
	s, api, release, calls := busyStdio(t, 4, 4, "--max-concurrent-calls", "4")
	destroy := s.expect("77")
	s.write(`{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"computer_destroy","arguments":{"id":"cmp_doomed"}}}`)
	after := s.expect(`"after"`)
	s.write(getCall(`"after"`, "after"))
	s.write(cancelNote("77"))
	// The cancel is handled in order: a ping behind it is answered after it.
	ping := s.expect(`"p"`)
	s.write(`{"jsonrpc":"2.0","id":"p","method":"ping"}`)
	if _, ok := s.await(ping, `"p"`, 20*time.Second); !ok {
		t.Fatal("no ping answer")
	}
	release()
	for i, ch := range calls {
		s.await(ch, fmt.Sprintf(`"busy-%d"`, i), 30*time.Second)
	}
	if _, ok := s.await(after, `"after"`, 30*time.Second); !ok {
		t.Fatal("the call queued after the cancelled one never ran")
	}
	for _, r := range api.Requests() {
		if r.Method == http.MethodDelete || strings.Contains(r.Path, "cmp_doomed") {
			t.Errorf("the cancelled computer_destroy reached the API: %s %s", r.Method, r.Path)
		}
	}
	select {
	case m := <-destroy:
		t.Errorf("the cancelled request was answered: %s", clip(m.Raw))
	default:
	}
}

// TestCancelMatchesTheIDType: in-flight requests are keyed by their id's
// JSON type: a cancel for 7 ends the call with id 7, never the one with id
// "7"; and a second request with the id of one in flight is refused.
func TestCancelMatchesTheIDType(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	api := newSlowAPI(t, 0, release)
	s := startStdio(t, map[string]string{"MIOSA_API_URL": api.URL(), "MIOSA_API_KEY": concKey, "MIOSA_TIMEOUT_MS": "60000"})
	num, str := s.expect("7"), s.expect(`"7"`)
	s.write(getCall("7", "hold-number"))
	s.write(getCall(`"7"`, "string-seven"))
	waitFor(t, 20*time.Second, "both calls in flight", func() bool { return api.cur.Load() == 2 })
	s.write(cancelNote("7"))
	waitFor(t, 20*time.Second, "the numeric call's upstream request ending", func() bool {
		api.mu.Lock()
		defer api.mu.Unlock()
		_, ok := api.doneAt["/api/v1/computers/hold-number"]
		return ok
	})
	if n := api.cur.Load(); n != 1 {
		t.Fatalf("%d upstream requests in flight after cancelling 7, want the \"7\" call still running", n)
	}
	release <- struct{}{} // the string call's request answers
	m, ok := s.await(str, `"7"`, 20*time.Second)
	if !ok {
		t.Fatal("the call with id \"7\" was not answered")
	}
	if isErr, txt, _ := m.toolResult(); isErr || !strings.Contains(txt, "string-seven") {
		t.Errorf("the call with id \"7\" did not complete: %s", clip(m.Raw))
	}
	select {
	case m := <-num:
		t.Errorf("the cancelled call 7 was answered: %s", clip(m.Raw))
	default:
	}

	// A duplicate id in flight.
	eight := s.expect("8")
	s.write(getCall("8", "hold-eight"))
	api.waitArrived(t, "/api/v1/computers/hold-eight", 20*time.Second)
	s.write(getCall("8", "again"))
	if m, ok := s.await(eight, "8", 20*time.Second); !ok || m.Error == nil || !strings.Contains(m.Error.Message, "already used") {
		t.Errorf("a second request 8 while 8 is in flight: %s, want it refused", clip(m.Raw))
	}
	s.write(cancelNote("8"))
	for _, r := range api.Requests() {
		if strings.Contains(r.Path, "again") {
			t.Errorf("the duplicate request reached the API")
		}
	}
}

// TestQueueFullRefusedAtOnce: beyond the workers and the queue a call is
// refused at once with an isError result naming the limit, and the calls
// already accepted still complete.
func TestQueueFullRefusedAtOnce(t *testing.T) {
	t.Parallel()
	s, _, release, calls := busyStdio(t, 3, 1, "--max-concurrent-calls", "1", "--max-queued-calls", "2")
	over := s.expect(`"over"`)
	s.write(getCall(`"over"`, "over"))
	m, ok := s.await(over, `"over"`, 20*time.Second)
	if isErr, txt, _ := m.toolResult(); !ok || !isErr || !strings.Contains(txt, "busy") || !strings.Contains(txt, "Retry") {
		t.Fatalf("a call beyond the queue: %s, want an isError result saying the server is busy", clip(m.Raw))
	}
	release()
	for i, ch := range calls {
		if m, ok := s.await(ch, fmt.Sprintf(`"busy-%d"`, i), 30*time.Second); !ok {
			t.Fatalf("accepted call %d was lost", i)
		} else if isErr, _, _ := m.toolResult(); isErr {
			t.Errorf("accepted call %d failed: %s", i, clip(m.Raw))
		}
	}
}

// TestStdioLifecycleCancelsInFlight: on EOF, SIGTERM or a closed stdout the
// server exits promptly with calls in flight, and their upstream requests
// end (they are cancelled, not left running).
func TestStdioLifecycleCancelsInFlight(t *testing.T) {
	cases := []struct {
		name string
		end  func(s *stdioProc)
	}{
		{"eof", func(s *stdioProc) { s.stdin.Close() }},
		{"sigterm", func(s *stdioProc) { s.Cmd.Process.Signal(syscall.SIGTERM) }},
		{"closed-stdout", func(s *stdioProc) {
			s.stdout.Close()
			// The server notices when it next writes.
			io.WriteString(s.stdin, `{"jsonrpc":"2.0","id":"p","method":"ping"}`+"\n")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, api, _, _ := busyStdio(t, 40, 32)
			start := time.Now()
			tc.end(s)
			select {
			case <-s.Exited:
			case <-time.After(20 * time.Second):
				t.Fatal("still running 20s later")
			}
			exit := time.Since(start)
			waitFor(t, 20*time.Second, "the upstream requests ending", func() bool { return api.cur.Load() == 0 })
			if n := api.cancelled.Load(); n != 32 {
				t.Errorf("%d of the 32 upstream requests in flight were cancelled", n)
			}
			t.Logf("exit %v after %s with 32 calls in flight and 8 queued; exit status %v", exit.Round(time.Millisecond), tc.name, s.Cmd.ProcessState)
		})
	}
}
