package runtime

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// plainNumbersRef is plainNumbers by way of a tokenizer.
func plainNumbersRef(raw []byte) bool {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	for {
		tok, err := d.Token()
		if err != nil {
			return true
		}
		if n, ok := tok.(json.Number); ok && strings.ContainsAny(string(n), ".eE") {
			return false
		}
	}
}

func TestPlainNumbers(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{`{}`, true},
		{`{"x":3,"y":-4,"z":[0,1,true,false,null]}`, true},
		{`{"x":3.0}`, false},
		{`{"x":1e2}`, false},
		{`{"x":-4E0}`, false},
		{`{"a":[{"b":0.5}]}`, false},
		{`{"name":"v1.2e3","t":true,"f":false}`, true},
		{`{"s":"\"1.5\\","n":7}`, true},
		{`{"s":"\\","n":7.5}`, false},
		{`{"e\u0065":1}`, true},
	}
	for _, tc := range tests {
		if got := plainNumbers([]byte(tc.raw)); got != tc.want || plainNumbersRef([]byte(tc.raw)) != tc.want {
			t.Errorf("plainNumbers(%s) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

// FuzzPlainNumbers: plainNumbers agrees with a tokenizer on any valid JSON.
func FuzzPlainNumbers(f *testing.F) {
	for _, s := range []string{`{"x":3}`, `{"x":3.0}`, `{"s":"\"1.5\\","n":7}`, `[1e2,"a.b"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		if got, want := plainNumbers(raw), plainNumbersRef(raw); got != want {
			t.Fatalf("plainNumbers(%s) = %v, the tokenizer says %v", raw, got, want)
		}
	})
}

// FuzzIDPattern: idMatcher answers as Go's regexp does for idPattern, on
// any string (invalid UTF-8 included).
func FuzzIDPattern(f *testing.F) {
	for _, s := range []string{"cmp_1", "a.b-c", "", "-a", ".a", "a/b", "a\n", "é", "a b", "_", "a\x00", "../x"} {
		f.Add(s)
	}
	re := regexp.MustCompile(idPattern)
	m, err := compilePattern(idPattern)
	if err != nil {
		f.Fatal(err)
	}
	if _, ok := m.(idMatcher); !ok {
		f.Fatalf("compilePattern(idPattern) is %T, not the byte loop", m)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := m.MatchString(s), re.MatchString(s); got != want {
			t.Fatalf("MatchString(%q) = %v, regexp says %v", s, got, want)
		}
	})
}

// BenchmarkIDPattern: an id checked by the byte loop and by regexp.
func BenchmarkIDPattern(b *testing.B) {
	const id = "cmp_bench_0001"
	re := regexp.MustCompile(idPattern)
	b.Run("idMatcher", func(b *testing.B) {
		for b.Loop() {
			idMatcher{}.MatchString(id)
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			re.MatchString(id)
		}
	})
}
