package runtime

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The bind stage of a call (server.go): the validated arguments are bound
// to the tool's argument declarations (tools.yaml `args:`), and the
// generated closure reads from the Call what goes where: path values
// (checked so that they cannot change the request's path), query and
// header parameters, and one JSON body encoded once from the arguments'
// API names and values.

// Call is one tool invocation: the validated arguments and the tool's
// argument bindings. Generated closures read their path values, parameters
// and body from it; any error it returns is an *ArgError, reported to the
// model without contacting the API.
type Call struct {
	Tool     *Tool
	args     map[string]json.RawMessage
	defaults map[string]string // server settings for EnvDefault
	idemKey  string
	local    *localCall   // a local-file transfer in progress (local.go)
	res      *resourceUse // the call's resource context (resources.go)
}

// ArgError is a problem with the caller's arguments. Nothing was sent.
type ArgError struct{ Msg string }

func (e *ArgError) Error() string { return e.Msg }

func argErrorf(format string, a ...any) error { return &ArgError{Msg: fmt.Sprintf(format, a...)} }

// NewCall binds a call: args must already be schema-validated. A tool that
// sends an Idempotency-Key gets a fresh one, which every retry of the
// call's request repeats (upstream.go).
func NewCall(t *Tool, args map[string]json.RawMessage, defaults map[string]string) *Call {
	c := &Call{Tool: t, args: args, defaults: defaults}
	if t.SendsIdempotencyKey {
		c.idemKey = newIdempotencyKey()
	}
	return c
}

// NewIdempotencyKey is a fresh Idempotency-Key, for a composite handler's
// own create requests (each retry of one request repeats its key).
func NewIdempotencyKey() string { return newIdempotencyKey() }

func newIdempotencyKey() string {
	var b [16]byte
	rand.Read(b[:])
	return "mcp-" + hex.EncodeToString(b[:])
}

// Arg decodes the named tool argument (by tool-facing name) into v. It
// returns false when the argument is absent.
func (c *Call) Arg(name string, v any) (bool, error) {
	raw, ok := c.args[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, argErrorf("argument %s: %v", name, err)
	}
	return true, nil
}

// value resolves what is sent for a bound argument: fixed, then the caller's
// value, then the default, then the server setting. ok is false when nothing
// is sent.
func (c *Call) value(a *Arg) (json.RawMessage, bool, error) {
	if c.local != nil { // a local upload names the remote path of each file (local_body.go)
		if v, ok := c.local.value(a); ok {
			return v, true, nil
		}
	}
	if a.Fixed != nil {
		return a.Fixed, true, nil
	}
	if !a.Hidden {
		if raw, ok := c.args[a.Name]; ok {
			if a.Transform == "base64" {
				var s string
				if err := json.Unmarshal(raw, &s); err != nil {
					return nil, false, argErrorf("argument %s must be a string", a.Name)
				}
				enc, _ := json.Marshal(base64.StdEncoding.EncodeToString([]byte(s)))
				return enc, true, nil
			}
			return raw, true, nil
		}
	}
	if a.Default != nil {
		return a.Default, true, nil
	}
	if a.EnvDefault != "" {
		if v := c.defaults[a.EnvDefault]; v != "" {
			b, _ := json.Marshal(v)
			return b, true, nil
		}
	}
	return nil, false, nil
}

// collect gathers the API-named values for the given locations.
func (c *Call) collect(locs ...Location) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for i := range c.Tool.Args {
		a := &c.Tool.Args[i]
		match := false
		for _, l := range locs {
			match = match || a.In == l
		}
		if !match {
			continue
		}
		if a.In == InHeader && a.API == "Idempotency-Key" {
			if c.idemKey != "" {
				out[a.API], _ = json.Marshal(c.idemKey)
			}
			continue
		}
		v, ok, err := c.value(a)
		if err != nil {
			return nil, err
		}
		if ok {
			out[a.API] = v
		}
	}
	return out, nil
}

