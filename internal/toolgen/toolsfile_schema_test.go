package toolgen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestToolsSchemaMatchesToolsFile keeps tools.schema.json (what editors
// check tools.yaml against) and the Go structs ParseToolsFile decodes into
// in step: every yaml field of the structs is a property of the schema and
// vice versa, and their types agree, all the way down from ToolsFile.
func TestToolsSchemaMatchesToolsFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "tools.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	c := &schemaChecker{root: root}
	c.check(reflect.TypeFor[ToolsFile](), root, "tools.yaml")
	for _, p := range c.problems {
		t.Error(p)
	}
	// The checker itself: a field the schema lacks and a type that
	// disagrees are both reported.
	type probe struct {
		Version string `yaml:"version"`
		Extra   bool   `yaml:"extra"`
	}
	pc := &schemaChecker{root: root}
	pc.check(reflect.TypeFor[probe](), root, "probe")
	got := strings.Join(pc.problems, "\n")
	for _, want := range []string{"probe.extra: field has no schema property", "probe.version: Go string, schema", "probe: schema property toolsets has no field"} {
		if !strings.Contains(got, want) {
			t.Errorf("checker missed %q in:\n%s", want, got)
		}
	}
}

type schemaChecker struct {
	root     map[string]any
	problems []string
}

func (c *schemaChecker) addf(format string, a ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, a...))
}

// resolve follows a local $ref ("#/$defs/name").
func (c *schemaChecker) resolve(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			return map[string]any{}
		}
		defs, _ := c.root["$defs"].(map[string]any)
		s, _ = defs[name].(map[string]any)
		if s == nil {
			return map[string]any{}
		}
	}
}

func (c *schemaChecker) check(typ reflect.Type, s map[string]any, where string) {
	s = c.resolve(s)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	kind := schemaKind(s)
	switch typ.Kind() {
	case reflect.Struct:
		if kind != "object" {
			c.addf("%s: Go struct %s, schema %s", where, typ.Name(), kind)
			return
		}
		if s["additionalProperties"] != false {
			c.addf("%s: schema must set additionalProperties: false (the decoder rejects unknown keys)", where)
		}
		props, _ := s["properties"].(map[string]any)
		fields := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			fields[name] = true
			ps, ok := props[name].(map[string]any)
			if !ok {
				c.addf("%s.%s: field has no schema property", where, name)
				continue
			}
			c.check(f.Type, ps, where+"."+name)
		}
		var names []string
		for name := range props {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if !fields[name] {
				c.addf("%s: schema property %s has no field in %s", where, name, typ.Name())
			}
		}
	case reflect.Map:
		ap, ok := s["additionalProperties"].(map[string]any)
		if kind != "object" || !ok {
			c.addf("%s: Go map, schema %s without an additionalProperties schema", where, kind)
			return
		}
		c.check(typ.Elem(), ap, where+".*")
	case reflect.Slice:
		items, ok := s["items"].(map[string]any)
		if kind != "array" || !ok {
			c.addf("%s: Go slice, schema %s without items", where, kind)
			return
		}
		c.check(typ.Elem(), items, where+"[]")
	case reflect.Interface:
		if kind != "any" {
			c.addf("%s: Go any, schema %s (an untyped key takes any YAML value)", where, kind)
		}
	default:
		want := map[reflect.Kind]string{reflect.String: "string", reflect.Int: "integer", reflect.Bool: "boolean"}[typ.Kind()]
		if want == "" || kind != want {
			c.addf("%s: Go %s, schema %s", where, typ.Kind(), kind)
		}
	}
}

// schemaKind is the JSON type a schema admits: its type, or the type of its
// const or enum values; "any" when it constrains none.
func schemaKind(s map[string]any) string {
	if t, ok := s["type"].(string); ok {
		return t
	}
	var vals []any
	if v, ok := s["const"]; ok {
		vals = []any{v}
	}
	if e, ok := s["enum"].([]any); ok {
		vals = e
	}
	kind := ""
	for _, v := range vals {
		k := "mixed"
		switch x := v.(type) {
		case string:
			k = "string"
		case bool:
			k = "boolean"
		case float64:
			k = "number"
			if x == float64(int64(x)) {
				k = "integer"
			}
		}
		if kind != "" && kind != k {
			return "mixed"
		}
		kind = k
	}
	if kind == "" {
		return "any"
	}
	return kind
}
