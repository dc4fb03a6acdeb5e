package toolgen

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// jsonSchema converts an OpenAPI 3.0 schema into a JSON Schema 2020-12
// fragment that every major model API accepts: $refs inlined, one type per
// schema (nullable is dropped, never a type array), no combinators, arrays
// always carry items and objects always carry properties. kin-openapi has no
// public converter, hence this walker.
type converter struct {
	input bool     // input schemas drop readOnly properties, output schemas writeOnly
	stack []string // $ref cycle guard
}

func (c *converter) convert(ref *openapi3.SchemaRef, where string) (map[string]any, error) {
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("%s: missing schema", where)
	}
	if ref.Ref != "" {
		for _, r := range c.stack {
			if r == ref.Ref {
				return nil, fmt.Errorf("%s: recursive schema %s cannot be inlined", where, ref.Ref)
			}
		}
		c.stack = append(c.stack, ref.Ref)
		defer func() { c.stack = c.stack[:len(c.stack)-1] }()
	}
	s := ref.Value
	if len(s.OneOf)+len(s.AnyOf)+len(s.AllOf) > 0 || s.Not != nil {
		if c.input {
			return nil, fmt.Errorf("%s: oneOf/anyOf/allOf/not are not allowed in tool inputs (models reject them)", where)
		}
		// Outputs: describe only what is certain.
		return map[string]any{}, nil
	}
	out := map[string]any{}
	types := s.Type.Slice()
	typ := ""
	switch {
	case len(types) == 1:
		typ = types[0]
	case len(types) == 0 && len(s.Properties) > 0:
		typ = "object"
	case len(types) == 0:
		if c.input {
			return nil, fmt.Errorf("%s: schema has no type (Gemini skips untyped arguments)", where)
		}
	default:
		return nil, fmt.Errorf("%s: multiple types %v", where, types)
	}
	if typ != "" {
		out["type"] = typ
	}
	if s.Description != "" {
		out["description"] = s.Description
	}
	if len(s.Enum) > 0 {
		out["enum"] = s.Enum
	}
	if s.Default != nil {
		out["default"] = s.Default
	}
	if s.Format != "" && s.Format != "binary" && s.Format != "byte" {
		out["format"] = s.Format
	}
	if s.Pattern != "" {
		out["pattern"] = s.Pattern
	}
	if s.Min != nil {
		if b := s.ExclusiveMin.Bool; b != nil && *b {
			out["exclusiveMinimum"] = *s.Min
		} else {
			out["minimum"] = *s.Min
		}
	}
	if s.Max != nil {
		if b := s.ExclusiveMax.Bool; b != nil && *b {
			out["exclusiveMaximum"] = *s.Max
		} else {
			out["maximum"] = *s.Max
		}
	}
	if s.MinLength > 0 {
		out["minLength"] = s.MinLength
	}
	if s.MaxLength != nil {
		out["maxLength"] = *s.MaxLength
	}
	if s.MinItems > 0 {
		out["minItems"] = s.MinItems
	}
	if s.MaxItems != nil {
		out["maxItems"] = *s.MaxItems
	}
	switch typ {
	case "array":
		if s.Items == nil {
			if c.input {
				return nil, fmt.Errorf("%s: array without items", where)
			}
			out["items"] = map[string]any{}
			break
		}
		items, err := c.convert(s.Items, where+"[]")
		if err != nil {
			return nil, err
		}
		out["items"] = items
	case "object":
		props := map[string]any{}
		var required []string
		for name, p := range s.Properties {
			if p.Value != nil && ((c.input && p.Value.ReadOnly) || (!c.input && p.Value.WriteOnly)) {
				continue
			}
			v, err := c.convert(p, where+"."+name)
			if err != nil {
				return nil, err
			}
			props[name] = v
		}
		for _, r := range s.Required {
			if _, ok := props[r]; ok {
				required = append(required, r)
			}
		}
		out["properties"] = props
		if len(required) > 0 {
			out["required"] = sortedCopy(required)
		}
		ap := s.AdditionalProperties
		switch {
		case ap.Has != nil && !*ap.Has:
			out["additionalProperties"] = false
		case ap.Schema != nil:
			v, err := c.convert(ap.Schema, where+"{}")
			if err != nil {
				return nil, err
			}
			out["additionalProperties"] = v
		case c.input && len(props) > 0 && ap.Has == nil:
			// An input object whose members the spec declares is closed.
			// The runtime sends the arguments as validated, encoded once,
			// so a member the schema does not declare would reach the API
			// unchecked; a case variant (EFFECT beside effect) would even
			// be read as the declared one by a case-insensitive decoder.
			// A free-form object (no properties, or additionalProperties:
			// true) stays open.
			out["additionalProperties"] = false
		}
	}
	return out, nil
}

// shallow keeps an output schema to its top-level shape: property names and
// types, one level deep. Output schemas are advisory for a pass-through proxy
// and every byte of them is paid for in tools/list.
func shallow(s map[string]any, depth int) map[string]any {
	out := map[string]any{}
	if t, ok := s["type"]; ok {
		out["type"] = t
	}
	if depth == 0 {
		if props, ok := s["properties"].(map[string]any); ok {
			sp := map[string]any{}
			for k, v := range props {
				sp[k] = shallow(v.(map[string]any), depth+1)
			}
			out["properties"] = sp
		}
		return out
	}
	if out["type"] == "array" {
		if items, ok := s["items"].(map[string]any); ok {
			if t, ok := items["type"]; ok {
				out["items"] = map[string]any{"type": t}
			} else {
				out["items"] = map[string]any{}
			}
		} else {
			out["items"] = map[string]any{}
		}
	}
	return out
}
