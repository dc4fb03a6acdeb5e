package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/mcp"
)

// chunky yields its bytes a few at a time, as a network body does.
type chunky struct {
	b []byte
	n int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.b))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}

func resultJSON(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// shapeJSON is the JSON result of an answer, or the error result of an
// unusable one, as the shape stage and failures build them.
func shapeJSON(sh *shaper, tool *Tool, h http.Header, ub *upstreamBody) *mcp.CallToolResult {
	if err := sh.unusableBody(tool, 200, h, ub); err != nil {
		return (&failures{}).result(nil, tool, err)
	}
	return sh.answerResult(tool, ub, 200)
}

// shapeResult is what a shape function gave, an error as its result.
func shapeResult(res *mcp.CallToolResult, err error) *mcp.CallToolResult {
	if err != nil {
		return errorResult(nil, err.Error())
	}
	return res
}

// TestAnswerMatchesWholeBody: a JSON answer read only as far as the result
// needs (its start kept, the rest scanned) gives exactly the result the
// whole body gives: the same cut text, size, paging note, validity verdict
// and structured content.
func TestAnswerMatchesWholeBody(t *testing.T) {
	sh := &shaper{limits: Limits{TextBytes: 300}.withDefaults()}
	tool := &Tool{Name: "answer_test", OutputSchema: json.RawMessage(`{"type":"object","properties":{"data":{"type":"array"}}}`)}
	long := strings.Repeat("é-x", 200)
	docs := []string{
		`{"data":[{"name":"` + long + `"}],"cursor":"c2"}`,
		`{"data":[{"name":"` + long + `"}],"next_cursor":"n3","meta":{"total":9,"page":1,"per_page":3}}`,
		`  {"data":{"objects":["` + long + `"],"truncated":true,"next_marker":"k9"}}  `,
		`{"data":{"objects":["` + long + `"],"Truncated":true,"NEXT_MARKER":"k9"}}`,
		`{"meta":{"total":100,"page":2,"per_page":10},"data":["` + long + `"]}`,
		`{"data":["` + long + `"],"cursor":""}`,
		`["` + long + `"]`,
		`"` + long + `"`,
		`{"data":["` + long + `"]`,        // not complete JSON
		`{"data":["` + long + `"]} trail`, // trailing garbage
		"\u00a0{\"data\":[\"" + long + "\"]}\u3000",
		`<html><body>` + long + `</body></html>`,
		strings.Repeat(" ", 500) + `{}`, // mostly white space
	}
	for i, d := range docs {
		for _, mt := range []string{"application/json", "text/plain", "text/html"} {
			h := http.Header{"Content-Type": {mt}}
			want := shapeJSON(sh, tool, h, &upstreamBody{data: []byte(d)})
			for _, chunk := range []int{1, 7, 4096} {
				ub, err := readJSONAnswer(&chunky{b: []byte(d), n: chunk}, sh.limits.TextBytes, sh.limits.TextBytes, sh.limits.ReadBytes, -1)
				if err != nil {
					t.Fatal(err)
				}
				if len(ub.data) > sh.limits.TextBytes+1 {
					t.Errorf("doc %d: kept %d bytes, want at most %d", i, len(ub.data), sh.limits.TextBytes+1)
				}
				got := shapeJSON(sh, tool, h, ub)
				if diff := cmp.Diff(resultJSON(t, want), resultJSON(t, got)); diff != "" {
					t.Errorf("doc %d (%s, chunks of %d): streamed result differs (-whole +streamed):\n%s", i, mt, chunk, diff)
				}
			}
		}
	}
}

// TestFileAnswerMatchesWholeBody: a download longer than the binary cap
// keeps its first TextBytes+1 bytes and gives the result the whole body
// gives: cut text for UTF-8 text, "not returned" for anything else.
func TestFileAnswerMatchesWholeBody(t *testing.T) {
	lim := Limits{TextBytes: 300, BinaryBytes: 1000}.withDefaults()
	s := &sender{limits: lim, answers: newAnswerBudget(lim.AnswerBytes)}
	sh := &shaper{limits: lim}
	tool := &Tool{Name: "file_test", Result: ResultFile}
	text := strings.Repeat("héllo wörld\n", 400)
	docs := map[string][]byte{
		"text":                []byte(text),
		"text-rune-at-cap":    []byte(strings.Repeat("€", 1000)),
		"nul-late":            []byte(text + "\x00" + text),
		"invalid-utf8-late":   []byte(text + "\xff"),
		"cut-rune-at-the-end": []byte(text + "\xe2\x82"),
		"png":                 append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0, 1, 2}, 2000)...),
		"small-text":          []byte("héllo\n"),
		"small-binary":        {0, 1, 2, 0xff},
	}
	for name, d := range docs {
		h := http.Header{"Content-Type": {"application/octet-stream"}}
		want := shapeResult(sh.fileResult(nil, tool, &upstreamBody{data: d}, h))
		for _, chunk := range []int{1, 5, 4096} {
			ub, err := s.readFileAnswer(context.Background(), &chunky{b: d, n: chunk}, s.limits.BinaryBytes, s.limits.TextBytes, s.limits.ReadBytes, -1)
			if err != nil {
				t.Fatal(err)
			}
			got := shapeResult(sh.fileResult(nil, tool, ub, h))
			ub.done()
			if diff := cmp.Diff(resultJSON(t, want), resultJSON(t, got)); diff != "" {
				t.Errorf("%s (chunks of %d): streamed result differs (-whole +streamed):\n%s", name, chunk, diff)
			}
		}
	}
}

