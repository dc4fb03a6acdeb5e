package runtime

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestExtractJSONString(t *testing.T) {
	big := strings.Repeat("QUJD", 100_000) // 400 kB of base64, several buffers
	for _, tc := range []struct {
		name, doc string
		want      string
		found     bool
		err       string
	}{
		{"plain", `{"data":{"content":"aGVsbG8=","encoding":"base64"}}`, "aGVsbG8=", true, ""},
		{"encoding first", `{"data":{"encoding":"base64","content":"eA=="}}`, "eA==", true, ""},
		{"escapes", `{"data":{"content":"a\/b\\c\"d\n\u00e9\ud83d\ude00"}}`, "a/b\\c\"d\né😀", true, ""},
		{"lone surrogate", `{"data":{"content":"\ud83dx"}}`, "\uFFFDx", true, ""},
		{"long", `{"meta":[1,2.5e3,-0,true,false,null,{"content":"no"}],"data":{"x":{"content":"no"},"content":"` + big + `"}}`, big, true, ""},
		{"white space", " \n{ \"data\" : { \"content\" : \"x\" } }\n", "x", true, ""},
		{"absent", `{"data":{"other":"x"}}`, "", false, ""},
		{"top level only", `{"content":"x"}`, "", false, ""},
		{"in an array", `{"data":[{"content":"x"}]}`, "", false, ""},
		{"not a string", `{"data":{"content":42}}`, "", false, "is not a string"},
		{"twice", `{"data":{"content":"a","content":"b"}}`, "", false, "twice"},
		{"invalid", `{"data":{"content":"x"}`, "", false, "invalid JSON"},
		{"trailing", `{"data":{"content":"x"}} x`, "", false, "after the document"},
		{"control char", "{\"data\":{\"content\":\"a\tb\"}}", "", false, "control character"},
		{"bad literal", `{"data":{"content":"x"},"y":tru}`, "", false, "invalid JSON"},
		{"empty", ``, "", false, "ends early"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			found, err := extractJSONString(&chunky{b: []byte(tc.doc), n: 7}, "data.content", &out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || found != tc.found || out.String() != tc.want {
				t.Fatalf("found %v, %q, %v; want %v, %q", found, clip(out.String(), clipBytes), err, tc.found, clip(tc.want, clipBytes))
			}
		})
	}
}

// FuzzExtractJSONString checks the streaming extractor against
// encoding/json: it accepts exactly the valid documents (but for a key
// given twice, which it refuses) and yields the same string.
func FuzzExtractJSONString(f *testing.F) {
	for _, s := range []string{
		`{"data":{"content":"aGVsbG8=","encoding":"base64"}}`, `{"data":{"content":"\u00e9\ud83d\ude00\/"}}`,
		`{"data":[1,{"content":"x"}]}`, `{"data":{"content":1e5}}`, `[true,false,null,-0.5E+3]`, `"x"`, `{"data":{"content":"\xe2\x9c"}}`,
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, doc []byte, chunk uint8) {
		var out bytes.Buffer
		found, err := extractJSONString(&chunky{b: doc, n: int(chunk%64) + 1}, "data.content", &out)
		if !json.Valid(doc) {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q", doc)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "twice") || strings.Contains(err.Error(), "not a string") || strings.Contains(err.Error(), "too deeply") {
				return
			}
			t.Fatalf("refused valid JSON %q: %v", doc, err)
		}
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			return // valid but too deep for encoding/json
		}
		want, ok := lookup(v, "data.content")
		s, isString := want.(string)
		if found != (ok && isString) || found && s != out.String() {
			t.Fatalf("doc %q: extracted %v %q, encoding/json has %v %q", doc, found, out.String(), ok, want)
		}
	})
}
