package runtime

import (
	"bytes"
	"encoding/json"
	"testing"
)

// encodeBodyRef is encodeBody as an encoding/json Encoder writes it.
func encodeBodyRef(fields map[string]json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func TestEncodeBody(t *testing.T) {
	tests := []map[string]json.RawMessage{
		{},
		{"name": json.RawMessage(`"n"`), "size": json.RawMessage(`"xs"`)},
		{"b": json.RawMessage(` { "x" : [1, 2 ,3], "y":null } `), "a": json.RawMessage(`true`)},
		{"html": json.RawMessage(`"<a href='x'>&amp;</a>"`), "esc": json.RawMessage(`"\u003c\n\u00e9"`)},
		{"nil": nil, "num": json.RawMessage(`-1.5e3`)},
		{"ключ": json.RawMessage(`"значение"`), "q\"uote": json.RawMessage(`1`)},
	}
	for _, fields := range tests {
		got, err := encodeBody(fields)
		want, werr := encodeBodyRef(fields)
		if (err != nil) != (werr != nil) || string(got) != string(want) {
			t.Errorf("encodeBody(%v) = %s, %v; the Encoder writes %s, %v", fields, got, err, want, werr)
		}
	}
}

// FuzzEncodeBody: encodeBody writes what the Encoder writes, for any
// valid JSON values under any names.
func FuzzEncodeBody(f *testing.F) {
	f.Add("name", []byte(`"n"`), "labels", []byte(` {"a" : "<b>"} `))
	f.Add("x", []byte(`1e2`), "y", []byte(`[true,null]`))
	f.Fuzz(func(t *testing.T, k1 string, v1 []byte, k2 string, v2 []byte) {
		if !json.Valid(v1) || !json.Valid(v2) {
			return
		}
		fields := map[string]json.RawMessage{k1: v1, k2: v2}
		got, err := encodeBody(fields)
		want, werr := encodeBodyRef(fields)
		if werr != nil {
			return // a name the Encoder cannot write (invalid UTF-8)
		}
		if err != nil || string(got) != string(want) {
			t.Fatalf("encodeBody = %s, %v; the Encoder writes %s", got, err, want)
		}
	})
}

// BenchmarkEncodeBody is the body of a small write call (env_set).
func BenchmarkEncodeBody(b *testing.B) {
	fields := map[string]json.RawMessage{"vars": json.RawMessage(`{"NODE_ENV":"production","PORT":"8080"}`), "replace": json.RawMessage(`false`)}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeBody(fields)
		}
	})
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeBodyRef(fields)
		}
	})
}
