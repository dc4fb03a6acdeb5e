package runtime

// The strict check as it was before it moved to jsontext (commit 998d551),
// kept only as the oracle of FuzzStrictDifferential and the old side of
// BenchmarkStrictCheck while both exist.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// legacyCheckMessage is CheckMessage that also returns the message's top-level
// members when it is a JSON object, so a transport reads the method, id and
// params without decoding the message again.
func legacyCheckMessage(msg []byte) (map[string]json.RawMessage, *MessageError) {
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
	me := legacyVetObject(msg, top)
	return top, me
}

// legacyVetObject checks a JSON object message whose top level is decoded.
func legacyVetObject(msg []byte, top map[string]json.RawMessage) *MessageError {
	id, hasID := top["id"]
	if !hasID || !validID(id) {
		id = nil
	}
	fail := func(code int, format string, a ...any) *MessageError {
		return &MessageError{Code: code, Message: fmt.Sprintf(format, a...), ID: id}
	}
	if where := legacyUnpairedSurrogate(msg); where != "" {
		return fail(codeParseError, "Parse error: the message contains an unpaired UTF-16 surrogate escape (%s); strings must be valid Unicode", where)
	}
	if err := legacyWalkJSON(msg); err != nil {
		var dup *legacyDuplicateKey
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
		return fail(codeInvalidRequest, "Invalid Request: the id must be a string or an integer (MCP); got %s", clip(string(top["id"])))
	}
	return nil
}

// legacyUnpairedSurrogate finds a \uD800-\uDFFF escape that is not part of a
// valid pair. msg must be valid JSON.
func legacyUnpairedSurrogate(msg []byte) string {
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

// legacyWalkJSON checks every object for duplicate keys, the envelope objects for
// case-variant member names, and every number for a value a float64 parser
// would change. msg must be valid JSON.
func legacyWalkJSON(msg []byte) error {
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
			return legacyJoinPath(f.path, f.key)
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
				return &legacyDuplicateKey{key: s, path: parent.path}
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

type legacyDuplicateKey struct{ key, path string }

func (d *legacyDuplicateKey) Error() string {
	return fmt.Sprintf("duplicate key %q in %s", d.key, orMessage(d.path))
}

func legacyJoinPath(base, key string) string {
	if key == "\x00" {
		key = `""`
	}
	if base == "" {
		return key
	}
	return base + "." + key
}
