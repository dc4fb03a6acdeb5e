package runtime

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/mark3labs/mcp-go/mcp"
)

// The API key is kept out of every output twice over: the APIKey type never
// prints it (fmt, errors, slog), and a Scrubber removes it from whatever
// the API or a client sends back. In a call (select.go) the answer is
// scrubbed as soon as it is read, before the shape stage cuts anything
// (scrubAnswer), and the result is scrubbed whole as the last stage
// (Scrubber.Result).
//
// Every output channel — tool result text, structuredContent (raw JSON and
// Go values), embedded resources and blobs, images, progress notifications,
// error texts, log records and `miosa-mcp call` output — passes through a
// Scrubber built for the call from the caller's key (stdio: the configured
// key; HTTP: the request's key). An API that echoes the key (in an error
// body, a log line, a status field or a request-id header) must not put it
// in front of the model or into a log (issue #10).
//
// Texts are scrubbed before they are cut to size: a key that straddles a
// cut would otherwise leave most of its secret behind. And since a cut, a
// line split or an upstream that echoes part of a header can leave a piece
// of a key, any run of MinSecretFragment characters of the key's secret
// counts as the key.

// APIKey is a MIOSA API key. Its String, GoString and LogValue never reveal
// it, so it cannot leak through fmt, %v in errors, or structured logs.
type APIKey struct{ v string }

// NewAPIKey wraps a raw key.
func NewAPIKey(s string) APIKey { return APIKey{v: s} }

// Empty reports whether no key is set.
func (k APIKey) Empty() bool { return k.v == "" }

// Reveal returns the raw key; only the request editor (send.go) and
// the scrubber call it.
func (k APIKey) Reveal() string { return k.v }

func (k APIKey) String() string   { return k.redacted() }
func (k APIKey) GoString() string { return k.redacted() }

// LogValue implements slog.LogValuer.
func (k APIKey) LogValue() slog.Value { return slog.StringValue(k.redacted()) }

func (k APIKey) redacted() string {
	if k.v == "" {
		return "<unset>"
	}
	return "msk_…[redacted]"
}

type keyAPIKey struct{}

// WithAPIKey stores the caller's key in ctx. Nothing else holds it: the
// shared client, server and caches never see it (per-request isolation).
func WithAPIKey(ctx context.Context, k APIKey) context.Context {
	return context.WithValue(ctx, keyAPIKey{}, k)
}

// APIKeyFrom returns the key stored in ctx, if any.
func APIKeyFrom(ctx context.Context) APIKey {
	k, _ := ctx.Value(keyAPIKey{}).(APIKey)
	return k
}

// MinSecretFragment is the length from which any piece of a key's secret
// (the key without its well-known prefix such as msk_u_) is treated as the
// key itself. Ten characters of a random secret are far beyond guessing
// and far too specific to occur by chance in ordinary output.
const MinSecretFragment = 10

// minWholeKey is the shortest key that is scrubbed when its secret is too
// short for fragments: such a key is then matched whole. Shorter strings
// are no usable key, and scrubbing them would mangle ordinary output.
const minWholeKey = 8

// Redacted replaces every piece of a key that is scrubbed.
const Redacted = "[redacted]"

// SecretOf returns the secret part of a key: the key without its
// well-known prefix, the public, non-secret start of MIOSA keys: msk_u_
// (user), msk_a_, msk_p_, msk_live_ and so on (^msk_[a-z]+_, matched by
// hand: every HTTP call builds a Scrubber, and the regular expression was
// most of its cost).
func SecretOf(key string) string {
	rest, ok := strings.CutPrefix(key, "msk_")
	if !ok {
		return key
	}
	i := 0
	for i < len(rest) && rest[i] >= 'a' && rest[i] <= 'z' {
		i++
	}
	if i == 0 || i == len(rest) || rest[i] != '_' {
		return key
	}
	return rest[i+1:]
}

// Scrubber removes API keys, and every fragment of their secrets of
// MinSecretFragment or more characters, from output. A nil or empty
// Scrubber leaves everything unchanged.
type Scrubber struct {
	// secrets holds every secret of MinSecretFragment or more bytes; a
	// piece is any MinSecretFragment-long substring of one. They are looked
	// up in the secrets themselves rather than in a set of pieces: every
	// call builds its Scrubber, and a set cost some 30 map inserts per call
	// where a lookup is rare (only windows that pass the filter).
	secrets []string
	seen    [filterWords]uint64 // rolling-hash filter of the pieces (see spans)
	whole   []string            // keys whose secret is too short for pieces
	// key is the key it was built for when it was built for one
	// (callScrubber reuses it for that key's calls).
	key string
}

