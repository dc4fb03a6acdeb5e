package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

const (
	// streamWindow is how long a log tool reads an event stream before it
	// returns what arrived.
	streamWindow    = 2 * time.Second
	maxLogLineBytes = 2000
)

// logsResult returns the last `lines` lines of a log snapshot, whatever
// shape the API used: {data:{lines:[…]}}, {lines|logs:[…]}, {data:[…]}, a
// plain string, text, or server-sent events.
func (s *Server) logsResult(t *Tool, call *Call, body []byte, h http.Header) *mcp.CallToolResult {
	n := DefaultLogLines
	call.Arg("lines", &n)
	n = max(1, min(n, MaxLogLines))
	all := extractLogLines(body, mediaType(h))
	total := len(all)
	if total > n {
		all = all[total-n:]
	}
	for i, l := range all {
		if len(l) > maxLogLineBytes {
			all[i], _ = cutText(l, maxLogLineBytes, "line cut")
		}
	}
	header := fmt.Sprintf("Last %d of %d log lines (snapshot; call again for newer lines).", len(all), total)
	if total == 0 {
		header = "No log lines."
	}
	text, _ := cutText(header+"\n"+strings.Join(all, "\n"), s.limits.TextBytes, "Ask for fewer lines.")
	res := mcp.NewToolResultText(text)
	if t.OutputSchema != nil {
		res.StructuredContent = map[string]any{"data": map[string]any{"lines": nonNil(all)}}
	}
	return res
}

// readStreamWindow reads r for at most window (or limit bytes) and returns
// what arrived; closing r unblocks a read that is still waiting.
func readStreamWindow(r io.ReadCloser, limit int64, window time.Duration) ([]byte, bool) {
	done := make(chan struct{})
	timer := time.AfterFunc(window, func() { r.Close() })
	defer timer.Stop()
	var buf bytes.Buffer
	go func() {
		defer close(done)
		io.Copy(&buf, io.LimitReader(r, limit+1))
	}()
	<-done
	b := buf.Bytes()
	if int64(len(b)) > limit {
		return b[:limit], true
	}
	return b, false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func extractLogLines(body []byte, mt string) []string {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	if mt == "text/event-stream" {
		var out []string
		sc := bufio.NewScanner(bytes.NewReader(trimmed))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data:")
			if !ok {
				continue
			}
			data = strings.TrimSpace(data)
			if data == "[DONE]" {
				continue
			}
			var ev struct {
				Line, Message, Stream string
			}
			if json.Unmarshal([]byte(data), &ev) == nil && (ev.Line != "" || ev.Message != "") {
				line := ev.Line + ev.Message
				if ev.Stream != "" {
					line = "[" + ev.Stream + "] " + line
				}
				out = append(out, line)
			} else {
				out = append(out, data)
			}
		}
		return out
	}
	var v any
	if json.Unmarshal(trimmed, &v) != nil {
		return splitLines(string(trimmed))
	}
	return linesOf(v, 0)
}

func linesOf(v any, depth int) []string {
	switch x := v.(type) {
	case string:
		return splitLines(x)
	case []any:
		var out []string
		for _, e := range x {
			switch y := e.(type) {
			case string:
				out = append(out, splitLines(y)...)
			case map[string]any:
				out = append(out, entryLine(y))
			default:
				b, _ := json.Marshal(y)
				out = append(out, string(b))
			}
		}
		return out
	case map[string]any:
		if depth > 3 {
			return nil
		}
		for _, k := range []string{"data", "lines", "logs", "output", "items"} {
			if e, ok := x[k]; ok {
				return linesOf(e, depth+1)
			}
		}
		b, _ := json.Marshal(x)
		return []string{string(b)}
	}
	return nil
}

func entryLine(m map[string]any) string {
	line, _ := m["line"].(string)
	if line == "" {
		line, _ = m["message"].(string)
	}
	if line == "" {
		b, _ := json.Marshal(m)
		return string(b)
	}
	if ts, ok := m["timestamp"].(string); ok {
		line = ts + " " + line
	}
	return line
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
