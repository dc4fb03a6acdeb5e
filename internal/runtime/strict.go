package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// mcp-go decodes JSON-RPC with encoding/json, which silently accepts what a
// stricter parser in front of this server (a gateway, an audit log) would
// read differently: it folds key case ("Name" sets name), lets the last of
// duplicate keys win, replaces invalid UTF-8 and unpaired surrogates with
// U+FFFD, and rounds integers beyond 2^53. A message that relies on any of
// that could make this server call a different tool, or send a different
// value upstream, than the one an inspector saw (GHSA-wvj2-96wp-fq3f and
// GO-2026-4770 in the Go SDK). CheckMessage refuses such messages before
// mcp-go sees them, on both transports.
//
// The JSON itself is read by jsontext (go-json-experiment/json), which
// refuses duplicate member names, invalid UTF-8 and unpaired surrogate
// escapes on its own in one streaming pass. What is ours is the layer on
// top: case-variant envelope names (encoding/json would merge them), the
// number rules of numbers.go, one message rather than a batch, a method,
// and the id's type. An accepted message costs that one pass; a refused one
// is read again to name the refusal exactly (refuse).

// envelopeNames are the member names mcp-go decodes into Go structs (where
// encoding/json matches keys case-insensitively): the message, its params
// and params._meta. A key that folds to one of them must be spelt exactly.
var envelopeNames = []string{
	"jsonrpc", "id", "method", "params", "result", "error",
	"name", "arguments", "_meta", "task", "cursor", "level", "uri", "ref", "argument", "context",
	"protocolVersion", "capabilities", "clientInfo", "requestId", "reason", "progressToken",
	"progress", "total", "message", "code", "data",
}

