package runtime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The bind stage of a call (select.go's handler): the validated arguments
// are bound to the tool's argument declarations (tools.yaml `args:`), and
// the generated closure reads from the Call what goes where: path values
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
	res      *resourceUse // the call's resource context (bind.go)
}

// ArgError is a problem with the caller's arguments. Nothing was sent.
type ArgError struct{ Msg string }

func (e *ArgError) Error() string { return e.Msg }

func argErrorf(format string, a ...any) error { return &ArgError{Msg: fmt.Sprintf(format, a...)} }

// NewCall binds a call: args must already be schema-validated. A tool that
// sends an Idempotency-Key gets a fresh one, which every retry of the
// call's request repeats (send.go).
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

// The resource context of a call (issue #11), part of the bind stage: a
// tool whose id argument names a kind of resource
// (tools.yaml `resources:`) may be called without it. bindResources, before
// the request is built, picks the id: over stdio the resource of that kind
// this session most recently created or used; else (a fresh session, or
// HTTP, which keeps no session) the only running one in the account, found
// with one call of the kind's list tool. None or several is an error that
// lists the candidates and names the tools that create and list them.
// finishResources, after the answer, remembers what the call created or
// used and puts first in the result which resource was used and why.
// Tools that destroy, delete, stop, restore, roll back or detach declare
// fallback none: their id stays required, and the error says why.

// Fallback is what a call that omits a tool's resource id does (tools.yaml
// `fallback:`).
type Fallback uint8

const (
	FallbackFull    Fallback = iota + 1 // the session's current one, else the only running one
	FallbackNone                        // the id is required: the tool never guesses
	FallbackHandler                     // the composite handler decides (Call.Current, Recall, Used)
)

// ResourceArg is a tool's resource id: the argument (tool-facing name, and
// the API path parameter it fills), the kind it names and its fallback.
type ResourceArg struct {
	Kind, Arg, API string
	Fallback       Fallback
}

// Resource is one kind of resource (tools.yaml `resources:`): the tools
// that list and create them (by name, from the catalog), and where their
// ids, names and statuses sit.
type Resource struct {
	Kind string
	// List is the tool called (once, one page of ResourceListSize) to find
	// the candidates; PageArg is its page-size argument ("": none).
	List, PageArg string
	// Create is the tool that makes one; Created is the dotted path of the
	// new id in its answer.
	Create, Created string
	// ID, Name and Status are the fields of a list item (Status "": items
	// have none, and every item is a candidate).
	ID, Name, Status string
	// Running statuses make a candidate; Starting ones count only when
	// none is running (a resource still booting, polled after its create).
	Running, Starting []string
}

// The reasons a result gives for the resource it used.
const (
	whySession = "the most recent one in this session"
	whyOnly    = "the only running %s in the account"
	whyOnlyAny = "the only %s in the account"
	whyStarted = "the only %s in the account, still %s"
)

// resourceMemory is a stdio session's resource context: per kind, the id
// most recently created or used, and the composite handlers' own notes
// (Call.Recall). The HTTP transport is stateless and keeps none.
type resourceMemory struct {
	mu      sync.Mutex
	current map[string]string
	notes   map[string]string
}

// sessionWithResources is a session that keeps a resource context (the
// stdio session).
type sessionWithResources interface {
	resourceMemory() *resourceMemory
}

func memoryFrom(ctx context.Context) *resourceMemory {
	if s, ok := server.ClientSessionFromContext(ctx).(sessionWithResources); ok {
		return s.resourceMemory()
	}
	return nil
}

func (m *resourceMemory) get(kind string) string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current[kind]
}

func (m *resourceMemory) put(kind, id string) {
	if m == nil || id == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.current == nil {
		m.current = map[string]string{}
	}
	m.current[kind] = id
}

// forget drops kind's current id if it is still id.
func (m *resourceMemory) forget(kind, id string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.current[kind] == id {
		delete(m.current, kind)
	}
}

func (m *resourceMemory) note(key string) string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.notes[key]
}

func (m *resourceMemory) setNote(key, v string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notes == nil {
		m.notes = map[string]string{}
	}
	m.notes[key] = v
}

// resources is the server's resource context: the kinds, their list
// tools (from the whole catalog, so a list tool left out of the selection
// still finds candidates) and which tool creates which kind.
type resources struct {
	kinds   map[string]*Resource
	lists   map[string]*Tool // by kind
	creates map[string]*Resource
	send    *sender
	log     *slog.Logger
}

