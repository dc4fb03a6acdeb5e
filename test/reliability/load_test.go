package reliability_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// Load: 100 concurrent tool calls from 10 HTTP clients with 10 distinct
// keys, three rounds; every upstream request carries its own caller's key,
// every caller gets its own result, zero errors. The same burst over stdio
// (the bounded worker pool) completes without loss.

const (
	loadClients = 10
	loadPerCall = 10
	loadRounds  = 3
)

func loadKey(k int) string { return fmt.Sprintf("msk_u_load_caller_%02d_secret", k) }

func keyTag(auth string) string {
	h := sha256.Sum256([]byte(auth))
	return hex.EncodeToString(h[:6])
}

// loadUpstream answers computer_get with the id from the path and a tag of
// the Authorization it received, after a short random delay that shuffles
// the completion order.
func loadUpstream(t *testing.T) *testsupport.Upstream {
	return testsupport.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/computers/")
		testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": id, "seen": keyTag(r.Header.Get("Authorization"))}})
	})
}

// checkUpstreamKeys: each request's id names the caller whose key it must carry.
func checkUpstreamKeys(t *testing.T, up *testsupport.Upstream, want int, keyOf func(id string) string) {
	t.Helper()
	reqs := up.Requests()
	if len(reqs) != want {
		t.Errorf("upstream received %d requests, want %d", len(reqs), want)
	}
	for _, r := range reqs {
		id := strings.TrimPrefix(r.Path, "/api/v1/computers/")
		if got, w := r.Header.Get("Authorization"), "Bearer "+keyOf(id); got != w {
			t.Errorf("request %s carried another caller's key (tag %s, want %s)", id, keyTag(got), keyTag(w))
		}
	}
}

func keyFromID(id string) string {
	var k, round, i int
	fmt.Sscanf(id, "k%d-r%d-%d", &k, &round, &i)
	return loadKey(k)
}

// runHTTPLoad drives the rounds against an MCP endpoint.
func runHTTPLoad(t *testing.T, endpoint string) {
	clients := make([]*mcpclient.Client, loadClients)
	for k := range clients {
		clients[k] = testsupport.ConnectHTTP(t, endpoint, testsupport.Bearer(loadKey(k)))
	}
	for round := range loadRounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		start := make(chan struct{})
		for k, c := range clients {
			for i := range loadPerCall {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					id := fmt.Sprintf("k%d-r%d-%d", k, round, i)
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					res, err := testsupport.CallTool(ctx, c, "computer_get", map[string]any{"id": id})
					var fail string
					switch {
					case err != nil:
						fail = err.Error()
					case res.IsError:
						fail = testsupport.ResultText(res)
					default:
						txt := testsupport.ResultText(res)
						if !strings.Contains(txt, `"id":"`+id+`"`) || !strings.Contains(txt, keyTag("Bearer "+loadKey(k))) {
							fail = "another caller's result: " + txt
						}
						if strings.Contains(txt, "secret") {
							fail = "a key leaked into a result: " + txt
						}
					}
					if fail != "" {
						mu.Lock()
						failures = append(failures, id+": "+fail)
						mu.Unlock()
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		if len(failures) > 0 {
			t.Errorf("round %d: %d of %d calls failed, e.g. %s", round, len(failures), loadClients*loadPerCall, clip(failures[0]))
		}
	}
}

// TestLoadHTTPInProcess runs the burst against the runtime in this process,
// so -race watches the server side too.
func TestLoadHTTPInProcess(t *testing.T) {
	leakCheck(t)
	up := loadUpstream(t)
	b := realRuntime(t, up.Base(), func(o *runtime.Options) { o.Timeout = 10 * time.Second })
	runHTTPLoad(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp")
	checkUpstreamKeys(t, up, loadClients*loadPerCall*loadRounds, keyFromID)
}

// TestLoadHTTPBinary runs the same burst against the spawned binary.
func TestLoadHTTPBinary(t *testing.T) {
	t.Parallel()
	up := loadUpstream(t)
	h := startHTTP(t, map[string]string{"MIOSA_API_URL": up.URL()})
	runHTTPLoad(t, h.URL+"/mcp")
	checkUpstreamKeys(t, up, loadClients*loadPerCall*loadRounds, keyFromID)
}

// TestLoadStdio: the burst over stdio through the binary, the rounds of
// 100 plus one of 250 (more than the 32 workers, so most wait in the queue).
func TestLoadStdio(t *testing.T) {
	t.Parallel()
	up := loadUpstream(t)
	const key = "msk_u_load_stdio_secret"
	c, stderr, _ := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{
		Env:     debugEnv(map[string]string{"MIOSA_API_URL": up.URL(), "MIOSA_API_KEY": key, "MIOSA_TIMEOUT_MS": "20000"}),
		Args:    []string{"stdio"},
		Version: testsupport.ProtocolVersion,
	})
	total := 0
	for round, n := range []int{100, 100, 100, 250} {
		total += n
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				id := fmt.Sprintf("s-r%d-%d", round, i)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				res, err := testsupport.CallTool(ctx, c, "computer_get", map[string]any{"id": id})
				fail := ""
				switch {
				case err != nil:
					fail = err.Error()
				case res.IsError:
					fail = testsupport.ResultText(res)
				case !strings.Contains(testsupport.ResultText(res), `"id":"`+id+`"`):
					fail = "wrong result: " + testsupport.ResultText(res)
				}
				if fail != "" {
					mu.Lock()
					failures = append(failures, id+": "+fail)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(failures) > 0 {
			t.Errorf("stdio round %d: %d of %d calls failed, e.g. %s", round, len(failures), n, clip(failures[0]))
		}
	}
	checkUpstreamKeys(t, up, total, func(string) string { return key })
	c.Close()
	if s := stderr.String(); strings.Contains(s, key) || strings.Contains(s, "DATA RACE") || strings.Contains(s, "panic") {
		t.Errorf("stderr: %s", clip(s))
	}
}
