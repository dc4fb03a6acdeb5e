package runtime

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// shapeCache holds each tool's top-level output property types, parsed once.
var shapeCache sync.Map // tool name -> map[string]string

// outputShape returns the declared JSON type of each top-level property of
// the tool's output schema (the generator emits them one level deep).
func outputShape(t *Tool) map[string]string {
	if v, ok := shapeCache.Load(t.Name); ok {
		return v.(map[string]string)
	}
	var s struct {
		Properties map[string]struct {
			Type string `json:"type"`
		} `json:"properties"`
	}
	json.Unmarshal(t.OutputSchema, &s)
	shape := map[string]string{}
	for k, p := range s.Properties {
		shape[k] = p.Type
	}
	shapeCache.Store(t.Name, shape)
	return shape
}

// conforms reports whether a JSON object body (decoded one level) matches the tool's declared
// top-level property types. The real API can drift from the spec (a list
// where an object was documented, a null); clients validate
// structuredContent against outputSchema, so a body that does not conform
// is returned as {"result": body} instead, which always does (the schemas
// require nothing and allow additional properties).
func conforms(t *Tool, top map[string]json.RawMessage) bool {
	shape := outputShape(t)
	if len(shape) == 0 {
		return true
	}
	for k, typ := range shape {
		raw, ok := top[k]
		if !ok || typ == "" {
			continue
		}
		if !jsonTypeIs(bytes.TrimSpace(raw), typ) {
			return false
		}
	}
	return true
}

func jsonTypeIs(raw []byte, typ string) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; typ {
	case "object":
		return c == '{'
	case "array":
		return c == '['
	case "string":
		return c == '"'
	case "boolean":
		return c == 't' || c == 'f'
	case "null":
		return c == 'n'
	case "number":
		return c == '-' || (c >= '0' && c <= '9')
	case "integer":
		return (c == '-' || (c >= '0' && c <= '9')) && !strings.ContainsAny(string(raw), ".eE")
	}
	return true
}