func newResources(rs []Resource, catalog []Tool, send *sender, log *slog.Logger) *resources {
	r := &resources{kinds: map[string]*Resource{}, lists: map[string]*Tool{}, creates: map[string]*Resource{}, send: send, log: log}
	byName := map[string]*Tool{}
	for i := range catalog {
		byName[catalog[i].Name] = &catalog[i]
	}
	for i := range rs {
		k := &rs[i]
		r.kinds[k.Kind] = k
		r.creates[k.Create] = k
		if lt := byName[k.List]; lt != nil {
			r.lists[k.Kind] = lt
		}
	}
	return r
}

// resourceUse is what a call's resource context did: the id, where it
// came from (why; "" for an id the caller passed) and the notes a
// composite handler added.
type resourceUse struct {
	r     *resources
	mem   *resourceMemory
	kind  string
	id    string
	why   string
	notes []string
	used  [][2]string // (kind, id) a composite used
}

// firstLine is the result's first line: which resource was used and why.
func (u *resourceUse) firstLine() string {
	var lines []string
	if u.why != "" {
		lines = append(lines, fmt.Sprintf("Used %s %s (%s).", u.kind, u.id, u.why))
	}
	lines = append(lines, u.notes...)
	return strings.Join(lines, "\n")
}

// contextError is a resource id that could not be picked: what was looked
// at, the candidates and the tools that list and create them.
type contextError struct{ msg string }

func (e *contextError) Error() string { return e.msg }

// lookupError is a list call, made to find an omitted id, that failed:
// errors.go words it as the list tool's failure, after saying why the list
// was called.
type lookupError struct {
	tool, arg, kind string
	list            *Tool
	err             error
}

func (e *lookupError) Error() string { return e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

// bindResources runs before the request is built. An id the caller passed
// is only noted (it is remembered if the call succeeds); a missing id of a
// tool with fallback full is picked and set as the argument.
func (r *resources) bindResources(ctx context.Context, t *Tool, call *Call) (*resourceUse, error) {
	u := &resourceUse{r: r, mem: memoryFrom(ctx)}
	call.res = u
	ra := t.Resource
	if ra == nil {
		return u, nil
	}
	u.kind = ra.Kind
	var given string
	if ok, _ := call.Arg(ra.Arg, &given); ok {
		u.id = given
		return u, nil
	}
	if ra.Fallback != FallbackFull {
		return u, nil
	}
	id, why, err := r.resolve(ctx, u.mem, t, ra.Arg, ra.Kind)
	if err != nil {
		return u, err
	}
	r.log.DebugContext(ctx, "omitted id picked", "tool", t.Name, "kind", ra.Kind, "id", id, "why", why)
	u.id, u.why = id, why
	b, _ := json.Marshal(id)
	if call.args == nil {
		call.args = map[string]json.RawMessage{}
	}
	call.args[ra.Arg] = b
	return u, nil
}

// resolve picks the id of kind for a call of t that omitted arg: the
// session's current one, else the only running one in the account.
func (r *resources) resolve(ctx context.Context, mem *resourceMemory, t *Tool, arg, kind string) (id, why string, err error) {
	if id := mem.get(kind); id != "" {
		return id, whySession, nil
	}
	k := r.kinds[kind]
	lt := r.lists[kind]
	if k == nil || lt == nil {
		return "", "", &contextError{fmt.Sprintf("%s needs a %s id (argument %s): none was given, and none can be looked up.", t.Name, kind, arg)}
	}
	var args map[string]json.RawMessage
	if k.PageArg != "" {
		args = map[string]json.RawMessage{k.PageArg: json.RawMessage(fmt.Sprint(ResourceListSize))}
	}
	rep, err := r.send.send(ctx, lt, NewCall(lt, args, nil), lt.Call)
	if err != nil {
		return "", "", &lookupError{tool: t.Name, arg: arg, kind: kind, list: lt, err: err}
	}
	defer rep.done()
	items, more := listItems(rep.body.data)
	return pick(k, t.Name, arg, items, more || rep.body.head)
}

// candidate is one list item as a candidate.
type candidate struct{ id, name, status string }

// String is how an error lists the candidate: its id, name and status,
// each clipped (they are the API's text, and ten of them must leave room
// for the advice that follows).
func (c candidate) String() string {
	var extra []string
	if c.name != "" {
		extra = append(extra, clip(c.name, maxCandidateText))
	}
	if c.status != "" {
		extra = append(extra, clip(c.status, maxCandidateText))
	}
	id := clip(c.id, 2*maxCandidateText)
	if len(extra) == 0 {
		return id
	}
	return id + " (" + strings.Join(extra, ", ") + ")"
}

// maxCandidateText clips a candidate's name and status (its id: twice).
const maxCandidateText = 60

// listItems reads the items of a list answer ({"data": […]}, {"data":
// {"items": […]}} or a bare array) and whether more pages follow.
func listItems(body []byte) (items []map[string]any, more bool) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil, false
	}
	arr := func(x any) []any { a, _ := x.([]any); return a }
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		list = arr(x["data"])
		if list == nil {
			if d, ok := x["data"].(map[string]any); ok {
				list = arr(d["items"])
			}
		}
		if c, ok := x["cursor"].(string); ok && c != "" {
			more = true
		}
		if m, ok := x["meta"].(map[string]any); ok {
			total, _ := m["total"].(float64)
			more = more || int(total) > len(list)
		}
	}
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			items = append(items, m)
		}
	}
	return items, more
}