// NewScrubber builds a Scrubber for the given keys; empty keys are ignored.
func NewScrubber(keys ...APIKey) *Scrubber {
	s := &Scrubber{}
	for _, k := range keys {
		s.add(k.Reveal())
	}
	if len(keys) == 1 {
		s.key = keys[0].Reveal()
	}
	if len(s.secrets) == 0 && len(s.whole) == 0 {
		return nil
	}
	return s
}

func (s *Scrubber) add(key string) {
	secret := SecretOf(key)
	switch {
	case len(secret) >= MinSecretFragment:
		if slices.Contains(s.secrets, secret) {
			return
		}
		s.secrets = append(s.secrets, secret)
		h := windowHash(secret[:MinSecretFragment])
		for i := 0; ; i++ {
			s.seen[(h>>filterShift)/64] |= 1 << ((h >> filterShift) % 64)
			if i+MinSecretFragment >= len(secret) {
				break
			}
			h = (h-uint64(secret[i])*hashPow)*hashBase + uint64(secret[i+MinSecretFragment])
		}
	case len(key) >= minWholeKey && !slices.Contains(s.whole, key):
		s.whole = append(s.whole, key)
	}
}

// The scan slides a MinSecretFragment-byte window over the text with a
// rolling hash (Rabin-Karp) and looks a window up in the secrets only when its
// hash is in a 4,096-bit filter of the pieces' hashes (well under one
// window in a hundred for a 32-character key), so most of the text costs a
// few arithmetic operations per byte.
const (
	hashBase    = 0x100000001b3 // an odd multiplier (the FNV-64 prime)
	filterBits  = 12
	filterWords = 1 << filterBits / 64
	filterShift = 64 - filterBits
)

// hashPow is hashBase^(MinSecretFragment-1), to drop a window's first byte.
var hashPow = func() uint64 {
	p := uint64(1)
	for range MinSecretFragment - 1 {
		p *= hashBase
	}
	return p
}()

func windowHash(w string) uint64 {
	var h uint64
	for i := 0; i < len(w); i++ {
		h = h*hashBase + uint64(w[i])
	}
	return h
}

// piece reports whether w (MinSecretFragment bytes) is a piece of a secret.
func (s *Scrubber) piece(w string) bool {
	for _, sec := range s.secrets {
		if strings.Contains(sec, w) {
			return true
		}
	}
	return false
}

