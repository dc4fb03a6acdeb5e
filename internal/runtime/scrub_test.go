package runtime_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

const scrubKey = "msk_u_Zq81xVbN4tLmW0pRc7Ye2HsK"

var scrubSecret = runtime.SecretOf(scrubKey) // Zq81xVbN4tLmW0pRc7Ye2HsK

// leaks reports whether s holds any MinSecretFragment-long piece of the
// secret: the property every scrubbed output must have.
func leaks(s, secret string) bool {
	for i := 0; i+runtime.MinSecretFragment <= len(secret); i++ {
		if strings.Contains(s, secret[i:i+runtime.MinSecretFragment]) {
			return true
		}
	}
	return false
}

func TestSecretOf(t *testing.T) {
	for key, want := range map[string]string{
		"msk_u_abc":          "abc",
		"msk_live_abc":       "abc",
		"msk_a_x_y":          "x_y",
		"sk-plain-key-12345": "sk-plain-key-12345",
		"":                   "",
	} {
		if got := runtime.SecretOf(key); got != want {
			t.Errorf("SecretOf(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestScrubberRemovesEveryFragment: the whole key, the bare secret, any
// 10-character piece of it, pieces at the start and end of a text, pieces
// next to each other, are all redacted; 9 characters and unrelated text
// are left alone.
func TestScrubberRemovesEveryFragment(t *testing.T) {
	sc := runtime.NewScrubber(runtime.NewAPIKey(scrubKey))
	cases := []struct {
		name, in, want string
	}{
		{"whole key", "Bearer " + scrubKey + " is revoked", "Bearer msk_u_[redacted] is revoked"},
		{"bare secret", "token=" + scrubSecret, "token=[redacted]"},
		{"head fragment", "cut here: " + scrubSecret[:10], "cut here: [redacted]"},
		{"tail fragment", scrubSecret[len(scrubSecret)-10:] + " was the end", "[redacted] was the end"},
		{"middle fragment", "#" + scrubSecret[5:17] + "#", "#[redacted]#"},
		{"two keys", scrubKey + scrubKey, "msk_u_[redacted]msk_u_[redacted]"},
		{"nine characters", "a" + scrubSecret[:9] + "b", "a" + scrubSecret[:9] + "b"},
		{"prefix only", "keys start with msk_u_", "keys start with msk_u_"},
		{"unrelated", "status running", "status running"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := sc.String(c.in)
			if got != c.want {
				t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
			}
			if leaks(got, scrubSecret) {
				t.Errorf("%q still holds a fragment of the secret", got)
			}
			if b := sc.Bytes([]byte(c.in)); string(b) != c.want {
				t.Errorf("Bytes(%q) = %q, want %q", c.in, b, c.want)
			}
			if sc.Contains(c.in) != (c.in != c.want) {
				t.Errorf("Contains(%q) = %v", c.in, sc.Contains(c.in))
			}
		})
	}
}

func TestScrubberShortAndEmptyKeys(t *testing.T) {
	if sc := runtime.NewScrubber(runtime.APIKey{}); sc != nil || sc.String("x") != "x" {
		t.Errorf("an empty key must give a nil scrubber that changes nothing")
	}
	// A secret too short for fragments is matched as the whole key.
	sc := runtime.NewScrubber(runtime.NewAPIKey("msk_u_short1"))
	if got := sc.String("a msk_u_short1 b short1"); got != "a [redacted] b short1" {
		t.Errorf("short key: %q", got)
	}
	// Two keys: each is scrubbed.
	sc = runtime.NewScrubber(runtime.NewAPIKey(scrubKey), runtime.NewAPIKey("msk_u_other_caller_secret_0001"))
	if got := sc.String(scrubKey + " other_caller_secret_0001"); leaks(got, scrubSecret) || strings.Contains(got, "caller_secret") {
		t.Errorf("two keys: %q", got)
	}
}

// TestScrubberJSON: raw JSON is scrubbed as bytes; a key spelt with \u
// escapes is found in the decoded strings and the document re-encoded.
func TestScrubberJSON(t *testing.T) {
	sc := runtime.NewScrubber(runtime.NewAPIKey(scrubKey))
	esc := `\u005a\u0071` + scrubSecret[2:] // "Zq" as escapes
	for _, in := range []string{
		`{"data":{"token":"` + scrubKey + `"}}`,
		`{"data":{"token":"` + esc + `"}}`,
		`{"` + scrubSecret + `":1}`,
		`["` + esc + `", 1.50, null]`,
	} {
		out := sc.JSON([]byte(in))
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Errorf("%s: not JSON after scrubbing: %s", in, out)
			continue
		}
		decoded, _ := json.Marshal(v)
		if leaks(string(out), scrubSecret) || leaks(string(decoded), scrubSecret) {
			t.Errorf("%s: leaks: %s", in, out)
		}
	}
	clean := `{"data":{"id":"cmp_1","n":1.50,"s":"\u00e9"}}`
	if out := sc.JSON([]byte(clean)); string(out) != clean {
		t.Errorf("a clean document changed: %s", out)
	}
}

// decodeEscapes decodes the JSON string escapes of s wherever they stand
// (written apart from the runtime's own decoder): what a reader of a cut
// JSON text sees.
func decodeEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch e := s[i+1]; {
		case e == 'u' && i+6 <= len(s):
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(n))
				i += 5
				continue
			}
		case strings.IndexByte(`"\\/`, e) >= 0:
			b.WriteByte(e)
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// spell writes s with the characters whose bit is set in mask as \u
// escapes, the rest as they are.
func spell(s string, mask uint64) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if mask>>(i%64)&1 == 1 {
			fmt.Fprintf(&b, `\u%04X`, s[i])
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// TestScrubberJSONCutAnywhere: the kept head of a long JSON answer is no
// whole document, so its escapes cannot be decoded with it; a key spelled
// with \u escapes, wholly or in part, is still found and redacted, wherever
// the head ends inside it. What is not the key stays as it was.
func TestScrubberJSONCutAnywhere(t *testing.T) {
	sc := runtime.NewScrubber(runtime.NewAPIKey(scrubKey))
	for _, mask := range []uint64{^uint64(0), 0x5555555555555555, 0xF0F0F0F0F0F0F0F0, 1 << 20} {
		spelled := spell(scrubKey, mask)
		doc := `{"data":[{"note":"caf\u00e9 \\u0041 \ud83d\ude00","token":"` + spelled + `","more":"`
		for cut := len(doc) - len(spelled) - len(`","more":"`); cut <= len(doc); cut++ {
			in := doc[:cut]
			out := string(sc.JSON([]byte(in)))
			if leaks(decodeEscapes(out), scrubSecret) {
				t.Errorf("mask %x, cut at %d: %s leaks when its escapes are read", mask, cut, out)
			}
			if !strings.HasPrefix(out, `{"data":[{"note":"caf\u00e9 \\u0041 \ud83d\ude00","token":"`) {
				t.Errorf("mask %x, cut at %d: what precedes the key changed: %s", mask, cut, out)
			}
		}
	}
	clean := `{"data":"x\u0041\n` // cut, with escapes, no key
	if out := sc.JSON([]byte(clean)); string(out) != clean {
		t.Errorf("a clean cut document changed: %s", out)
	}
}

// FuzzScrubberJSONCut: whatever surrounds it and wherever the text is cut,
// a key spelled with any mix of \u escapes never survives in a scrubbed
// text read with its escapes decoded.
func FuzzScrubberJSONCut(f *testing.F) {
	f.Add("{\"a\":\"", "\",\"b\":1}", uint64(0xAAAA), 40)
	f.Add("\\", "\\u00", uint64(1), 3)
	sc := runtime.NewScrubber(runtime.NewAPIKey(scrubKey))
	f.Fuzz(func(t *testing.T, pre, post string, mask uint64, cut int) {
		in := pre + spell(scrubKey, mask) + post
		in = in[:len(in)-int(uint(cut)%uint(len(post)+1))]
		out := string(sc.JSON([]byte(in)))
		if leaks(decodeEscapes(out), scrubSecret) && !leaks(decodeEscapes(pre), scrubSecret) && !leaks(decodeEscapes(post), scrubSecret) {
			t.Fatalf("%q scrubbed to %q, which leaks when its escapes are read", in, out)
		}
	})
}

// TestKeyNeverInAnyResultChannel: every content kind of a tool result and
// every shape of structuredContent is scrubbed by Scrubber.Result.
func TestKeyNeverInAnyResultChannel(t *testing.T) {
	sc := runtime.NewScrubber(runtime.NewAPIKey(scrubKey))
	b64 := base64.StdEncoding.EncodeToString([]byte("\x89PNG..." + scrubKey + "..."))
	type payload struct{ Token string }
	structured := []any{
		json.RawMessage(`{"data":{"lines":["auth ` + scrubKey + `"]}}`),
		map[string]any{"data": map[string]any{"lines": []string{"Bearer " + scrubKey}}},
		map[string]any{scrubSecret: []any{"x", map[string]any{"k": scrubKey}}},
		[]string{scrubKey},
		map[string]string{"k": scrubKey},
		payload{Token: scrubKey},
		scrubKey,
	}
	for i, st := range structured {
		res := &mcp.CallToolResult{
			Content: []mcp.Content{
				mcp.NewTextContent("text " + scrubKey),
				&mcp.TextContent{Type: "text", Text: "pointer " + scrubKey},
				mcp.NewImageContent(b64, "image/png"),
				mcp.NewAudioContent(b64, "audio/wav"),
				mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: "miosa://x/" + scrubKey, Text: "resource " + scrubKey}),
				mcp.NewEmbeddedResource(mcp.BlobResourceContents{URI: "miosa://blob", Blob: b64}),
				mcp.NewResourceLink("miosa://"+scrubKey, "n", "d", "text/plain"),
			},
			StructuredContent: st,
		}
		sc.Result(res)
		wire, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		if leaks(string(wire), scrubSecret) {
			t.Errorf("structured %d (%T): the result leaks on the wire: %s", i, st, wire)
		}
		for _, c := range res.Content {
			var data string
			switch x := c.(type) {
			case mcp.ImageContent:
				data = x.Data
			case mcp.AudioContent:
				data = x.Data
			case mcp.EmbeddedResource:
				if b, ok := x.Resource.(mcp.BlobResourceContents); ok {
					data = b.Blob
				}
			}
			if data != "" {
				raw, _ := base64.StdEncoding.DecodeString(data)
				if leaks(string(raw), scrubSecret) || !bytes.HasPrefix(raw, []byte("\x89PNG...")) {
					t.Errorf("binary content leaks or lost its bytes: %q", raw)
				}
			}
		}
	}
}

