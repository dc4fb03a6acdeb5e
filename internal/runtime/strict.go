package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
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

// MessageError is the JSON-RPC error answering a refused message.
type MessageError struct {
	Code    int
	Message string
	ID      json.RawMessage // the request's id when it could be read, else null
}

func (e *MessageError) Error() string { return e.Message }

// Response renders the JSON-RPC error response (one line, no newline).
func (e *MessageError) Response() []byte {
	id := e.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": id,
		"error": map[string]any{"code": e.Code, "message": e.Message},
	})
	return b
}

const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
)

// envelopeNames are the member names mcp-go decodes into Go structs (where
// encoding/json matches keys case-insensitively): the message, its params
// and params._meta. A key that folds to one of them must be spelt exactly.
var envelopeNames = []string{
	"jsonrpc", "id", "method", "params", "result", "error",
	"name", "arguments", "_meta", "task", "cursor", "level", "uri", "ref", "argument", "context",
	"protocolVersion", "capabilities", "clientInfo", "requestId", "reason", "progressToken",
	"progress", "total", "message", "code", "data",
}

// maxExactInt is the largest integer every JSON parser represents exactly.
const maxExactInt = 1<<53 - 1

// CheckMessage vets one raw JSON-RPC message (an HTTP body or a stdio line).
// It returns nil when the message may proceed; text that is not JSON at all
// is left to mcp-go, which answers with its own parse error.
func CheckMessage(msg []byte) *MessageError {
	_, me := checkMessage(msg)
	return me
}

// checkMessage is CheckMessage that also returns the message's top-level
// members when it is a JSON object, so a transport reads the method, id and
// params without decoding the message again.
func checkMessage(msg []byte) (map[string]json.RawMessage, *MessageError) {
	msg = bytes.TrimSpace(msg)
	if !utf8.Valid(msg) {
		return nil, &MessageError{Code: codeParseError, Message: "Parse error: the message is not valid UTF-8 (JSON text must be UTF-8)"}
	}
	if !json.Valid(msg) {
		return nil, nil
	}
	switch msg[0] {
	case '{':
	case '[':
		return nil, &MessageError{Code: codeInvalidRequest, Message: "Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 removed them); send one message per request"}
	default:
		return nil, &MessageError{Code: codeInvalidRequest, Message: "Invalid Request: a JSON-RPC message must be a JSON object"}
	}
	var top map[string]json.RawMessage
	json.Unmarshal(msg, &top)
	me := vetObject(msg, top)
	return top, me
}

// vetObject checks a JSON object message whose top level is decoded.
func vetObject(msg []byte, top map[string]json.RawMessage) *MessageError {
	id, hasID := top["id"]
	if !hasID || !validID(id) {
		id = nil
	}
	fail := func(code int, format string, a ...any) *MessageError {
		return &MessageError{Code: code, Message: fmt.Sprintf(format, a...), ID: id}
	}
	if where := unpairedSurrogate(msg); where != "" {
		return fail(codeParseError, "Parse error: the message contains an unpaired UTF-16 surrogate escape (%s); strings must be valid Unicode", where)
	}
	if err := walkJSON(msg); err != nil {
		var dup *duplicateKey
		if errors.As(err, &dup) && dup.path == "" && dup.key == "id" {
			id = nil // which of the ids would be the request's?
		}
		return fail(codeInvalidRequest, "Invalid Request: %s", err.Error())
	}
	method, hasMethod := top["method"]
	_, hasResult := top["result"]
	_, hasError := top["error"]
	var name string
	noMethod := !hasMethod || string(method) == "null" || (json.Unmarshal(method, &name) == nil && name == "")
	if noMethod && !hasResult && !hasError {
		return fail(codeInvalidRequest, "Invalid Request: the message has no method")
	}
	if hasID && id == nil {
		return fail(codeInvalidRequest, "Invalid Request: the id must be a string or an integer (MCP); got %s", clip(string(top["id"]), clipBytes))
	}
	return nil
}