func fieldString(m map[string]any, path string) string {
	if path == "" {
		return ""
	}
	x, ok := lookup(m, path)
	if !ok {
		return ""
	}
	switch s := x.(type) {
	case string:
		return s
	case float64, bool:
		return fmt.Sprint(s)
	}
	return ""
}

// pick chooses the one candidate, or words why there is none.
func pick(k *Resource, tool, arg string, items []map[string]any, more bool) (string, string, error) {
	var all, running, starting []candidate
	for _, it := range items {
		c := candidate{id: fieldString(it, k.ID), name: fieldString(it, k.Name), status: fieldString(it, k.Status)}
		if c.id == "" || CheckPathValue(c.id) != nil {
			continue // an id the path could not carry is no candidate
		}
		all = append(all, c)
		switch {
		case k.Status == "" || slices.Contains(k.Running, c.status):
			running = append(running, c)
		case slices.Contains(k.Starting, c.status):
			starting = append(starting, c)
		}
	}
	switch {
	case len(running) == 1 && k.Status == "":
		return running[0].id, fmt.Sprintf(whyOnlyAny, k.Kind), nil
	case len(running) == 1:
		return running[0].id, fmt.Sprintf(whyOnly, k.Kind), nil
	case len(running) == 0 && len(starting) == 1:
		return starting[0].id, fmt.Sprintf(whyStarted, k.Kind, starting[0].status), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s needs a %s id (argument %s): none was given, this session has no current %s", tool, k.Kind, arg, k.Kind)
	state := "running "
	if k.Status == "" {
		state = ""
	}
	listed := all
	switch {
	case len(running) > 1:
		fmt.Fprintf(&b, ", and the account has %d %s%s, so none was picked", len(running), state, plural(k.Kind))
		listed = append(running, others(all, running)...)
	case len(starting) > 1:
		fmt.Fprintf(&b, ", and the account has no running %s but %d on their way, so none was picked", k.Kind, len(starting))
		listed = append(starting, others(all, starting)...)
	default:
		fmt.Fprintf(&b, ", and the account has no %s%s", state, k.Kind)
	}
	if len(listed) > 0 {
		shown := listed[:min(len(listed), MaxCandidates)]
		strs := make([]string, len(shown))
		for i, c := range shown {
			strs[i] = c.String()
		}
		fmt.Fprintf(&b, ". Candidates: %s", strings.Join(strs, "; "))
		if n := len(listed) - len(shown); n > 0 || more {
			b.WriteString(" and more")
		}
	}
	fmt.Fprintf(&b, ". Pass %s (%s lists them), or create one with %s.", arg, k.List, k.Create)
	return "", "", &contextError{b.String()}
}

// plural is the plural of a kind (lower-case English words).
func plural(kind string) string {
	for _, end := range []string{"s", "x", "ch", "sh"} {
		if strings.HasSuffix(kind, end) {
			return kind + "es"
		}
	}
	return kind + "s"
}

// others are the candidates of all not in some.
func others(all, some []candidate) []candidate {
	var out []candidate
	for _, c := range all {
		if !slices.Contains(some, c) {
			out = append(out, c)
		}
	}
	return out
}

// created remembers the id in the answer of a tool that creates a kind.
func (u *resourceUse) created(t *Tool, rep *reply) {
	if u == nil || u.mem == nil || rep == nil || rep.body == nil || rep.body.head {
		return
	}
	k := u.r.creates[t.Name]
	if k == nil {
		return
	}
	if id := lookupString(rep.body.data, k.Created); id != "" && CheckPathValue(id) == nil {
		u.mem.put(k.Kind, id)
	}
}

// finishResources runs once the call has its result: the id it used
// becomes the session's current one if the call succeeded, and is
// forgotten if the API no longer knows it; the result starts with which
// resource was used and why.
func (u *resourceUse) finishResources(t *Tool, res *mcp.CallToolResult, err error) {
	if u == nil {
		return
	}
	var ue *upstreamError
	switch {
	case err != nil && errors.As(err, &ue) && ue.status == http.StatusNotFound,
		err == nil && t.Method == http.MethodDelete && t.Resource != nil && t.Resource.API == pathParamLast(t.Path):
		// Gone, or just deleted: no longer anyone's current one.
		u.mem.forget(u.kind, u.id)
	case err == nil && res != nil && !res.IsError:
		if u.kind != "" {
			u.mem.put(u.kind, u.id)
		}
		for _, ki := range u.used {
			u.mem.put(ki[0], ki[1])
		}
	}
	if res == nil {
		return
	}
	if line := u.firstLine(); line != "" {
		prependText(res, line)
	}
}

// pathParamLast is the name of the last path parameter of a path template
// ("" if it ends in a literal segment): a DELETE of it deletes the resource
// itself, not something inside it.
func pathParamLast(path string) string {
	seg := path[strings.LastIndex(path, "/")+1:]
	if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
		return seg[1 : len(seg)-1]
	}
	return ""
}