// TestLogRecordsAreScrubbed: the message and attribute values (strings,
// errors, groups, With attributes) of a record carry no key, whether the
// key comes from the record's context or was configured.
func TestLogRecordsAreScrubbed(t *testing.T) {
	const configured = "msk_u_configured_stdio_key_42"
	var buf bytes.Buffer
	log := slog.New(runtime.ScrubLogHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), runtime.NewAPIKey(configured)))
	ctx := runtime.WithAPIKey(context.Background(), runtime.NewAPIKey(scrubKey))
	log.With("with", "w "+configured).DebugContext(ctx, "message "+scrubKey,
		"request_id", "req-"+scrubKey,
		"error", errors.New("upstream said "+scrubKey),
		slog.Group("g", "inner", scrubSecret),
		"stdio", configured,
		"n", 42)
	out := buf.String()
	if leaks(out, scrubSecret) || leaks(out, runtime.SecretOf(configured)) {
		t.Fatalf("log line leaks a key: %s", out)
	}
	for _, want := range []string{"message msk_u_[redacted]", "request_id=req-msk_u_[redacted]", "g.inner=[redacted]", "n=42"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %q: %s", want, out)
		}
	}
}

// BenchmarkScrubber: the cost every result pays, on an 80,000-byte text
// (runtime.Limits.TextBytes) that holds no key, and on a 4 MiB blob.
func BenchmarkScrubber(b *testing.B) {
	sc := runtime.NewScrubber(runtime.NewAPIKey(scrubKey))
	var doc strings.Builder
	for doc.Len() < 80_000 {
		doc.WriteString(`{"id":"cmp_0007k2j9x8qa","status":"running","name":"build box","ip":"10.0.0.12"},`)
	}
	text := doc.String()
	blob := make([]byte, 4<<20)
	for i := range blob {
		blob[i] = byte(i * 7919 >> 3)
	}
	// Every tool call builds its Scrubber from the caller's key (select.go).
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		k := runtime.NewAPIKey(scrubKey)
		for b.Loop() {
			runtime.NewScrubber(k)
		}
	})
	b.Run("text-80KB", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			sc.String(text)
		}
	})
	b.Run("json-80KB", func(b *testing.B) {
		raw := []byte(`[` + strings.TrimSuffix(text, ",") + `]`)
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			sc.JSON(raw)
		}
	})
	b.Run("blob-4MiB", func(b *testing.B) {
		b.SetBytes(int64(len(blob)))
		for b.Loop() {
			sc.Bytes(blob)
		}
	})
}

// TestScrubberAgainstNaiveSearch: on random texts built from pieces of the
// secret, look-alike bytes and noise, the rolling-hash scan finds what a
// naive search finds: no piece survives, and a text without one is
// returned unchanged.
func TestScrubberAgainstNaiveSearch(t *testing.T) {
	sc := runtime.NewScrubber(runtime.NewAPIKey(scrubKey))
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := scrubSecret + "_-. \n\"{}:msk"
	for range 3000 {
		var b strings.Builder
		for b.Len() < r.IntN(400)+1 {
			switch r.IntN(4) {
			case 0:
				i := r.IntN(len(scrubSecret))
				b.WriteString(scrubSecret[i:min(len(scrubSecret), i+r.IntN(14)+1)])
			case 1:
				b.WriteString(scrubKey)
			default:
				b.WriteByte(alphabet[r.IntN(len(alphabet))])
			}
		}
		in := b.String()
		out := sc.String(in)
		if leaks(out, scrubSecret) {
			t.Fatalf("a piece survived:\nin  %q\nout %q", in, out)
		}
		if !leaks(in, scrubSecret) && out != in {
			t.Fatalf("a text without a piece changed:\nin  %q\nout %q", in, out)
		}
	}
}