// pathValue decodes the value sent for a path parameter (by API name) into v.
func (c *Call) pathValue(api string, v any, kind string) (*Arg, error) {
	for i := range c.Tool.Args {
		a := &c.Tool.Args[i]
		if a.In != InPath || a.API != api {
			continue
		}
		raw, ok, err := c.value(a)
		if err != nil {
			return a, err
		}
		if !ok {
			return a, argErrorf("missing required argument %s", a.Name)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return a, argErrorf("argument %s must be %s", a.Name, kind)
		}
		return a, nil
	}
	return nil, argErrorf("internal: tool %s has no path parameter %s", c.Tool.Name, api)
}

// Path returns the validated value of an id path parameter (by API name).
// Ids are opaque tokens: the spec declares their pattern and the input
// schema refuses anything else before a call starts; CheckPathValue is the
// same rule's floor, kept here as defence in depth. The generated client
// percent-escapes the value and the final path is checked again before it
// is sent (Editor).
func (c *Call) Path(api string) (string, error) {
	return c.checkedPath(api, CheckPathValue)
}

// PathLike returns the validated value of a path-like path parameter (an
// object key or a file path, declared x-path-like in the spec): it may
// contain slashes, but no "." or ".." segment and no backslash, as it is
// or once percent-decoded (CheckPathLikeValue).
func (c *Call) PathLike(api string) (string, error) {
	return c.checkedPath(api, CheckPathLikeValue)
}

func (c *Call) checkedPath(api string, check func(string) error) (string, error) {
	var s string
	a, err := c.pathValue(api, &s, "a string")
	if err != nil {
		return "", err
	}
	if err := check(s); err != nil {
		return "", argErrorf("argument %s: %v", a.Name, err)
	}
	return s, nil
}

// PathInt returns an integer path parameter (by API name).
func (c *Call) PathInt(api string) (int, error) {
	var n int
	_, err := c.pathValue(api, &n, "an integer")
	return n, err
}

// MaxPathValueBytes caps one path parameter value: identifiers, object keys
// and file paths all fit, and a longer value could only make the request
// line too long for the API to accept.
const MaxPathValueBytes = 4096

// checkPathText is what every path value obeys: not empty or blank, not
// too long, valid UTF-8 without control characters.
func checkPathText(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("must not be empty")
	case len(s) > MaxPathValueBytes:
		return fmt.Errorf("is too long (%d bytes; the limit is %d)", len(s), MaxPathValueBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("must be valid UTF-8")
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("must not be blank")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("must not contain control characters")
		}
	}
	return nil
}

// CheckPathValue is the runtime floor for an id path parameter. Percent-
// escaping alone does not keep an id in its segment: a reverse proxy in
// front of the API that decodes the path once (nginx proxy_pass with a
// URI part) turns ..%2Fadmin back into ../admin and resolves it. So an id
// must not contain "/", "\" or "%", must not be only dots, and must obey
// checkPathText.
func CheckPathValue(s string) error {
	if err := checkPathText(s); err != nil {
		return err
	}
	if strings.Trim(s, ".") == "" {
		return fmt.Errorf("%q is not a valid id", clip(s, 40))
	}
	if strings.ContainsAny(s, `/\%`) {
		return fmt.Errorf("%q is not a valid id: ids never contain /, \\ or %%", clip(s, 40))
	}
	return nil
}