// TestTextLogTailMatchesWholeBody: a text log too long to keep yields the
// lines the whole body yields (the last n, each cut, and the total).
func TestTextLogTailMatchesWholeBody(t *testing.T) {
	var b strings.Builder
	b.WriteString("\n\n   first line\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "line %d\r\n", i)
		if i%500 == 0 {
			b.WriteString("\n  \n")
		}
	}
	b.WriteString(strings.Repeat("y", 5000) + "\n")
	b.WriteString("last line  \n\n \n")
	body := b.String()
	for _, n := range []int{1, 10, 1000} {
		all := extractLogLines([]byte(body), "text/plain")
		total := len(all)
		if total > n {
			all = all[total-n:]
		}
		for i, l := range all {
			all[i], _ = cutText(l, maxLogLineBytes, "line cut")
		}
		for _, chunk := range []int{1, 3, 4096} {
			tl := newTextLines(n)
			c := &chunky{b: []byte(body), n: chunk}
			buf := make([]byte, chunk)
			for {
				k, err := c.Read(buf)
				tl.feed(buf[:k])
				if err != nil {
					break
				}
			}
			tail := tl.finish()
			if tail.total != total {
				t.Errorf("n=%d chunks of %d: total %d, want %d", n, chunk, tail.total, total)
			}
			if diff := cmp.Diff(all, tail.list(nil)); diff != "" {
				t.Errorf("n=%d chunks of %d: lines differ (-whole +tail):\n%s", n, chunk, diff)
			}
		}
	}
}

// FuzzJSONAnswer: for any body and chunking, the result of the streamed
// read equals the result of the whole body.
func FuzzJSONAnswer(f *testing.F) {
	f.Add([]byte(`{"data":[{"name":"`+strings.Repeat("x", 100)+`"}],"cursor":"c2"}`), uint8(3))
	f.Add([]byte(`{"data":{"truncated":true,"next_marker":"m","pad":"`+strings.Repeat("é", 60)+`"}}`), uint8(1))
	f.Add([]byte(`<html>`+strings.Repeat(" ", 100)), uint8(9))
	sh := &shaper{limits: Limits{TextBytes: 64}.withDefaults()}
	tool := &Tool{Name: "answer_fuzz", OutputSchema: json.RawMessage(`{"type":"object"}`)}
	h := http.Header{"Content-Type": {"application/json"}}
	f.Fuzz(func(t *testing.T, doc []byte, chunk uint8) {
		want := shapeJSON(sh, tool, h, &upstreamBody{data: doc})
		ub, err := readJSONAnswer(&chunky{b: doc, n: int(chunk)%13 + 1}, sh.limits.TextBytes, sh.limits.TextBytes, sh.limits.ReadBytes, -1)
		if err != nil {
			t.Fatal(err)
		}
		got := shapeJSON(sh, tool, h, ub)
		if ub.head && !ub.topOK {
			return // a paging member too long to capture: no note (documented)
		}
		if w, g := resultJSON(t, want), resultJSON(t, got); w != g {
			t.Fatalf("streamed result differs:\nwhole    %s\nstreamed %s", w, g)
		}
	})
}

// TestAnswerBudgetBoundsLargeAnswers: what an answer keeps beyond its first
// MiB comes from the server-wide budget, up front when the size is
// announced and once the body passes 1 MiB when it is not; while the budget
// is held elsewhere the read waits (here until its context ends), and the
// bytes come back when the result is built.
func TestAnswerBudgetBoundsLargeAnswers(t *testing.T) {
	s := &sender{limits: Limits{}.withDefaults(), answers: newAnswerBudget(4 << 20)}
	body := bytes.Repeat([]byte("a"), 3<<20)
	for _, hint := range []int64{int64(len(body)), -1} {
		// Budget free: the read takes 2 MiB (+1) and gives it back.
		buf, release, err := s.readUpTo(context.Background(), bytes.NewReader(body), 4<<20, hint)
		if err != nil || len(buf) != len(body) {
			t.Fatalf("hint %d: read %d bytes, %v", hint, len(buf), err)
		}
		if s.answers.TryAcquire(3 << 20) {
			t.Fatalf("hint %d: the read took nothing from the budget", hint)
		}
		release()
		if !s.answers.TryAcquire(4 << 20) {
			t.Fatalf("hint %d: the budget was not given back", hint)
		}
		// Budget held: the read waits and gives up with its context.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, release, err = s.readUpTo(ctx, bytes.NewReader(body), 4<<20, hint)
		cancel()
		release()
		if err == nil {
			t.Fatalf("hint %d: a large answer was read with the budget held", hint)
		}
		// A small answer never waits, even with the budget held.
		if buf, release, err := s.readUpTo(context.Background(), bytes.NewReader(body[:1000]), 4<<20, -1); err != nil || len(buf) != 1000 {
			t.Fatalf("a small answer: %v", err)
		} else {
			release()
		}
		s.answers.Release(4 << 20)
	}
}

