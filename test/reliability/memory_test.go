package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// Memory: the issue-10 scenario against the shipped (non-race) binary in
// HTTP mode with its default limits: 16 concurrent 15 MiB API answers and
// 12 concurrent 5 MiB sandbox_write_file calls with made-up keys, twice,
// with 16 concurrent 4 MiB screenshots besides (binary results cost the
// most per byte kept).
// The peak RSS (VmHWM) must stay under the ceiling RELIABILITY.md states.
// It used to reach 590-620 MB (430 MB for the answers alone, 416 MB for
// the writes alone).

// memoryCeiling is the stated ceiling for this load: the 128 MiB GC soft
// limit plus what lives outside the heap, with room for a loaded machine;
// measured about 150 MB. docs/hosting.md's pod limit is 256 MiB.
const memoryCeiling = 192 << 20

const (
	largeAnswerBytes = 15 << 20
	largeAnswers     = 16
	largeWriteBytes  = 5 << 20
	largeWrites      = 12
	screenshotBytes  = 4<<20 - 64
	screenshots      = 16
	memoryRounds     = 2
)

// largeAPI answers GET /computers/{id} with a valid 15 MiB JSON document, a
// screenshot with a PNG just under the 4 MiB image cap, and refuses every
// write with 401 after reading its body, as the API does for a made-up key.
func largeAPI(t *testing.T) *httptest.Server {
	pad := bytes.Repeat([]byte("x"), 64<<10)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x5a}, screenshotBytes-8)...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/desktop/screenshot") {
			w.Header().Set("Content-Type", "image/png")
			w.Header().Set("Content-Length", strconv.Itoa(len(png)))
			w.Write(png)
			return
		}
		if r.Method != http.MethodGet {
			io.Copy(io.Discard, r.Body)
			testsupport.WriteJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": "UNAUTHORIZED", "message": "invalid API key"}})
			return
		}
		head := []byte(`{"data":{"id":"` + strings.TrimPrefix(r.URL.Path, "/api/v1/computers/") + `","status":"running","blob":"`)
		tail := []byte(`"}}`)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(largeAnswerBytes))
		w.Write(head)
		for n := len(head) + len(tail); n < largeAnswerBytes; n += len(pad) {
			if _, err := w.Write(pad[:min(len(pad), largeAnswerBytes-n)]); err != nil {
				return
			}
		}
		w.Write(tail)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// postRPC sends one JSON-RPC body and returns the status and the answer.
// The key is registered with the key scanner and the answer is scanned.
func postRPC(t testing.TB, ctx context.Context, endpoint, key string, body []byte) (int, string, error) {
	testsupport.RegisterKey(key)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	testsupport.ScanResponse(t, "POST "+endpoint, resp, b)
	return resp.StatusCode, string(b), err
}

func TestMemoryCeilingUnderConcurrentLargeAnswers(t *testing.T) {
	api := largeAPI(t)
	h := testsupport.StartHTTP(t, testsupport.PlainBinary(t), testsupport.HTTPOptions{Env: debugEnv(map[string]string{"MIOSA_API_URL": api.URL, "MIOSA_TIMEOUT_MS": "60000"})})
	endpoint := h.URL + "/mcp"
	pid := h.Cmd.Process.Pid

	var peakRSS atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if m, err := bench.ReadMem(pid); err == nil && m.RSS > peakRSS.Load() {
				peakRSS.Store(m.RSS)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	content := strings.Repeat("a", largeWriteBytes-256) // the body just fits --max-body-bytes
	writeBody, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "sandbox_write_file", "arguments": map[string]any{"id": "sb_1", "path": "/workspace/big.txt", "content": content}}})
	content = ""

	var mu sync.Mutex
	outcomes := map[string]int{}
	note := func(kind, what string) {
		mu.Lock()
		outcomes[kind+": "+what]++
		mu.Unlock()
	}
	start := time.Now()
	for round := range memoryRounds {
		var wg sync.WaitGroup
		for i := range largeAnswers + largeWrites + screenshots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
				defer cancel()
				key := fmt.Sprintf("msk_u_made_up_key_%d_%02d_000000", round, i)
				kind, body := "write", writeBody
				switch {
				case i < largeAnswers:
					kind, body = "read", []byte(getCall("1", fmt.Sprintf("cmp_big_%d", i)))
				case i >= largeAnswers+largeWrites:
					kind, body = "image", []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"desktop_screenshot","arguments":{"computer_id":"cmp_1"}}}`)
				}
				status, out, err := postRPC(t, ctx, endpoint, key, body)
				switch {
				case err != nil:
					note(kind, "transport error "+err.Error())
				case status != http.StatusOK && status != http.StatusServiceUnavailable:
					note(kind, fmt.Sprintf("HTTP %d %s", status, clip(out)))
				case kind == "read" && strings.Contains(out, `[truncated: showing the first`) && !strings.Contains(out, `"isError":true`):
					note(kind, "cut result")
				case kind == "image" && strings.Contains(out, `"type":"image"`) && len(out) > screenshotBytes:
					note(kind, "the image")
				case kind == "write" && strings.Contains(out, `HTTP 401`) && strings.Contains(out, `"isError":true`):
					note(kind, "the API's 401")
				case kind == "write" && status == http.StatusServiceUnavailable && strings.Contains(out, "budget for request bodies"):
					note(kind, "busy") // waited longer than the body budget allows: a clear refusal
				default:
					note(kind, "unexpected "+clip(out))
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	m, err := bench.ReadMem(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rounds of %d × %d MiB answers + %d × %d MiB writes + %d × 4 MiB screenshots in %v: VmHWM %.1f MB, peak sampled VmRSS %.1f MB; outcomes %v",
		memoryRounds, largeAnswers, largeAnswerBytes>>20, largeWrites, largeWriteBytes>>20, screenshots, elapsed.Round(time.Millisecond),
		bench.MB(m.HWM), bench.MB(peakRSS.Load()), outcomes)
	if hwm := m.HWM << 10; hwm > memoryCeiling {
		t.Errorf("peak RSS %.1f MB is over the %.1f MB ceiling", bench.MB(m.HWM), float64(memoryCeiling)/1e6)
	}
	for what, n := range outcomes {
		if what != "read: cut result" && what != "write: the API's 401" && what != "write: busy" && what != "image: the image" {
			t.Errorf("%d × %s", n, what)
		}
	}
	if outcomes["read: cut result"] != memoryRounds*largeAnswers || outcomes["image: the image"] != memoryRounds*screenshots || outcomes["write: the API's 401"] == 0 {
		t.Errorf("outcomes %v: every read and screenshot must be answered, and writes reach the API", outcomes)
	}
}