// CheckPathLikeValue is the rule for a path-like path parameter (object
// keys, file paths): slashes are allowed and are sent escaped, but neither
// the value nor its once-percent-decoded form (what a proxy that decodes
// once passes on) may contain a "." or ".." segment or a backslash (which
// some servers treat as a separator).
func CheckPathLikeValue(s string) error {
	if err := checkPathText(s); err != nil {
		return err
	}
	forms := []string{s}
	if d, err := url.PathUnescape(s); err == nil && d != s {
		forms = append(forms, d)
	}
	for _, f := range forms {
		if strings.Contains(f, `\`) {
			return fmt.Errorf("must not contain a backslash (as given or percent-decoded)")
		}
		if hasDotSegment(f) {
			return fmt.Errorf("%q must not contain a . or .. segment (as given or percent-decoded)", clip(s, 80))
		}
	}
	return nil
}

// hasDotSegment reports whether a slash-separated path has a "." or ".."
// segment.
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// Params decodes the query and header values into the generated client's
// <Operation>Params struct (its JSON tags are the API names; the values are
// scalars or lists of them, keyed by exactly those names).
func (c *Call) Params(v any) error {
	m, err := c.collect(InQuery, InHeader)
	if err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return argErrorf("arguments: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return argErrorf("arguments: %v", err)
	}
	return nil
}

// JSONBody is the JSON request body: an object of the body arguments'
// API names and the values sent for them (fixed, given, defaulted or the
// server's setting; transformed), encoded once. The values are the
// caller's as validated (compacted): they are not decoded into the
// generated request type and encoded again, which would drop what the type
// does not declare and match keys case-insensitively. A *bytes.Reader, so
// the request can be sent again on a retry (http.NewRequest sets GetBody).
func (c *Call) JSONBody() (io.Reader, error) {
	m, err := c.collect(InBody)
	if err != nil {
		return nil, err
	}
	b, err := encodeBody(m)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// encodeBody encodes a JSON body's fields (API name → value) as one object,
// keys sorted, each value compacted, without escaping HTML characters the
// caller wrote: what an encoding/json Encoder without HTML escaping writes
// for the map, written directly (the Encoder was 4 % of a write call,
// BenchmarkCall/stdio-path-write).
func encodeBody(fields map[string]json.RawMessage) ([]byte, error) {
	keys := slices.Sorted(maps.Keys(fields))
	n := 2
	for k, v := range fields {
		n += len(k) + len(v) + 4
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeName(buf, k); err != nil {
			return nil, argErrorf("arguments: %v", err)
		}
		buf.WriteByte(':')
		v := fields[k]
		if v == nil {
			buf.WriteString("null")
			continue
		}
		if err := json.Compact(buf, v); err != nil {
			return nil, argErrorf("arguments: %v", err)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// writeName writes an object member's name as the Encoder does: an API
// name (printable ASCII) as it is, anything else through the Encoder.
func writeName(buf *bytes.Buffer, k string) error {
	plain := true
	for i := 0; i < len(k) && plain; i++ {
		plain = k[i] >= 0x20 && k[i] < 0x7f && k[i] != '"' && k[i] != '\\'
	}
	if plain {
		buf.WriteByte('"')
		buf.WriteString(k)
		buf.WriteByte('"')
		return nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(k); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // the Encoder's newline
	return nil
}

// Raw returns the content type and bytes of a raw-bytes upload from the
// content/encoding/content_type arguments.
func (c *Call) Raw() (string, io.Reader, error) {
	var content, encoding, contentType string
	if _, err := c.Arg("content", &content); err != nil {
		return "", nil, err
	}
	encoding, contentType = "utf8", "application/octet-stream"
	if _, err := c.Arg("encoding", &encoding); err != nil {
		return "", nil, err
	}
	if _, err := c.Arg("content_type", &contentType); err != nil {
		return "", nil, err
	}
	var data []byte
	switch encoding {
	case "utf8", "":
		data = []byte(content)
	case "base64":
		d, err := base64.StdEncoding.DecodeString(content)
		if err != nil {
			return "", nil, argErrorf("content is not valid base64: %v", err)
		}
		data = d
	default:
		return "", nil, argErrorf("encoding must be utf8 or base64")
	}
	if strings.ContainsAny(contentType, "\r\n") {
		return "", nil, argErrorf("content_type must be a single line")
	}
	return contentType, bytes.NewReader(data), nil
}