// TestScrubAnswerLeavesBinariesAlone: an image or a file that is not JSON
// is scrubbed as bytes only: a binary holds "\u" by chance, and reading it
// as JSON escapes would copy every image (4 MiB at the cap) for nothing,
// outside the answer budget. A key in it is still redacted.
func TestScrubAnswerLeavesBinariesAlone(t *testing.T) {
	const key = "msk_u_answer_Hq3Vn8Kd2Tw5Zp"
	sc := NewScrubber(NewAPIKey(key))
	bin := bytes.Repeat([]byte("\x89PNG\\u12\x00\xff"), 1<<16)
	for _, c := range []struct {
		name   string
		result ResultKind
		h      http.Header
	}{
		{"image", ResultImage, http.Header{"Content-Type": {"image/png"}}},
		{"file", ResultFile, http.Header{"Content-Type": {"application/octet-stream"}}},
	} {
		tool := &Tool{Name: "t", Result: c.result}
		if n := testing.AllocsPerRun(5, func() { scrubAnswer(sc, tool, &reply{header: c.h, body: &upstreamBody{data: bin}}) }); n > 1 {
			t.Errorf("%s: %v allocations scrubbing a binary without the key", c.name, n)
		}
		ub := &upstreamBody{data: append(bytes.Clone(bin[:100]), key...)}
		scrubAnswer(sc, tool, &reply{header: c.h, body: ub})
		if bytes.Contains(ub.data, []byte(SecretOf(key)[:MinSecretFragment])) {
			t.Errorf("%s: the key survived: %q", c.name, ub.data)
		}
	}
}

func TestMayName(t *testing.T) {
	tests := []struct {
		b    string
		want bool
	}{
		{`{"id":"cmp_1","status":"running"}`, false},
		{`{"truncated":true,"next_marker":"m"}`, true},
		{`{"TRUNCATED":true}`, true},
		{`{"TrunCated":false}`, true},
		{`{"trunc\u0061ted":true}`, true},
		{`{"items":["truncated"]}`, true},
		{`{"truncate":true}`, false},
	}
	for _, tc := range tests {
		if got := mayName([]byte(tc.b), "truncated"); got != tc.want {
			t.Errorf("mayName(%s) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

// FuzzMayName: whenever encoding/json finds the field, mayName said it may
// be there, so the paging note never misses a truncated listing.
func FuzzMayName(f *testing.F) {
	for _, s := range []string{`{"truncated":true}`, `{"TRUNCATED":true}`, `{"trunc\u0061ted":true}`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d struct {
			Truncated bool `json:"truncated"`
		}
		if json.Unmarshal(b, &d) == nil && d.Truncated && !mayName(b, "truncated") {
			t.Fatalf("encoding/json finds truncated in %q, mayName does not", b)
		}
	})
}

// TestPagingNote: the notes a list answer gets, the data object's marker
// in any case of its member names included.
func TestPagingNote(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"a next cursor", `{"data":[],"next_cursor":"c2"}`, `cursor="c2"`},
		{"pages", `{"data":[],"meta":{"total":30,"page":1,"per_page":10}}`, "page=2"},
		{"a storage marker", `{"data":{"objects":[],"truncated":true,"next_marker":"k9"}}`, `cursor="k9"`},
		{"a marker in upper case", `{"data":{"TRUNCATED":true,"NEXT_MARKER":"k9"}}`, `cursor="k9"`},
		{"an escaped marker name", `{"data":{"trunc\u0061ted":true,"next_marker":"k9"}}`, `cursor="k9"`},
		{"not truncated", `{"data":{"truncated":false,"next_marker":"k9"}}`, ""},
		{"a plain object", `{"data":{"id":"cmp_1","status":"running"}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var top map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.body), &top); err != nil {
				t.Fatal(err)
			}
			got := pagingNote(top)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("pagingNote = %q, want one with %q", got, tc.want)
			}
		})
	}
}

// BenchmarkPagingNote is the note of a small object answer (most calls).
func BenchmarkPagingNote(b *testing.B) {
	var top map[string]json.RawMessage
	json.Unmarshal([]byte(`{"data":{"id":"cmp_bench_0001","name":"bench","status":"running","template":"miosa-desktop","size":"small","region":"us-east-1","ip":"10.0.0.7","created_at":"2026-01-01T00:00:00Z"}}`), &top)
	b.ReportAllocs()
	for b.Loop() {
		pagingNote(top)
	}
}
