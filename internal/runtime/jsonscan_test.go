package runtime

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// scanAll feeds doc to a jsonScan in chunks of n bytes.
func scanAll(doc []byte, n int) *jsonScan {
	j := newJSONScan()
	for len(doc) > 0 {
		k := min(n, len(doc))
		j.feed(doc[:k])
		doc = doc[k:]
	}
	return j
}

// checkScan compares the scan of doc with what encoding/json reads from the
// whole document: validity (json.Valid after bytes.TrimSpace, as
// jsonResult does), the trimmed size, and the paging note.
func checkScan(t *testing.T, doc []byte, chunk int) {
	t.Helper()
	j := scanAll(doc, chunk)
	valid := j.finish()
	trimmed := bytes.TrimSpace(doc)
	var tc trimCounter
	var start []byte
	for d := doc; len(d) > 0; d = d[min(chunk, len(d)):] {
		start = append(start, tc.feed(d[:min(chunk, len(d))])...)
	}
	start = append(start, tc.end()...)
	if !bytes.HasPrefix(start, trimmed) || tc.trimmed() != int64(len(trimmed)) {
		t.Fatalf("trim of %q (chunks of %d): start %q, length %d; want %q, %d", doc, chunk, start, tc.trimmed(), trimmed, len(trimmed))
	}
	if want := json.Valid(trimmed); valid != want {
		t.Fatalf("scan of %q (chunks of %d): valid = %v, json.Valid = %v", doc, chunk, valid, want)
	}
	if !valid {
		return
	}
	var whole map[string]json.RawMessage
	if trimmed[0] == '{' {
		if json.Unmarshal(trimmed, &whole) != nil {
			t.Fatalf("json.Valid but no object: %q", trimmed)
		}
	}
	top, ok := j.top()
	if !ok {
		return // a member too long to capture: no note (documented)
	}
	if (top == nil) != (whole == nil) {
		t.Fatalf("scan of %q: top %v, decoded %v", doc, top, whole)
	}
	if got, want := pagingNote(top), pagingNote(whole); got != want {
		t.Fatalf("scan of %q: paging note %q, want %q (captured %v)", doc, got, want, top)
	}
}

func TestJSONScan(t *testing.T) {
	big := strings.Repeat("x", 200_000)
	docs := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `true`, `null`, ` {"a":1} `, "\u00a0{}\u3000", "\f[1]\v",
		`{"a":`, `{"a":1,}`, `[1,]`, `01`, `1.`, `1e`, `-`, `"\x01"`, `"\u12G4"`, `{"a" 1}`, `{1:2}`, `tru`, `nul`, `[}`, `{]`,
		"1\u00a0", "1\xc2", "{}\xc2", "\xff{}", `{} {}`, `1 2`, `{"a":"b"}x`,
		"\xbf" + strings.Repeat(" ", 64), "{}" + strings.Repeat(" ", 200), "{}" + strings.Repeat("\u00a0\u3000", 100),
		"1\xbf" + strings.Repeat("\n", 100), "{}\xe2 " + strings.Repeat(" ", 70), "{}\xe2\x80" + strings.Repeat(" ", 70),
		`{"data":[1,2],"cursor":"c2"}`,
		`{"data":{"items":[],"truncated":true,"next_marker":"m9"}}`,
		`{"data":{"Truncated":true,"NEXT_MARKER":"m9"}}`,
		`{"data":{"truncated":true,"next_marker":"m1"},"data":[1]}`,
		`{"data":[1],"data":{"truncated":true,"next_marker":"m2"}}`,
		`{"data":{"truncated":"yes","next_marker":"m3"}}`,
		`{"meta":{"total":30,"page":1,"per_page":10},"data":[]}`,
		`{"meta":{"total":"x","page":1,"per_page":10}}`,
		`{"cursor":"a","cursor":"","next_cursor":"b"}`,
		`{"next_cursor":null,"cursor":5}`,
		`{"curs\u006fr":"esc"}`, `{"Cursor":"case"}`,
		`{"data":[{"name":"` + big + `"}],"cursor":"c2"}`,
		`{"name":"` + big + `","meta":{"total":3,"page":1,"per_page":1}}`,
		`[` + strings.Repeat(`"`+big[:1000]+`",`, 100) + `1]`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	}
	for _, d := range docs {
		for _, chunk := range []int{1, 3, 7, 4096, 1 << 20} {
			checkScan(t, []byte(d), chunk)
		}
	}
}

// FuzzJSONScan checks the streaming scan against encoding/json on any
// input split into any chunk size.
func FuzzJSONScan(f *testing.F) {
	f.Add([]byte(`{"data":{"truncated":true,"next_marker":"m"},"cursor":"c"}`), uint8(3))
	f.Add([]byte(`{"meta":{"total":30,"page":1,"per_page":10}}`), uint8(1))
	f.Add([]byte("\u00a0[1e5,\"\\u00e9\"]\u2028"), uint8(2))
	f.Fuzz(func(t *testing.T, doc []byte, chunk uint8) {
		checkScan(t, doc, int(chunk)%17+1)
	})
}
