package runtime

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzStrictDifferential: the jsontext check answers every message exactly
// as the check it replaced (strict_legacy_test.go): the same refusal (code,
// text, id), and for an accepted message the same top-level members.
// Temporary: it goes with the old check.
func FuzzStrictDifferential(f *testing.F) {
	for _, m := range strictMessages() {
		if len(m.msg) <= 16<<10 { // large seeds slow every mutation down
			f.Add(m.msg)
		}
	}
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzCheckMessage/*")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		_, lit, ok := strings.Cut(string(b), "[]byte(")
		if !ok {
			continue
		}
		s, err := strconv.Unquote(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(lit), ")")))
		if err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"params._meta":{"NAME":1},"method":"m"}`, `{"":{"\u0000":{"a":1,"a":2}}}`, `{"id":1,"method":"m","x":"\ud800","x":1}`,
		`{"id":[1,{"a":1,"a":2}],"method":"m"}`, `{"id":"\ud800","method":"m","p":{"a":1,"a":2}}`, "\u00a0{\"method\":\"m\"}",
		`{"method":"m","params":{"_meta":{"_meta":{"NAME":1}}}}`, `{"method":"m","params":[{"NAME":1}]}`, `{"result":1,"id":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		oldTop, oldErr := legacyCheckMessage(msg)
		newTop, newErr := checkMessage(msg)
		switch {
		case (oldErr == nil) != (newErr == nil):
			t.Fatalf("old %v, new %v for %q", oldErr, newErr, msg)
		case oldErr != nil:
			if oldErr.Code != newErr.Code || oldErr.Message != newErr.Message || !bytes.Equal(oldErr.ID, newErr.ID) {
				t.Fatalf("old %d %q id %s\nnew %d %q id %s\nfor %q", oldErr.Code, oldErr.Message, oldErr.ID, newErr.Code, newErr.Message, newErr.ID, msg)
			}
		case newTop != nil || oldTop != nil:
			if len(oldTop) != len(newTop) {
				t.Fatalf("old members %q, new %q for %q", oldTop, newTop, msg)
			}
			for k, v := range oldTop {
				if nv, ok := newTop[k]; !ok || !bytes.Equal(v, nv) {
					t.Fatalf("member %q: old %q, new %q for %q", k, v, nv, msg)
				}
			}
		}
	})
}

// BenchmarkCheckMessageLegacy: BenchmarkCheckMessage's messages through the
// check before jsontext.
func BenchmarkCheckMessageLegacy(b *testing.B) { benchmarkCheck(b, legacyCheckMessage) }