// prependText puts line first in the result's first text, or as a text
// block before the others (an image).
func prependText(res *mcp.CallToolResult, line string) {
	for i, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok && i == 0 {
			tc.Text = line + "\n" + tc.Text
			res.Content[0] = tc
			return
		}
	}
	res.Content = append([]mcp.Content{mcp.NewTextContent(line)}, res.Content...)
}

// Current is this session's current resource of kind ("": none, or HTTP).
func (c *Call) Current(kind string) string {
	if c.res == nil {
		return ""
	}
	return c.res.mem.get(kind)
}

// Used records that a composite's call used resource id of kind: it
// becomes the session's current one if the call succeeds, and why ("":
// not said) is written first in the result.
func (c *Call) Used(kind, id, why string) {
	if c.res == nil {
		return
	}
	c.res.used = append(c.res.used, [2]string{kind, id})
	if why != "" {
		c.Note(fmt.Sprintf("Used %s %s (%s).", kind, id, why))
	}
}

// Note adds a line to the start of the call's result.
func (c *Call) Note(line string) {
	if c.res != nil {
		c.res.notes = append(c.res.notes, line)
	}
}

// Recall and Memo are a composite handler's own notes in the session's
// resource context (over HTTP, which keeps no session, Recall finds
// nothing).
func (c *Call) Recall(key string) string {
	if c.res == nil {
		return ""
	}
	return c.res.mem.note(key)
}

// Memo keeps a note for Recall in this session.
func (c *Call) Memo(key, value string) {
	if c.res != nil {
		c.res.mem.setNote(key, value)
	}
}

// missingIDNote follows "missing required argument X" when X is the id of
// a tool that never guesses it (fallback none).
func (r *resources) missingIDNote(t *Tool, arg string) string {
	ra := t.Resource
	if r == nil || ra == nil || ra.Arg != arg || ra.Fallback != FallbackNone {
		return ""
	}
	s := fmt.Sprintf(" (%s never picks a %s for you: tools that destroy, delete, stop, restore, roll back or detach need an explicit id", t.Name, ra.Kind)
	if k := r.kinds[ra.Kind]; k != nil {
		s += "; " + k.List + " lists them"
	}
	return s + ")"
}

// notFoundAdvice is the advice of a 404 to a tool with a resource id:
// where ids of that kind come from.
func (r *resources) notFoundAdvice(t *Tool) string {
	if r == nil || t.Resource == nil || t.Resource.Fallback == FallbackHandler {
		return "" // a composite's 404 may be about another of its requests
	}
	k := r.kinds[t.Resource.Kind]
	if k == nil {
		return ""
	}
	if strings.Count(t.Path, "{") > 1 { // the 404 may be about the other id
		return fmt.Sprintf("Check the ids: %s ids come from %s or %s, the others from the matching list tool; the resource may have been destroyed.", k.Kind, k.Create, k.List)
	}
	return fmt.Sprintf("Check the %s: %s ids come from %s or %s, and the %s may have been destroyed.", t.Resource.Arg, k.Kind, k.Create, k.List, k.Kind)
}
