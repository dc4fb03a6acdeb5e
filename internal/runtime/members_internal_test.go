package runtime

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// membersByUnmarshal is what objectMembers must match.
func membersByUnmarshal(raw []byte) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

var memberCases = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":1,"b":"x","c":[1,{"d":null}],"e":{"f":true}}`,
	`{"a":1,"a":2}`, `{"\u0061":1,"b":2}`, "{\"a\":\"\xff\"}", `{"a" : 1 , "b" : [ ] }`,
	`[]`, `1`, `"s"`, `null`, ``, `{`, `{"a":}`, `{"a":1,}`, `{"a":1} x`, `{"a":1}{}`, `{1:2}`,
	`{"a":01}`, `{"a":"\x"}`, `{"a":1}` + "\n", `{"a":{"b":{"c":{"d":[[[]]]}}}}`,
}

func TestObjectMembersMatchesUnmarshal(t *testing.T) {
	for _, c := range memberCases {
		got, ok := objectMembers([]byte(c))
		want, wantOK := membersByUnmarshal([]byte(c))
		if ok != wantOK || !cmp.Equal(got, want) {
			t.Errorf("objectMembers(%q) = %s, %v; json.Unmarshal gives %s, %v", c, got, ok, want, wantOK)
		}
	}
}

func FuzzObjectMembers(f *testing.F) {
	for _, c := range memberCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := objectMembers(raw)
		want, wantOK := membersByUnmarshal(raw)
		if ok != wantOK {
			t.Fatalf("objectMembers(%q) ok %v, json.Unmarshal %v", raw, ok, wantOK)
		}
		if ok && len(got) != len(want) {
			t.Fatalf("objectMembers(%q) = %d members, json.Unmarshal %d", raw, len(got), len(want))
		}
		for k, v := range want {
			if g, found := got[k]; !found || string(g) != string(v) {
				t.Fatalf("objectMembers(%q)[%q] = %q, json.Unmarshal %q", raw, k, g, v)
			}
		}
	})
}

func BenchmarkObjectMembers(b *testing.B) {
	raw := []byte(`{"id":"cmp_1","name":"dev box","status":"running","created_at":"2026-12-03T10:00:00Z","size":{"cpu":2,"memory_gb":4}}`)
	b.Run("objectMembers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			objectMembers(raw)
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			membersByUnmarshal(raw)
		}
	})
}

// TestObjectMembersLeavesTheStrictCheckStrict: objectMembers borrows the
// strict check's pooled decoders with duplicate names allowed; a message
// checked after it must still have its duplicate names refused.
func TestObjectMembersLeavesTheStrictCheckStrict(t *testing.T) {
	for range 20 { // the pool hands the same decoder back, most of the time
		if _, ok := objectMembers([]byte(`{"a":1,"a":2}`)); !ok {
			t.Fatal("objectMembers refused a repeated name")
		}
		if _, err := checkMessage([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`)); err == nil {
			t.Fatal("the strict check accepted a duplicate name after objectMembers")
		}
	}
}
