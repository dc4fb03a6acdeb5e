package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/mark3labs/mcp-go/mcp"
)

const (
	// streamWindow is how long a log tool reads an event stream before it
	// returns what arrived.
	streamWindow    = 2 * time.Second
	maxLogLineBytes = 2000
)

const (
	// logFullBytes: a log answer up to this size is read whole and its
	// lines extracted from any shape; a longer one keeps its last lines only.
	logFullBytes = 1 << 20
	// logJSONBytes caps a JSON log answer, which must be decoded whole.
	logJSONBytes = 4 << 20
	// sseMaxLine is the longest event-stream line read.
	sseMaxLine = 1 << 20
)

// logsResult returns the last `lines` lines of a log snapshot, whatever
// shape the API used: {data:{lines:[…]}}, {lines|logs:[…]}, {data:[…]}, a
// plain string, text, or server-sent events.
func (sh *shaper) logsResult(sc *Scrubber, t *Tool, call *Call, body *upstreamBody, h http.Header) (*mcp.CallToolResult, error) {
	n := logLines(call)
	var all []string
	var total int
	switch {
	case body.tail != nil:
		all, total = body.tail.list(sc), body.tail.total
	case body.truncated:
		return nil, unusablef("%s: the API's log answer is JSON larger than %d bytes, more than a snapshot needs. Ask for fewer lines.", t.Name, logJSONBytes)
	default:
		all = extractLogLines(body.data, mediaType(h))
		total = len(all)
		if total > n {
			all = all[total-n:]
		}
		for i, l := range all {
			// Lines are decoded from JSON or events: scrub each before its cut.
			l = sc.String(l)
			all[i], _ = cutText(l, maxLogLineBytes, "line cut")
		}
	}
	header := fmt.Sprintf("Last %d of %d log lines (snapshot; call again for newer lines).", len(all), total)
	if total == 0 {
		header = "No log lines."
	}
	text, _ := cutText(header+"\n"+strings.Join(all, "\n"), sh.limits.TextBytes, "Ask for fewer lines.")
	res := mcp.NewToolResultText(text)
	if t.OutputSchema != nil {
		res.StructuredContent = map[string]any{"data": map[string]any{"lines": nonNil(all)}}
	}
	return res, nil
}

// logLines is how many lines the call asked for (default 100, at most 1000).
func logLines(call *Call) int {
	n := DefaultLogLines
	call.Arg("lines", &n)
	return max(1, min(n, MaxLogLines))
}

// readLogs reads a log answer: an event stream for streamWindow, keeping
// its last n lines; any other answer whole up to logFullBytes. Beyond that a
// JSON answer is read whole up to logJSONBytes (under the answer budget) and
// a text answer keeps its last n lines.
func (s *sender) readLogs(ctx context.Context, resp *http.Response, n int) (*upstreamBody, error) {
	if mediaType(resp.Header) == "text/event-stream" {
		return &upstreamBody{tail: readSSETail(resp.Body, n, s.limits.ReadBytes, streamWindow)}, nil
	}
	buf, err := readFull(resp.Body, make([]byte, 0, 64<<10), logFullBytes+1)
	if err != nil || len(buf) <= logFullBytes {
		return &upstreamBody{data: buf}, err
	}
	if t := bytes.TrimLeftFunc(buf, unicode.IsSpace); len(t) > 0 && (t[0] == '{' || t[0] == '[' || t[0] == '"') {
		buf, release, err := s.extend(ctx, resp.Body, buf, logJSONBytes+1)
		if err != nil {
			release()
			return nil, err
		}
		if len(buf) > logJSONBytes {
			release()
			return &upstreamBody{truncated: true}, nil
		}
		return &upstreamBody{data: buf, release: release}, nil
	}
	tl := newTextLines(n)
	tl.feed(buf)
	buf = nil
	total := int64(logFullBytes + 1)
	chunk := make([]byte, readChunk)
	for total < s.limits.ReadBytes {
		m, err := resp.Body.Read(chunk[:min(int64(len(chunk)), s.limits.ReadBytes-total)])
		total += int64(m)
		tl.feed(chunk[:m])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return &upstreamBody{tail: tl.finish()}, nil
}

// logTail keeps the last n lines of a snapshot, each cut to
// maxLogLineBytes, and counts them all.
type logTail struct {
	n     int
	ring  []logLine
	next  int
	total int
}

// logLine is the start of a line (up to maxLogLineBytes+1 bytes), its
// length, and how many bytes of white space end it.
type logLine struct {
	head  string
	n     int
	trail int
}

func (lt *logTail) add(l logLine) {
	lt.total++
	if len(lt.ring) < lt.n {
		lt.ring = append(lt.ring, l)
		return
	}
	lt.ring[lt.next] = l
	lt.next = (lt.next + 1) % lt.n
}

// last is the most recently added line.
func (lt *logTail) last() *logLine {
	if len(lt.ring) == 0 {
		return nil
	}
	return &lt.ring[(lt.next+len(lt.ring)-1)%len(lt.ring)]
}

// list returns the lines kept, oldest first, each scrubbed with sc and then
// cut. A line's head was already cut at maxLogLineBytes+1 bytes when it was
// read, so a key straddling that cut leaves only its start in the head:
// scrubbing the head catches any MinSecretFragment of it that was kept.
func (lt *logTail) list(sc *Scrubber) []string {
	out := make([]string, 0, len(lt.ring))
	for i := range lt.ring {
		l := lt.ring[(lt.next+i)%len(lt.ring)]
		text, _ := cutTextOf(sc.String(l.head), l.n, maxLogLineBytes, "line cut")
		out = append(out, text)
	}
	return out
}

// textLines splits a text snapshot that is too long to keep into lines as
// splitLines(bytes.TrimSpace(body)) would, keeping the last n: blank lines
// before the first line and after the last are dropped, and the white
// space (ASCII) opening the first line and closing the last is trimmed.
type textLines struct {
	tail    logTail
	cur     []byte // the start of the current line
	curLen  int
	trail   int // white space ending the current line so far
	started bool
	blanks  []logLine // white-space-only lines since the last line
	nBlank  int
}

func newTextLines(n int) *textLines { return &textLines{tail: logTail{n: n}} }

func (tl *textLines) feed(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		tl.part(seg)
		if i < 0 {
			return
		}
		tl.endLine()
		p = p[i+1:]
	}
}

