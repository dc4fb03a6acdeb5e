package toolgen

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Local-file declarations (tools.yaml `local:`, issue #12).
const (
	LocalUpload   = "upload"
	LocalDownload = "download"
	EncBase64     = "base64"
	EncBinary     = "binary"
)

var dottedRE = regexp.MustCompile(`^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$`)

// local: `local:` gives the tool a local-file argument. It runs after
// inputSchema: the stdio schema is the tool's schema plus the argument,
// with the field it replaces no longer required (the runtime requires
// exactly one of the two). Every key is checked against the operation, so
// a declaration that could not work is an error here, not at run time.
func (r *resolver) local() {
	ls := r.spec.Local
	if ls == nil {
		return
	}
	lt := &LocalTool{Arg: ls.Arg, Direction: ls.Direction, Field: ls.Field, Encoding: ls.Encoding, Remote: ls.Remote}
	switch {
	case ls.Arg == "":
		r.addf("local.arg: name the tool argument that holds the local path (e.g. local_path or save_to)")
	case !argNameRE.MatchString(ls.Arg):
		r.addf("local.arg %q is not a valid argument name", ls.Arg)
	case r.props[ls.Arg] != nil:
		r.addf("local.arg %q is already an argument of the tool", ls.Arg)
	}
	if r.spec.Handler != "" || r.spec.Wait != nil || r.spec.Logs {
		r.addf("local cannot be combined with handler, wait or logs")
	}
	var desc string
	switch ls.Direction {
	case LocalUpload:
		desc = r.localUpload(ls, lt)
	case LocalDownload:
		desc = r.localDownload(ls)
	default:
		r.addf("local.direction must be upload or download, got %q", ls.Direction)
		return
	}
	if ls.Description != "" {
		desc = strings.Join(strings.Fields(ls.Description), " ")
	}
	props := map[string]any{}
	for k, v := range r.props {
		props[k] = v
	}
	props[ls.Arg] = map[string]any{"type": "string", "description": desc}
	in := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	var req []string
	for _, n := range r.required {
		if lt.Direction != LocalUpload || n != r.toolName(ls.Field) {
			req = append(req, n)
		}
	}
	if len(req) > 0 {
		in["required"] = sortedCopy(req)
	}
	lt.Input = in
	lt.Description = r.t.Description + " " + localSentence(ls, r.toolName(ls.Remote))
	r.t.Local = lt
}

// localSentence is appended to the tool's description over stdio, so a
// model sees the local argument before it reads the schema.
func localSentence(ls *LocalSpec, remote string) string {
	if ls.Direction == LocalDownload {
		return fmt.Sprintf("To keep the bytes out of the conversation, pass %s: the file is saved locally and only its path, size and sha256 come back.", ls.Arg)
	}
	return fmt.Sprintf("For local files pass %s (a file, or a directory uploaded below %s): the server reads them, so no bytes go through the conversation.", ls.Arg, remote)
}

// boundArg returns the binding of an API field and its schema.
func (r *resolver) boundArg(api string) (*Arg, map[string]any) {
	for i := range r.t.Args {
		a := &r.t.Args[i]
		if a.API == api && (a.In == InPath || a.In == InQuery || a.In == InBody || a.In == InRaw) {
			s, _ := r.props[a.Name].(map[string]any)
			return a, s
		}
	}
	return nil, nil
}

func (r *resolver) toolName(api string) string {
	if a, _ := r.boundArg(api); a != nil {
		return a.Name
	}
	return api
}

// remote checks local.remote: a visible string argument naming the remote
// file. It returns its tool-facing name.
func (r *resolver) remote(ls *LocalSpec, required bool) string {
	if ls.Remote == "" {
		if required {
			r.addf("local.remote: name the API field of the remote path (a directory's files go below it)")
		}
		return ""
	}
	a, s := r.boundArg(ls.Remote)
	switch {
	case a == nil:
		r.addf("local.remote: %s has no parameter or body property %q", r.op.ID, ls.Remote)
		return ""
	case a.Hidden:
		r.addf("local.remote: %q is hidden or fixed, so the caller cannot name the remote file", ls.Remote)
	case s["type"] != "string":
		r.addf("local.remote: %q is of type %v, not a string path", ls.Remote, s["type"])
	}
	return a.Name
}

func (r *resolver) localUpload(ls *LocalSpec, lt *LocalTool) string {
	remote := r.remote(ls, true)
	switch r.t.Body {
	case "json":
		a, s := r.boundArg(ls.Field)
		switch {
		case ls.Field == "":
			r.addf("local.field: name the body property that receives the bytes")
		case a == nil || a.In != InBody:
			r.addf("local.field: %s's JSON body has no property %q", r.op.ID, ls.Field)
		case a.Hidden:
			r.addf("local.field: %q is hidden or fixed", ls.Field)
		case s["type"] != "string":
			r.addf("local.field: %q is of type %v; the bytes need a string property", ls.Field, s["type"])
		}
		if ls.Encoding != EncBase64 {
			r.addf("local.encoding must be base64: a JSON body carries bytes as a base64 string (got %q)", ls.Encoding)
		}
	case "raw":
		if ls.Field != "content" {
			r.addf("local.field must be content for %s's raw body (got %q)", r.op.ID, ls.Field)
		}
		if ls.Encoding != EncBinary {
			r.addf("local.encoding must be binary: the raw body is the bytes (got %q)", ls.Encoding)
		}
	default:
		r.addf("local upload: %s has no request body to carry the bytes", r.op.ID)
	}
	if ls.Remote != "" && ls.Remote == ls.Field {
		r.addf("local.remote and local.field are both %q", ls.Field)
	}
	lt.Set = map[string]json.RawMessage{}
	for _, k := range sortedKeys(ls.Set) {
		a, s := r.boundArg(k)
		switch {
		case r.t.Body != "json":
			r.addf("local.set.%s: set applies to JSON body properties; %s has none", k, r.op.ID)
			continue
		case a == nil || a.In != InBody:
			r.addf("local.set.%s: %s's JSON body has no property %q", k, r.op.ID, k)
			continue
		case k == ls.Field || k == ls.Remote:
			r.addf("local.set.%s: the field and the remote path are not set", k)
			continue
		}
		v := normalizeYAML(ls.Set[k])
		if enum, ok := s["enum"].([]any); ok && !inEnum(enum, v) {
			r.addf("local.set.%s: %v is not one of %v", k, v, enum)
		}
		lt.Set[k] = mustJSON(v)
	}
	if len(lt.Set) == 0 {
		lt.Set = nil
	}
	field := r.toolName(ls.Field)
	if remote == "" {
		remote = "the remote path"
	}
	return fmt.Sprintf("Local file or directory to upload instead of %s (stdio only; inside the client's roots). A directory's files go below %s, keeping relative paths.", field, remote)
}

func (r *resolver) localDownload(ls *LocalSpec) string {
	r.remote(ls, false)
	if r.t.Result != "file" {
		r.addf("local download needs result: file (got %s)", r.t.Result)
	}
	if len(ls.Set) > 0 {
		r.addf("local.set applies to uploads only")
	}
	resp := successResponse(r.op.Op)
	var jsonMT, otherMT bool
	if resp != nil {
		for mt := range resp.Content {
			if mt == "application/json" || strings.HasSuffix(mt, "+json") {
				jsonMT = true
			} else {
				otherMT = true
			}
		}
	}
	switch {
	case ls.Field == "":
		if !otherMT {
			r.addf("local.field: %s answers JSON only; name where the bytes are in it (e.g. data.content)", r.op.ID)
		}
		if ls.Encoding != EncBinary {
			r.addf("local.encoding must be binary for a download whose body is the bytes (got %q)", ls.Encoding)
		}
	case !dottedRE.MatchString(ls.Field):
		r.addf("local.field %q must be a dotted path such as data.content", ls.Field)
	case !jsonMT:
		r.addf("local.field: %s has no JSON answer for %q to be in", r.op.ID, ls.Field)
	default:
		s := resp.Content.Get("application/json").Schema
		if !stringAt(s, ls.Field) {
			r.addf("local.field: %s's JSON answer has no string at %s", r.op.ID, ls.Field)
		}
		if ls.Encoding != EncBase64 {
			r.addf("local.encoding must be base64 for bytes inside a JSON answer (got %q)", ls.Encoding)
		}
	}
	return "Local path to save the file to instead of returning it (stdio only; inside the client's roots); into a directory under the remote name. Returns path, size, sha256 and MIME type."
}

// stringAt reports whether the dotted path leads to a string property.
func stringAt(s *openapi3.SchemaRef, dotted string) bool {
	for _, part := range strings.Split(dotted, ".") {
		if s == nil || s.Value == nil {
			return false
		}
		s = s.Value.Properties[part]
	}
	return s != nil && s.Value != nil && s.Value.Type != nil && s.Value.Type.Is("string")
}

func inEnum(enum []any, v any) bool {
	for _, e := range enum {
		if reflect.DeepEqual(e, v) {
			return true
		}
	}
	return false
}
