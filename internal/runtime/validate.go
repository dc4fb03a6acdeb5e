package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// validator compiles each tool's input schema on first use (start-up stays
// free of schema work) and turns violations into messages a model can fix.
type validator struct {
	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
	docs    map[string]any // each input schema decoded once, for foldedIn
}

var printer = message.NewPrinter(language.English)

func (v *validator) schema(t *Tool) (*jsonschema.Schema, any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.schemas[t.Name]; ok {
		return s, v.docs[t.Name], nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(t.InputSchema))
	if err != nil {
		return nil, nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "mem:///" + t.Name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, nil, err
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, nil, err
	}
	var plain any
	if err := json.Unmarshal(t.InputSchema, &plain); err != nil {
		return nil, nil, err
	}
	if v.schemas == nil {
		v.schemas = map[string]*jsonschema.Schema{}
		v.docs = map[string]any{}
	}
	v.schemas[t.Name] = s
	v.docs[t.Name] = plain
	return s, plain, nil
}

// validate checks raw tool arguments against the tool's input schema and
// returns them keyed by argument name. A nil or absent arguments value is an
// empty object.
func (v *validator) validate(t *Tool, raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	if raw[0] != '{' {
		return nil, &ArgError{Msg: "arguments must be a JSON object"}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, &ArgError{Msg: "arguments are not valid JSON: " + err.Error()}
	}
	s, doc, err := v.schema(t)
	if err != nil {
		return nil, fmt.Errorf("internal: input schema of %s: %w", t.Name, err)
	}
	if err := s.Validate(inst); err != nil {
		if ve, ok := err.(*jsonschema.ValidationError); ok {
			return nil, &ArgError{Msg: describeViolations(t, ve)}
		}
		return nil, &ArgError{Msg: err.Error()}
	}
	if msg := foldedIn(doc, inst, ""); msg != "" {
		return nil, &ArgError{Msg: "Invalid arguments for " + t.Name + ": " + msg + "."}
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, &ArgError{Msg: "arguments must be a JSON object"}
	}
	return args, nil
}

func describeViolations(t *Tool, ve *jsonschema.ValidationError) string {
	var leaves []*jsonschema.ValidationError
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	var msgs []string
	for _, e := range leaves {
		loc := strings.Join(e.InstanceLocation, ".")
		switch k := e.ErrorKind.(type) {
		case *kind.Required:
			for _, m := range k.Missing {
				msgs = append(msgs, "missing required argument "+joinLoc(loc, m))
			}
		case *kind.AdditionalProperties:
			if loc == "" {
				msgs = append(msgs, fmt.Sprintf("unknown argument(s) %s; %s accepts: %s", strings.Join(k.Properties, ", "), t.Name, strings.Join(argNames(t), ", ")))
			} else {
				msgs = append(msgs, fmt.Sprintf("argument %s: unknown field(s) %s", loc, strings.Join(k.Properties, ", ")))
			}
		case *kind.Pattern:
			if isPathArg(t, loc) {
				msgs = append(msgs, fmt.Sprintf("argument %s: %q is not a valid id. Ids are opaque tokens such as cmp_0a1b2c (letters, digits, _ . -; never /, \\, %% or only dots): use an id a create or list tool returned", loc, clip(k.Got, 80)))
				break
			}
			msgs = append(msgs, fmt.Sprintf("argument %s: %s", orRoot(loc), e.ErrorKind.LocalizedString(printer)))
		default:
			msgs = append(msgs, fmt.Sprintf("argument %s: %s", orRoot(loc), e.ErrorKind.LocalizedString(printer)))
		}
	}
	sort.Strings(msgs)
	// A hostile argument set can produce thousands of violations: the list
	// is capped with a count of what was left out (MaxErrorTextBytes).
	return "Invalid arguments for " + t.Name + ": " + capList(msgs, "; ", MaxErrorTextBytes-200) + "."
}

// isPathArg reports whether the visible argument name is bound to a path
// parameter of t.
func isPathArg(t *Tool, name string) bool {
	for _, a := range t.Args {
		if a.Name == name && a.In == InPath && !a.Hidden {
			return true
		}
	}
	return false
}

func joinLoc(loc, name string) string {
	if loc == "" {
		return name
	}
	return loc + "." + name
}

func orRoot(loc string) string {
	if loc == "" {
		return "(root)"
	}
	return loc
}

// argNames lists the tool's visible argument names, sorted.
func argNames(t *Tool) []string {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	json.Unmarshal(t.InputSchema, &s)
	out := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// foldedIn finds an object key the schema did not declare but that equals
// a declared property when case is folded. Schemas of nested objects may
// allow extra keys, and the generated request structs are filled by
// encoding/json, which matches keys case-insensitively (the last one wins):
// {"effect":"allow","EFFECT":"x"} would send effect "x", unvalidated. The
// schema is the tool's input schema, decoded once by validator.schema.
func foldedIn(schema, inst any, loc string) string {
	s, _ := schema.(map[string]any)
	switch v := inst.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub, declared := props[k]
			if !declared {
				for p := range props {
					if strings.EqualFold(k, p) {
						return fmt.Sprintf("argument %s: unknown field %s (did you mean %s? names are case-sensitive)", orRoot(loc), k, p)
					}
				}
				sub = s["additionalProperties"]
			}
			if m := foldedIn(sub, v[k], joinLoc(loc, k)); m != "" {
				return m
			}
		}
	case []any:
		for i, e := range v {
			if m := foldedIn(s["items"], e, joinLoc(loc, fmt.Sprint(i))); m != "" {
				return m
			}
		}
	}
	return ""
}