func (tl *textLines) part(seg []byte) {
	if !tl.started && tl.curLen == 0 {
		seg = bytes.TrimLeft(seg, " \t\r\v\f")
	}
	if room := maxLogLineBytes + 1 - len(tl.cur); room > 0 {
		tl.cur = append(tl.cur, seg[:min(room, len(seg))]...)
	}
	tl.curLen += len(seg)
	if t := len(seg) - len(bytes.TrimRight(seg, " \t\r\v\f")); t == len(seg) {
		tl.trail += t
	} else {
		tl.trail = t
	}
}

func (tl *textLines) endLine() {
	l := logLine{head: string(tl.cur), n: tl.curLen, trail: tl.trail}
	tl.cur, tl.curLen, tl.trail = tl.cur[:0], 0, 0
	if l.trail == l.n { // white space only
		if tl.started {
			tl.nBlank++
			if len(tl.blanks) == tl.tail.n {
				tl.blanks = tl.blanks[1:]
			}
			tl.blanks = append(tl.blanks, l)
		}
		return
	}
	tl.started = true
	skipped := tl.nBlank - len(tl.blanks)
	tl.tail.total += skipped
	for _, b := range tl.blanks {
		tl.tail.add(b)
	}
	tl.blanks, tl.nBlank = tl.blanks[:0], 0
	tl.tail.add(l)
}

func (tl *textLines) finish() *logTail {
	if tl.curLen > 0 {
		tl.endLine()
	}
	if l := tl.tail.last(); l != nil {
		l.n -= l.trail
		l.head = l.head[:min(len(l.head), l.n)]
	}
	return &tl.tail
}

// readSSETail reads an event stream for at most window (or limit bytes)
// and keeps its last n lines; closing r unblocks a read still waiting.
func readSSETail(r io.ReadCloser, n int, limit int64, window time.Duration) *logTail {
	timer := time.AfterFunc(window, func() { r.Close() })
	defer timer.Stop()
	tail := &logTail{n: n}
	br := bufio.NewReaderSize(io.LimitReader(r, limit), 64<<10)
	var line []byte
	first := true
	for {
		frag, isPrefix, err := br.ReadLine()
		if len(line)+len(frag) > sseMaxLine {
			break // as bufio.Scanner with a 1 MiB buffer: the stream stops there
		}
		line = append(line, frag...)
		if isPrefix {
			continue
		}
		if err != nil && len(line) == 0 {
			break
		}
		text := string(line)
		if first {
			text, first = strings.TrimLeftFunc(text, unicode.IsSpace), false
		}
		if l, ok := sseLine(text); ok {
			tail.add(logLine{head: l[:min(len(l), maxLogLineBytes+1)], n: len(l)})
		}
		line = line[:0]
		if err != nil {
			break
		}
	}
	return tail
}

// sseLine is the log line an event-stream line carries, if any.
func sseLine(s string) (string, bool) {
	data, ok := strings.CutPrefix(s, "data:")
	if !ok {
		return "", false
	}
	data = strings.TrimSpace(data)
	if data == "[DONE]" {
		return "", false
	}
	var ev struct {
		Line, Message, Stream string
	}
	if json.Unmarshal([]byte(data), &ev) == nil && (ev.Line != "" || ev.Message != "") {
		line := ev.Line + ev.Message
		if ev.Stream != "" {
			line = "[" + ev.Stream + "] " + line
		}
		return line, true
	}
	return data, true
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
		sc.Buffer(make([]byte, 64<<10), sseMaxLine)
		for sc.Scan() {
			if l, ok := sseLine(sc.Text()); ok {
				out = append(out, l)
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