// envelopeByLower maps each envelope name, lower-cased, to its spelling: an
// ASCII name folds to an envelope name exactly when its lower case is a key.
var envelopeByLower = func() map[string]string {
	m := make(map[string]string, len(envelopeNames))
	for _, n := range envelopeNames {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// longestEnvelopeName bounds the ASCII names worth folding.
const longestEnvelopeName = len("protocolVersion")

// CheckMessage vets one raw JSON-RPC message (an HTTP body or a stdio line).
// It returns nil when the message may proceed; text that is not JSON at all
// is left to mcp-go, which answers with its own parse error.
func CheckMessage(msg []byte) *MessageError {
	_, me := checkMessage(msg)
	return me
}

// checkMessage is CheckMessage that also returns the message's top-level
// members when it is accepted as a JSON object, so a transport reads the
// method, id and params without decoding the message again. The members'
// values are slices of msg.
func checkMessage(msg []byte) (map[string]json.RawMessage, *MessageError) {
	msg = bytes.TrimSpace(msg)
	if !utf8.Valid(msg) {
		return nil, &MessageError{Code: codeParseError, Message: "Parse error: the message is not valid UTF-8 (JSON text must be UTF-8)"}
	}
	if len(msg) == 0 || msg[0] != '{' {
		if !syntaxValid(msg) {
			return nil, nil
		}
		if msg[0] == '[' {
			return nil, &MessageError{Code: codeInvalidRequest, Message: "Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 removed them); send one message per request"}
		}
		return nil, &MessageError{Code: codeInvalidRequest, Message: "Invalid Request: a JSON-RPC message must be a JSON object"}
	}
	sc := scanners.Get().(*scanner)
	defer sc.release(len(msg))
	top, err := sc.scan(msg)
	if err != nil {
		return nil, refuse(msg, err)
	}
	if me := vetEnvelope(top); me != nil {
		return nil, me
	}
	return top, nil
}

// vetEnvelope checks the top-level members of a message that passed the
// scan: it has a method (or is a response), and its id is usable.
func vetEnvelope(top map[string]json.RawMessage) *MessageError {
	id, hasID := top["id"]
	if !hasID || !validID(id) {
		id = nil
	}
	method, hasMethod := top["method"]
	_, hasResult := top["result"]
	_, hasError := top["error"]
	noMethod := !hasMethod || string(method) == "null" || string(method) == `""`
	if noMethod && !hasResult && !hasError {
		return &MessageError{Code: codeInvalidRequest, Message: "Invalid Request: the message has no method", ID: id}
	}
	if hasID && id == nil {
		return &MessageError{Code: codeInvalidRequest, Message: fmt.Sprintf("Invalid Request: the id must be a string or an integer (MCP); got %s", clip(string(top["id"]), clipBytes)), ID: id}
	}
	return nil
}

// refuse names why a message failed the scan (scanErr is the first thing
// the scan stopped at), reading it again with the library's checks relaxed
// one at a time, in the order the answers take precedence: text that is not
// JSON goes to mcp-go; an unpaired surrogate anywhere is a parse error; else
// the scan's own finding (a duplicate name, a case-variant envelope name, a
// number) is an invalid request.
func refuse(msg []byte, scanErr error) *MessageError {
	if !syntaxValid(msg) {
		return nil
	}
	top := lastMembers(msg)
	id, hasID := top["id"]
	if !hasID || !validID(id) {
		id = nil
	}
	if where := unpairedSurrogate(msg); where != "" {
		return &MessageError{Code: codeParseError, Message: fmt.Sprintf("Parse error: the message contains an unpaired UTF-16 surrogate escape (%s); strings must be valid Unicode", where), ID: id}
	}
	var f *finding
	if !errors.As(scanErr, &f) {
		// Valid JSON without unpaired surrogates fails the scan only with
		// a finding; keep the refusal rather than pass it on.
		f = &finding{text: scanErr.Error()}
	}
	if f.duplicateID {
		id = nil // which of the ids would be the request's?
	}
	return &MessageError{Code: codeInvalidRequest, Message: "Invalid Request: " + f.text, ID: id}
}

// syntaxValid: msg is one JSON value, with duplicate names, invalid UTF-8
// and unpaired surrogates allowed (encoding/json's json.Valid).
func syntaxValid(msg []byte) bool {
	return jsontext.Value(msg).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// unpairedSurrogate returns the first escape \uD800-\uDFFF of msg (valid
// JSON, valid UTF-8) that is not part of a valid pair, or "": with duplicate
// names allowed that is the only error jsontext can report.
func unpairedSurrogate(msg []byte) string {
	d := jsontext.NewDecoder(bytes.NewBuffer(msg), jsontext.AllowDuplicateNames(true))
	_, err := d.ReadValue()
	var se *jsontext.SyntacticError
	if errors.As(err, &se) && se.ByteOffset >= 0 && se.ByteOffset+6 <= int64(len(msg)) {
		return string(msg[se.ByteOffset : se.ByteOffset+6])
	}
	return ""
}

// lastMembers decodes the top-level members of msg (a valid JSON object)
// the way encoding/json does: the last of duplicate names wins.
func lastMembers(msg []byte) map[string]json.RawMessage {
	d := jsontext.NewDecoder(bytes.NewBuffer(msg), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	top := map[string]json.RawMessage{}
	if _, err := d.ReadToken(); err != nil {
		return top
	}
	for d.PeekKind() == '"' {
		tok, err := d.ReadToken()
		if err != nil {
			return top
		}
		name := tok.String() // before the next read voids tok
		v, err := d.ReadValue()
		if err != nil {
			return top
		}
		end := int(d.InputOffset())
		top[name] = json.RawMessage(msg[end-len(v) : end]) // v is voided by the next read; msg is not
	}
	return top
}

// finding is what the scan refuses in valid JSON.
type finding struct {
	text        string
	duplicateID bool // a duplicate "id" at the top level
}

func (f *finding) Error() string { return f.text }

// scanner walks one message with a jsontext.Decoder; scanners are pooled
// because a decoder keeps buffers for names between messages.
type scanner struct {
	buf    bytes.Buffer
	dec    *jsontext.Decoder
	frames []frame
}

var scanners = sync.Pool{New: func() any {
	sc := &scanner{frames: make([]frame, 0, 16)}
	sc.dec = jsontext.NewDecoder(&sc.buf)
	return sc
}}

// pooledScanBytes: a scanner that read a larger message is dropped rather
// than pooled, so the pool never keeps the buffers a large message grew
// (names, nesting) alive.
const pooledScanBytes = 1 << 20

// release drops every reference to the message (of n bytes) and returns
// sc to the pool.
func (sc *scanner) release(n int) {
	sc.buf = bytes.Buffer{}
	sc.dec.Reset(&sc.buf)
	sc.frames = sc.frames[:0]
	if n <= pooledScanBytes {
		scanners.Put(sc)
	}
}

// role is what an object is to the envelope check.
type role uint8

const (
	roleNone   role = iota
	roleTop         // the message
	roleParams      // the message's params
	roleMeta        // params._meta
)

// frame is one open object or array of the scan.
type frame struct {
	obj      bool
	role     role
	wantName bool // objects: the next string is a member name
	// name is the pending member's quoted name (offsets into the message);
	// index is the pending element of an array.
	nameStart, nameEnd int
	index              int
	// valueStart is where the pending member's value begins (the message
	// only: its top-level values are returned).
	valueStart int
}

// scan reads msg (its first byte is '{') in one pass and returns its
// top-level members, or the first thing it refuses: an error of jsontext
// (not JSON, a duplicate name, an unpaired surrogate) or a finding of ours.
func (sc *scanner) scan(msg []byte) (map[string]json.RawMessage, error) {
	sc.buf = *bytes.NewBuffer(msg)
	d := sc.dec
	d.Reset(&sc.buf)
	top := make(map[string]json.RawMessage, 4)
	for {
		kind := d.PeekKind()
		switch kind {
		case 0: // an error (or the end of the text, which comes later)
			_, err := d.ReadToken()
			return nil, err
		case '{', '[':
			if _, err := d.ReadToken(); err != nil {
				return nil, err
			}
			f := frame{obj: kind == '{', wantName: kind == '{'}
			if n := len(sc.frames); n == 0 {
				f.role = roleTop
			} else {
				p := &sc.frames[n-1]
				if p.role == roleTop {
					p.valueStart = int(d.InputOffset()) - 1
				}
				if f.obj {
					f.role = sc.childRole(msg, p)
				}
			}
			sc.frames = append(sc.frames, f)
		case '}', ']':
			if _, err := d.ReadToken(); err != nil {
				return nil, err
			}
			sc.frames = sc.frames[:len(sc.frames)-1]
			if len(sc.frames) == 0 {
				if _, err := d.ReadToken(); err != io.EOF {
					return nil, errTrailing
				}
				return top, nil
			}
			p := &sc.frames[len(sc.frames)-1]
			if p.role == roleTop {
				top[sc.name(msg, p)] = msg[p.valueStart:d.InputOffset()]
			}
			sc.endValue(p)
		default:
			v, err := d.ReadValue()
			if err != nil {
				if errors.Is(err, jsontext.ErrDuplicateName) {
					return nil, sc.duplicate(msg, err)
				}
				return nil, err
			}
			p := &sc.frames[len(sc.frames)-1]
			if p.obj && p.wantName {
				p.nameStart = int(d.InputOffset()) - len(v)
				p.nameEnd = int(d.InputOffset())
				p.wantName = false
				if p.role != roleNone {
					if err := sc.checkCase(msg, p); err != nil {
						return nil, err
					}
				}
				continue
			}
			if kind == '0' && !exactNumber(v) {
				if err := checkNumber(string(v)); err != nil {
					return nil, &finding{text: fmt.Sprintf("%s: %v", orMessage(sc.path(msg, len(sc.frames), true)), err)}
				}
			}
			if p.role == roleTop {
				end := int(d.InputOffset())
				top[sc.name(msg, p)] = json.RawMessage(msg[end-len(v) : end]) // v is voided by the next read; msg is not
			}
			sc.endValue(p)
		}
	}
}

// errTrailing: more text after the message's object (not one JSON value).
var errTrailing = errors.New("text after the JSON object")

// endValue marks the end of one value in the container f.
func (sc *scanner) endValue(f *frame) {
	if f.obj {
		f.wantName = true
	} else {
		f.index++
	}
}

// childRole is the role of an object that is the pending value of p.
func (sc *scanner) childRole(msg []byte, p *frame) role {
	if !p.obj {
		return roleNone
	}
	raw := msg[p.nameStart:p.nameEnd]
	switch p.role {
	case roleTop:
		// "params._meta" as one name reads as the same dotted path.
		if nameIs(raw, "params") {
			return roleParams
		}
		if nameIs(raw, "params._meta") {
			return roleMeta
		}
	case roleParams:
		if nameIs(raw, "_meta") {
			return roleMeta
		}
	}
	return roleNone
}

// checkCase refuses a pending member name of the envelope object f that
// differs from an envelope name only in case.
func (sc *scanner) checkCase(msg []byte, f *frame) error {
	raw := msg[f.nameStart:f.nameEnd]
	var name string
	if bytes.IndexByte(raw, '\\') < 0 {
		inner := raw[1 : len(raw)-1]
		if isASCII(inner) {
			if len(inner) > longestEnvelopeName {
				return nil
			}
			var low [longestEnvelopeName]byte
			for i, c := range inner {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				low[i] = c
			}
			want, ok := envelopeByLower[string(low[:len(inner)])]
			if !ok || want == string(inner) {
				return nil
			}
			return caseFinding(string(inner), want, sc.path(msg, len(sc.frames), false))
		}
		name = string(inner)
	} else {
		name = unquote(raw)
	}
	for _, want := range envelopeNames {
		if name != want && strings.EqualFold(name, want) {
			return caseFinding(name, want, sc.path(msg, len(sc.frames), false))
		}
	}
	return nil
}

func caseFinding(name, want, path string) error {
	return &finding{text: fmt.Sprintf("member names are case-sensitive: %q in %s must be spelt %q", name, orMessage(path), want)}
}

// duplicate turns jsontext's duplicate-name error into a finding naming
// the object.
func (sc *scanner) duplicate(msg []byte, err error) error {
	var se *jsontext.SyntacticError
	errors.As(err, &se)
	name := se.JSONPointer.LastToken()
	return &finding{
		text:        fmt.Sprintf("duplicate key %q in %s", name, orMessage(sc.path(msg, len(sc.frames), false))),
		duplicateID: len(sc.frames) == 1 && name == "id",
	}
}

// path renders where the scan is for an error message, as params.x[2].y:
// the path of the innermost open container, or with value set, of its
// pending value. Only refusals render paths.
func (sc *scanner) path(msg []byte, depth int, value bool) string {
	var b strings.Builder
	seg := func(f *frame) {
		if f.obj {
			key := unquote(msg[f.nameStart:f.nameEnd])
			if key == "" || key == "\x00" {
				key = `""`
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(key)
			return
		}
		b.WriteString("[" + strconv.Itoa(f.index) + "]")
	}
	for i := 0; i < depth-1; i++ {
		seg(&sc.frames[i])
	}
	if value && depth > 0 {
		seg(&sc.frames[depth-1])
	}
	return b.String()
}

// name is the top-level member name pending in f; the JSON-RPC names are
// not copied.
func (sc *scanner) name(msg []byte, f *frame) string {
	raw := msg[f.nameStart:f.nameEnd]
	if bytes.IndexByte(raw, '\\') >= 0 {
		return unquote(raw)
	}
	switch inner := raw[1 : len(raw)-1]; string(inner) {
	case "jsonrpc":
		return "jsonrpc"
	case "id":
		return "id"
	case "method":
		return "method"
	case "params":
		return "params"
	case "result":
		return "result"
	case "error":
		return "error"
	default:
		return string(inner)
	}
}

// nameIs reports whether the quoted name raw reads as want.
func nameIs(raw []byte, want string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1:len(raw)-1]) == want
	}
	return unquote(raw) == want
}

// unquote decodes a quoted JSON string the scan has validated.
func unquote(raw []byte) string {
	b, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// stringValue decodes raw when it is a JSON string (the strict check has
// validated it); false when it is another kind of value. It is what
// json.Unmarshal into a string gives for a checked message, without the
// decoder.
func stringValue(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	b, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func orMessage(p string) string {
	if p == "" {
		return "the message"
	}
	return p
}