// validID: MCP request ids are strings or integers; integers must survive
// a float64 round trip, which mcp-go applies when it echoes them.
func validID(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '"' {
		return true
	}
	if bytes.ContainsAny(raw, ".eE") || raw[0] == '{' || raw[0] == '[' || raw[0] == 't' || raw[0] == 'f' || raw[0] == 'n' {
		return false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return err == nil && n >= -maxExactInt && n <= maxExactInt
}

// clipBytes is how much of an offending JSON-RPC value (an id, a number)
// an error message quotes.
const clipBytes = 40

// clip shortens a quoted value to n bytes for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// unpairedSurrogate finds a \uD800-\uDFFF escape that is not part of a
// valid pair. msg must be valid JSON.
func unpairedSurrogate(msg []byte) string {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(msg) || msg[i] != '\\' || msg[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(msg[i+2:i+6]), 16, 32)
		return rune(v), err == nil
	}
	in := false
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		switch {
		case !in:
			in = c == '"'
		case c == '"':
			in = false
		case c == '\\':
			r, ok := hex4(i)
			if !ok {
				i++ // a two-character escape
				continue
			}
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				lo, ok := hex4(i + 6)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return string(msg[i : i+6])
				}
				i += 11
			case r >= 0xDC00 && r <= 0xDFFF:
				return string(msg[i : i+6])
			default:
				i += 5
			}
		}
	}
	return ""
}

// walkJSON checks every object for duplicate keys, the envelope objects for
// case-variant member names, and every number for a value a float64 parser
// would change. msg must be valid JSON.
func walkJSON(msg []byte) error {
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	type frame struct {
		obj      bool
		keys     map[string]bool
		path     string
		key      string // the pending key (objects)
		index    int    // arrays
		envelope bool
	}
	var stack []*frame
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.obj {
			return joinPath(f.path, f.key)
		}
		return fmt.Sprintf("%s[%d]", f.path, f.index)
	}
	// value marks the end of one value in the enclosing container.
	value := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.obj {
			f.key = ""
		} else {
			f.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var parent *frame
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		// A string in key position is a key.
		if s, ok := tok.(string); ok && parent != nil && parent.obj && parent.key == "" {
			if parent.keys[s] {
				return &duplicateKey{key: s, path: parent.path}
			}
			if parent.envelope {
				for _, name := range envelopeNames {
					if s != name && strings.EqualFold(s, name) {
						return fmt.Errorf("member names are case-sensitive: %q in %s must be spelt %q", s, orMessage(parent.path), name)
					}
				}
			}
			parent.keys[s] = true
			parent.key = s
			if s == "" {
				parent.key = "\x00" // an empty key is still a key
			}
			continue
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				p := child()
				envelope := t == '{' && (p == "" || p == "params" || p == "params._meta")
				stack = append(stack, &frame{obj: t == '{', keys: map[string]bool{}, path: p, envelope: envelope})
			default:
				stack = stack[:len(stack)-1]
				value()
			}
		case json.Number:
			if err := checkNumber(string(t)); err != nil {
				return fmt.Errorf("%s: %v", orMessage(child()), err)
			}
			value()
		default:
			value()
		}
	}
}

type duplicateKey struct{ key, path string }

func (d *duplicateKey) Error() string {
	return fmt.Sprintf("duplicate key %q in %s", d.key, orMessage(d.path))
}

func joinPath(base, key string) string {
	if key == "\x00" {
		key = `""`
	}
	if base == "" {
		return key
	}
	return base + "." + key
}

func orMessage(p string) string {
	if p == "" {
		return "the message"
	}
	return p
}

// checkNumber refuses numbers a float64 decoder would alter: overflow to
// ±Inf, and integers beyond ±2^53 that it would round.
func checkNumber(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return fmt.Errorf("the number %s is out of range", clip(s, clipBytes))
	}
	if !strings.ContainsAny(s, ".eE") && math.Abs(f) > maxExactInt {
		return fmt.Errorf("the integer %s is too large to be represented exactly (the limit is ±%d)", clip(s, clipBytes), int64(maxExactInt))
	}
	return nil
}
