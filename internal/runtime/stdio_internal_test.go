package runtime

import (
	"encoding/json"
	"testing"
)

// TestIDKey: a request id's identity is its JSON type and value: 7 and "7"
// differ, and one id spelt two ways is the same id.
func TestIDKey(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{`7`, `"7"`, false},
		{`"7"`, `"\u0037"`, true},
		{`7`, ` 7 `, true},
		{`-0`, `0`, true},
		{`0`, `"0"`, false},
		{`"a"`, `"A"`, false},
		{`9007199254740991`, `"9007199254740991"`, false},
		{`""`, `"\u0000"`, false},
	}
	for _, c := range cases {
		ka, oka := idKey(json.RawMessage(c.a))
		kb, okb := idKey(json.RawMessage(c.b))
		if !oka || !okb {
			t.Errorf("idKey(%s), idKey(%s): not keys", c.a, c.b)
			continue
		}
		if (ka == kb) != c.same {
			t.Errorf("idKey(%s) = %q, idKey(%s) = %q; same = %v, want %v", c.a, ka, c.b, kb, ka == kb, c.same)
		}
	}
	for _, bad := range []string{``, `null`, `1.5`, `{}`, `"unterminated`} {
		if k, ok := idKey(json.RawMessage(bad)); ok {
			t.Errorf("idKey(%s) = %q, want no key", bad, k)
		}
	}
}
