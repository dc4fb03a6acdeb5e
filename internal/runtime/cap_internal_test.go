package runtime

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCapsKeepTheirLimit: capBytes and capList never exceed their limit
// (for any limit, however small), never split a rune, and say what they
// left out.
func TestCapsKeepTheirLimit(t *testing.T) {
	long := strings.Repeat("é", 3000) // 2-byte runes
	for _, limit := range []int{0, 1, 10, 31, 32, 33, 100, 2000} {
		got := capBytes(long, limit)
		if !utf8.ValidString(got) || !strings.Contains(got, "more bytes]") {
			t.Errorf("capBytes(…, %d) = %q", limit, got)
		}
		if limit >= 64 && len(got) > limit {
			t.Errorf("capBytes(…, %d) is %d bytes", limit, len(got))
		}
	}
	if got := capBytes("short", 10); got != "short" {
		t.Errorf("capBytes changed a short text: %q", got)
	}
	items := make([]string, 500)
	for i := range items {
		items[i] = "field_" + strings.Repeat("x", i%40) + ": is invalid"
	}
	for _, limit := range []int{5, 100, 1800} {
		got := capList(items, "; ", limit)
		if !strings.Contains(got, "more]") || len(got) > limit+40 {
			t.Errorf("capList(…, %d) is %d bytes: %q", limit, len(got), got)
		}
	}
	if got := capList([]string{long}, "; ", 100); len(got) > 100 || !strings.Contains(got, "more bytes]") {
		t.Errorf("capList with one long item: %d bytes %q", len(got), got)
	}
	if got := capList([]string{"a", "b"}, "; ", 100); got != "a; b" {
		t.Errorf("capList changed a short list: %q", got)
	}
}

// TestCloseJSONPrefix: an error body cut at errorBodyBytes is still read
// up to its last complete member or element, and a string value cut short
// keeps what was read of it (without a half escape or a half rune); what is
// not the start of a JSON document, or is a whole one, gives nil.
func TestCloseJSONPrefix(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"error":{"code":"VALIDATION_ERROR","details":{"a":["x"],"b":["y"],"c":["`, `{"error":{"code":"VALIDATION_ERROR","details":{"a":["x"],"b":["y"],"c":[""]}}}`},
		{`{"error":{"code":"BAD","details":{"a":["x"],"b"`, `{"error":{"code":"BAD","details":{"a":["x"]}}}`},
		{`{"error":{"code":"BAD","details":{"a":["x"],"b":`, `{"error":{"code":"BAD","details":{"a":["x"]}}}`},
		{`{"message":"mmmm`, `{"message":"mmmm"}`},
		{`{"message":"ab\`, `{"message":"ab"}`},
		{`{"message":"ab\u00`, `{"message":"ab"}`},
		{`{"message":"ab\u00e9c`, `{"message":"ab\u00e9c"}`},
		{`{"message":"ab\\`, `{"message":"ab\\"}`},
		{"{\"message\":\"ab\xc3", `{"message":"ab"}`},
		{`{"mess`, `{}`},
		{`{"code":12`, `{}`},
		{`{"code":12,"n":[1,2,{"x":`, `{"code":12,"n":[1,2,{}]}`},
		{`  [1,2`, `[1]`},
		{`{`, `{}`},
		{`{"a":1}`, ``},
		{`{"a":1}}`, ``},
		{`not json`, ``},
		{``, ``},
	}
	for _, c := range cases {
		got := closeJSONPrefix([]byte(c.in))
		if string(got) != c.want {
			t.Errorf("closeJSONPrefix(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzCloseJSONPrefix: whatever the input, the result is nil or valid
// JSON; and every proper start of a JSON object or array is closed.
func FuzzCloseJSONPrefix(f *testing.F) {
	f.Add([]byte(`{"error":{"code":"X","message":"a\u00e9\"b","details":[{"field":"f","message":"m"}]}}`), 30)
	f.Add([]byte(`[1,"two",{"3":[4.5e6,null,true]}]`), 12)
	f.Fuzz(func(t *testing.T, doc []byte, n int) {
		if got := closeJSONPrefix(doc); got != nil && !json.Valid(got) {
			t.Fatalf("closeJSONPrefix(%q) = %q, not JSON", doc, got)
		}
		doc = bytes.TrimSpace(doc)
		if !json.Valid(doc) || len(doc) < 2 || (doc[0] != '{' && doc[0] != '[') {
			return
		}
		n = 1 + int(uint(n)%uint(len(doc)-1)) // a proper start
		if got := closeJSONPrefix(doc[:n]); !json.Valid(got) {
			t.Fatalf("closeJSONPrefix(%q) = %q, want a document", doc[:n], got)
		}
	})
}
