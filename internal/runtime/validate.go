package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// validator is the validate stage of a call (select.go): it checks the
// arguments against the tool's input schema, which declares every argument
// and every member of the objects they hold (the generator closes objects
// the spec declares, so nothing undeclared reaches the API), and turns
// violations into messages a model can fix. Each schema is compiled on
// first use, so start-up stays free of schema work.
type validator struct {
	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
	res     *resources // notes for a missing resource id (bind.go)
}

var printer = message.NewPrinter(language.English)

func (v *validator) schema(t *Tool) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.schemas[t.Name]; ok {
		return s, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(t.InputSchema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseRegexpEngine(compilePattern)
	url := "mem:///" + t.Name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, err
	}
	if v.schemas == nil {
		v.schemas = map[string]*jsonschema.Schema{}
	}
	v.schemas[t.Name] = s
	return s, nil
}

// idPattern is the pattern of every id in the spec (api/README.md,
// decision 29), so nearly every call checks an argument against it.
const idPattern = `^\w[\w.-]*$`

// compilePattern is the schemas' regexp engine: Go's regexp, except for
// idPattern, which a byte loop matches in a fraction of regexp's time
// (BenchmarkIDPattern; FuzzIDPattern holds it to regexp's answers).
func compilePattern(expr string) (jsonschema.Regexp, error) {
	if expr == idPattern {
		return idMatcher{}, nil
	}
	return regexp.Compile(expr)
}

// idMatcher matches idPattern: a word byte (ASCII letter, digit or _),
// then word bytes, dots and dashes.
type idMatcher struct{}

func (idMatcher) String() string { return idPattern }

func (idMatcher) MatchString(s string) bool {
	if s == "" || !isWordByte(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isWordByte(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// validate checks a call's arguments against the tool's input schema and
// returns them keyed by argument name. A nil or absent arguments value is
// an empty object. Every *ArgError it returns is worded for "Invalid
// arguments for TOOL: …" (errors.go).
//
// A call read from the wire (stdio, HTTP) is validated as mcp-go decoded
// it, and its arguments are taken from the bytes it kept (RawArguments):
// nothing is encoded or decoded again. Both views are of the same bytes:
// the strict check (strict.go) has refused duplicate names and numbers a
// float64 would alter. Numbers are sent as a float64 encodes them (3 for
// 3.0, 100 for 1e2: an API that reads an integer field may refuse the
// other spellings), so arguments holding a number with a fraction or an
// exponent are encoded from the decoded values instead. A call built
// in-process has no bytes; its arguments are encoded once and decoded for
// the schema.
func (v *validator) validate(t *Tool, p mcp.CallToolParams) (map[string]json.RawMessage, error) {
	raw, inst := bytes.TrimSpace(p.RawArguments), p.Arguments
	if len(raw) == 0 || !plainNumbers(raw) {
		b, err := json.Marshal(p.Arguments)
		if err != nil {
			return nil, &ArgError{Msg: "arguments could not be read: " + err.Error()}
		}
		raw, inst = bytes.TrimSpace(b), nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		raw, inst = []byte("{}"), map[string]any{}
	}
	if raw[0] != '{' {
		return nil, &ArgError{Msg: "arguments must be a JSON object"}
	}
	if _, ok := inst.(map[string]any); !ok {
		d, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, &ArgError{Msg: "arguments are not valid JSON: " + err.Error()}
		}
		inst = d
	}
	s, err := v.schema(t)
	if err != nil {
		return nil, fmt.Errorf("internal: input schema of %s: %w", t.Name, err)
	}
	if err := s.Validate(inst); err != nil {
		if ve, ok := err.(*jsonschema.ValidationError); ok {
			return nil, &ArgError{Msg: describeViolations(t, ve, v.res)}
		}
		return nil, &ArgError{Msg: err.Error()}
	}
	args, ok := objectMembers(raw)
	if !ok {
		return nil, &ArgError{Msg: "arguments must be a JSON object"}
	}
	return args, nil
}

// plainNumbers reports whether every number in the JSON text raw (valid
// syntax) is an integer without fraction or exponent, which a float64
// round trip spells as it is (the strict check keeps them below 2^53).
func plainNumbers(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
		case c == '-' || c >= '0' && c <= '9':
			for i++; i < len(raw); i++ {
				if d := raw[i]; d == '.' || d == 'e' || d == 'E' {
					return false
				} else if d != '-' && d != '+' && (d < '0' || d > '9') {
					break
				}
			}
		}
	}
	return true
}

func describeViolations(t *Tool, ve *jsonschema.ValidationError, res *resources) string {
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
				note := ""
				if loc == "" {
					note = res.missingIDNote(t, m)
				}
				msgs = append(msgs, "missing required argument "+joinLoc(loc, m)+note)
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
	return capList(msgs, "; ", MaxErrorTextBytes-200)
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

// objectMembers splits the text of one JSON object into its members, as
// json.Unmarshal into a map[string]json.RawMessage would (a repeated name:
// the last one; invalid UTF-8 is kept), in one jsontext pass whose values
// are slices of raw, not copies. ok is false when raw is anything but one
// valid JSON object, with white space around it at most.
//
// Why not json.Unmarshal: it was half of the validate stage's work and half
// of a JSON answer's shaping on every call (BENCHMARKS.md, "Summary"), for
// a map of a few members. FuzzObjectMembers holds the two to the same
// answer.
func objectMembers(raw []byte) (map[string]json.RawMessage, bool) {
	d := scanners.Get().(*scanner) // the strict check's pooled decoders (strict.go)
	defer d.release(len(raw))
	d.buf = *bytes.NewBuffer(raw)
	d.dec.Reset(&d.buf, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := d.dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	m := make(map[string]json.RawMessage, 8)
	for d.dec.PeekKind() == '"' {
		tok, err := d.dec.ReadToken()
		if err != nil {
			return nil, false
		}
		name := tok.String() // a token is valid only until the next read
		v, err := d.dec.ReadValue()
		if err != nil {
			return nil, false
		}
		end := int(d.dec.InputOffset())
		m[name] = json.RawMessage(raw[end-len(v) : end : end])
	}
	if tok, err := d.dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return nil, false
	}
	if _, err := d.dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	return m, true
}