// spans finds the byte ranges of t that belong to a key, merged and sorted.
func spans(s *Scrubber, t string) [][2]int {
	if s == nil {
		return nil
	}
	var out [][2]int
	if len(s.secrets) > 0 && len(t) >= MinSecretFragment {
		h := windowHash(t[:MinSecretFragment])
		for i := 0; ; i++ {
			if f := h >> filterShift; s.seen[f/64]&(1<<(f%64)) != 0 && s.piece(t[i:i+MinSecretFragment]) {
				out = append(out, [2]int{i, i + MinSecretFragment})
			}
			if i+MinSecretFragment >= len(t) {
				break
			}
			h = (h-uint64(t[i])*hashPow)*hashBase + uint64(t[i+MinSecretFragment])
		}
	}
	for _, k := range s.whole {
		for off := 0; ; {
			i := strings.Index(t[off:], k)
			if i < 0 {
				break
			}
			out = append(out, [2]int{off + i, off + i + len(k)})
			off += i + 1
		}
	}
	if len(s.whole) > 0 {
		slices.SortFunc(out, func(a, b [2]int) int { return a[0] - b[0] })
	}
	merged := out[:0]
	for _, sp := range out {
		if n := len(merged); n > 0 && sp[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], sp[1])
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// view reads b as a string without copying it; b must not change while
// the view is in use (the scrubber only reads it).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Contains reports whether t holds a key or a fragment of its secret.
func (s *Scrubber) Contains(t string) bool { return len(spans(s, t)) > 0 }

// ContainsBytes is Contains for bytes.
func (s *Scrubber) ContainsBytes(b []byte) bool { return len(spans(s, view(b))) > 0 }

// String returns t with every key and key fragment replaced by Redacted.
func (s *Scrubber) String(t string) string {
	sp := spans(s, t)
	if len(sp) == 0 {
		return t
	}
	return string(replaceSpans([]byte(t), sp))
}

// Bytes is String for bytes; b itself is never modified.
func (s *Scrubber) Bytes(b []byte) []byte {
	sp := spans(s, view(b))
	if len(sp) == 0 {
		return b
	}
	return replaceSpans(b, sp)
}

func replaceSpans(b []byte, sp [][2]int) []byte {
	out := make([]byte, 0, len(b))
	prev := 0
	for _, x := range sp {
		out = append(out, b[prev:x[0]]...)
		out = append(out, Redacted...)
		prev = x[1]
	}
	return append(out, b[prev:]...)
}

// JSON scrubs a JSON document. The bytes are scrubbed as they are; when the
// document uses \u escapes (which could spell a key out of sight of a byte
// scan) its decoded strings are checked too, and a document that hides a
// key that way is re-encoded from its scrubbed values. Text that is not one
// whole JSON document (the kept head of a long answer, cut anywhere, or a
// body that is not JSON) is scrubbed escape by escape instead (escaped).
func (s *Scrubber) JSON(raw []byte) []byte {
	if s == nil {
		return raw
	}
	out := s.Bytes(raw)
	if !bytes.Contains(out, []byte(`\u`)) {
		return out
	}
	if !json.Valid(out) { // dec.More would not see "0}" as two values
		return s.escaped(out)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return s.escaped(out)
	}
	if v2, changed := s.value(v); changed {
		if b, err := marshalNoEscape(v2); err == nil {
			return s.escaped(b)
		}
	}
	// The decoded values can miss a string the text still spells: with a
	// duplicate name only the last member survives decoding, so the text
	// itself is scrubbed escape by escape as well.
	return s.escaped(out)
}

// escaped scrubs text that may hold JSON string escapes (\u0041, \n, \")
// without being a whole document: the escapes are decoded as they stand,
// a key spelled with them is looked for in the decoded text, and what it
// was spelled with is replaced in the raw text. An escape cut off at the
// end stays as it is: it spells at most one character.
func (s *Scrubber) escaped(raw []byte) []byte {
	dec, _ := unescapeJSON(raw, false)
	if !s.ContainsBytes(dec) {
		return raw
	}
	dec, at := unescapeJSON(raw, true)
	sp := spans(s, view(dec))
	rawSp := make([][2]int, 0, len(sp))
	for _, x := range sp {
		r := [2]int{int(at[x[0]][0]), int(at[x[1]-1][1])}
		if n := len(rawSp); n > 0 && r[0] <= rawSp[n-1][1] {
			rawSp[n-1][1] = max(rawSp[n-1][1], r[1])
			continue
		}
		rawSp = append(rawSp, r)
	}
	return replaceSpans(raw, rawSp)
}

// unescapeJSON decodes the JSON string escapes of raw wherever they are
// (outside strings JSON has no backslash). With where, at[i] is the raw
// byte range that decoded byte i came from.
func unescapeJSON(raw []byte, where bool) (dec []byte, at [][2]int32) {
	dec = make([]byte, 0, len(raw))
	if where {
		at = make([][2]int32, 0, len(raw))
	}
	// mark records that the bytes decoded since the last mark came from
	// raw[from:to].
	mark := func(from, to int) {
		for where && len(at) < len(dec) {
			at = append(at, [2]int32{int32(from), int32(to)})
		}
	}
	emit := func(from, to int, c byte) {
		dec = append(dec, c)
		mark(from, to)
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' || i+1 == len(raw) {
			emit(i, i+1, c)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			emit(i, i+2, e)
			i += 2
			continue
		case 'b', 'f', 'n', 'r', 't':
			emit(i, i+2, "\b\f\n\r\t"[strings.IndexByte("bfnrt", e)])
			i += 2
			continue
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				break
			}
			end := i + 6
			if utf16.IsSurrogate(r) && end+1 < len(raw) && raw[end] == '\\' && raw[end+1] == 'u' {
				if lo, ok := hex4(raw[end+2:]); ok {
					if p := utf16.DecodeRune(r, lo); p != utf8.RuneError {
						r, end = p, end+6
					}
				}
			}
			dec = utf8.AppendRune(dec, r)
			mark(i, end)
			i = end
			continue
		}
		emit(i, i+1, c)
		i++
	}
	return dec, at
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Value scrubs a Go value as returned in structuredContent: strings, JSON
// documents, maps (keys and values) and slices, recursively. Other values
// are checked through their JSON encoding and, if they carry a key,
// replaced by that encoding, scrubbed.
func (s *Scrubber) Value(v any) any {
	out, _ := s.value(v)
	return out
}

