package toolgen

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestInputObjectsAreClosed: an input object whose members the spec
// declares gets additionalProperties: false, because the runtime sends the
// arguments as validated and a member the schema does not declare would
// reach the API unchecked (EFFECT beside effect). Free-form objects, objects
// that allow extra members, and output schemas are left as the spec has them.
func TestInputObjectsAreClosed(t *testing.T) {
	yes, str := true, &openapi3.SchemaRef{Value: openapi3.NewStringSchema()}
	declared := func() *openapi3.Schema { return openapi3.NewObjectSchema().WithPropertyRef("effect", str) }
	tests := []struct {
		name   string
		schema *openapi3.Schema
		input  bool
		want   any // additionalProperties, nil when absent
	}{
		{"declared members", declared(), true, false},
		{"declared members in an array", openapi3.NewArraySchema().WithItems(declared()), true, false},
		{"free-form object", openapi3.NewObjectSchema(), true, nil},
		{"extra members allowed", func() *openapi3.Schema { s := declared(); s.AdditionalProperties.Has = &yes; return s }(), true, nil},
		{"a map", openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewStringSchema()), true, map[string]any{"type": "string"}},
		{"output schema", declared(), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := (&converter{input: tt.input}).convert(&openapi3.SchemaRef{Value: tt.schema}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if items, ok := out["items"].(map[string]any); ok {
				out = items
			}
			got, has := out["additionalProperties"]
			switch want := tt.want.(type) {
			case nil:
				if has {
					t.Errorf("additionalProperties = %v, want it absent", got)
				}
			case bool:
				if got != want {
					t.Errorf("additionalProperties = %v, want %v", got, want)
				}
			case map[string]any:
				if m, ok := got.(map[string]any); !ok || m["type"] != want["type"] {
					t.Errorf("additionalProperties = %v, want %v", got, want)
				}
			}
		})
	}
}
