package runtime

import (
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