func (s *Scrubber) value(v any) (any, bool) {
	if s == nil {
		return v, false
	}
	switch x := v.(type) {
	case nil, bool, float64, int, int64, json.Number:
		return v, false
	case string:
		y := s.String(x)
		return y, y != x
	case json.RawMessage:
		y := s.JSON(x)
		return json.RawMessage(y), !bytes.Equal(x, y)
	case []byte:
		y := s.Bytes(x)
		return y, !bytes.Equal(x, y)
	case []string:
		changed := false
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = s.String(e)
			changed = changed || out[i] != e
		}
		if !changed {
			return v, false
		}
		return out, true
	case []any:
		changed := false
		out := make([]any, len(x))
		for i, e := range x {
			var c bool
			out[i], c = s.value(e)
			changed = changed || c
		}
		if !changed {
			return v, false
		}
		return out, true
	case map[string]string:
		changed := false
		out := make(map[string]string, len(x))
		for k, e := range x {
			k2, e2 := s.String(k), s.String(e)
			out[k2] = e2
			changed = changed || k2 != k || e2 != e
		}
		if !changed {
			return v, false
		}
		return out, true
	case map[string]any:
		changed := false
		out := make(map[string]any, len(x))
		for k, e := range x {
			k2 := s.String(k)
			e2, c := s.value(e)
			out[k2] = e2
			changed = changed || c || k2 != k
		}
		if !changed {
			return v, false
		}
		return out, true
	}
	b, err := marshalNoEscape(v)
	if err != nil {
		return fmt.Sprintf("[not returned: %T could not be checked for the API key]", v), true
	}
	if y := s.JSON(b); !bytes.Equal(b, y) {
		return json.RawMessage(y), true
	}
	return v, false
}

// base64 scrubs base64-encoded binary content (images, blobs) by its
// decoded bytes. A key inside binary data is redacted like anywhere else;
// the content is re-encoded only when something was removed.
func (s *Scrubber) base64(data string) string {
	if s == nil || data == "" {
		return data
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return s.String(data)
	}
	sp := spans(s, view(raw))
	if len(sp) == 0 {
		return data
	}
	return base64.StdEncoding.EncodeToString(replaceSpans(raw, sp))
}

// Result scrubs every channel of a tool result in place.
func (s *Scrubber) Result(res *mcp.CallToolResult) {
	if s == nil || res == nil {
		return
	}
	for i, c := range res.Content {
		res.Content[i] = s.content(c)
	}
	if res.StructuredContent != nil {
		res.StructuredContent = s.Value(res.StructuredContent)
	}
	if len(res.RawStructuredContent) > 0 {
		res.RawStructuredContent = s.JSON(res.RawStructuredContent)
	}
}

func (s *Scrubber) content(c mcp.Content) mcp.Content {
	switch x := c.(type) {
	case mcp.TextContent:
		x.Text = s.String(x.Text)
		return x
	case *mcp.TextContent:
		x.Text = s.String(x.Text)
	case mcp.ImageContent:
		x.Data = s.base64(x.Data)
		return x
	case *mcp.ImageContent:
		x.Data = s.base64(x.Data)
	case mcp.AudioContent:
		x.Data = s.base64(x.Data)
		return x
	case *mcp.AudioContent:
		x.Data = s.base64(x.Data)
	case mcp.ResourceLink:
		x.URI, x.Name, x.Title, x.Description = s.String(x.URI), s.String(x.Name), s.String(x.Title), s.String(x.Description)
		return x
	case mcp.EmbeddedResource:
		x.Resource = s.resource(x.Resource)
		return x
	case *mcp.EmbeddedResource:
		x.Resource = s.resource(x.Resource)
	}
	return c
}

func (s *Scrubber) resource(r mcp.ResourceContents) mcp.ResourceContents {
	switch x := r.(type) {
	case mcp.TextResourceContents:
		x.URI, x.Text = s.String(x.URI), s.String(x.Text)
		return x
	case *mcp.TextResourceContents:
		x.URI, x.Text = s.String(x.URI), s.String(x.Text)
	case mcp.BlobResourceContents:
		x.URI = s.String(x.URI)
		x.Blob = s.base64(x.Blob)
		return x
	case *mcp.BlobResourceContents:
		x.URI = s.String(x.URI)
		x.Blob = s.base64(x.Blob)
	}
	return r
}

type scrubberKey struct{}

// withScrubber stores the call's scrubber in ctx.
func withScrubber(ctx context.Context, s *Scrubber) context.Context {
	return context.WithValue(ctx, scrubberKey{}, s)
}

// callScrubber is the scrubber of a call with the key in ctx: the one ctx
// carries when it was built for exactly that key (a stdio session's, built
// once for its key), else a new one. A Scrubber is never changed once
// built, so concurrent calls share it safely.
func callScrubber(ctx context.Context) *Scrubber {
	k := APIKeyFrom(ctx)
	if s, ok := ctx.Value(scrubberKey{}).(*Scrubber); ok && s != nil && !k.Empty() && s.key == k.Reveal() {
		return s
	}
	return NewScrubber(k)
}

// scrubberFrom returns the call's scrubber, or one built from the key in ctx.
func scrubberFrom(ctx context.Context) *Scrubber {
	if s, ok := ctx.Value(scrubberKey{}).(*Scrubber); ok {
		return s
	}
	return NewScrubber(APIKeyFrom(ctx))
}

// ScrubLogHandler wraps a slog handler so that no record carries a key:
// its message and every attribute value are scrubbed with the key in the
// record's context (log with the *Context methods) and the given keys (the
// configured key in stdio mode). Attributes added with Logger.With are
// scrubbed with the given keys only.
func ScrubLogHandler(next slog.Handler, keys ...APIKey) slog.Handler {
	if h, ok := next.(*scrubHandler); ok {
		next, keys = h.next, append(slices.Clip(h.keys), keys...)
	}
	return &scrubHandler{next: next, keys: keys, static: NewScrubber(keys...)}
}

type scrubHandler struct {
	next   slog.Handler
	keys   []APIKey
	static *Scrubber // of keys, built once
}

func (h *scrubHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	call := scrubberFrom(ctx) // the call's own scrubber, when there is one
	if call == nil && h.static == nil {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, h.static.String(call.String(r.Message)), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.static.attr(call.attr(a)))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(as))
	for i, a := range as {
		scrubbed[i] = h.static.attr(a)
	}
	return &scrubHandler{next: h.next.WithAttrs(scrubbed), keys: h.keys, static: h.static}
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	return &scrubHandler{next: h.next.WithGroup(name), keys: h.keys, static: h.static}
}

// attr scrubs one log attribute's value (groups recursively).
func (s *Scrubber) attr(a slog.Attr) slog.Attr {
	if s == nil {
		return a
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, s.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, e := range g {
			out[i] = s.attr(e)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		var text string
		if err, ok := v.Any().(error); ok {
			text = err.Error()
		} else {
			text = fmt.Sprintf("%+v", v.Any())
		}
		if s.Contains(text) {
			return slog.String(a.Key, s.String(text))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// scrubAnswer scrubs what send kept of an upstream answer before any
// result builder cuts it: scrub first, then cut. The head kept of a long
// answer is itself a cut (send keeps its first TextBytes+1 bytes), so
// a key straddling it leaves only its start behind; scrubbed here, before
// cutTextOf cuts the head again, any MinSecretFragment of the secret that
// the head kept is redacted, and fewer characters of it are no key. JSON
// and text answers are scrubbed as JSON (escapes included, see escaped);
// images and files that are not JSON as bytes, since a binary holds "\u"
// by chance and its escapes mean nothing (fileResult scrubs the text of a
// JSON-wrapped file again once decoded). The paging members read from the
// rest of a long answer are scrubbed too. Log lines kept in a tail are
// scrubbed as they are listed (logTail.list).
func scrubAnswer(sc *Scrubber, t *Tool, rep *reply) {
	b := rep.body
	if sc == nil || b == nil {
		return
	}
	if t.Result == ResultImage || t.Result == ResultFile && !isJSONMedia(mediaType(rep.header)) {
		b.data = sc.Bytes(b.data)
		return
	}
	b.data = sc.JSON(b.data)
	for k, v := range b.top {
		b.top[k] = sc.JSON(v)
	}
}
