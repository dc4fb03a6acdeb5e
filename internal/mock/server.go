package mock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// loadSpec parses the document and builds a router for it. The server URL
// is replaced by the bare BasePath: kin-openapi matches servers against the
// request URL, and the mock is reached on whatever host it is mounted on.
// The legacy router is used because it matches the escaped path, so a
// percent-encoded slash in an object key or sandbox file path stays inside
// its one segment (the gorillamux router would also need a module this repo
// does not depend on).
func loadSpec(spec []byte) (*openapi3.T, routers.Router, error) {
	sum := sha256.Sum256(spec)
	v, _ := specCache.LoadOrStore(sum, &parsedSpec{})
	p := v.(*parsedSpec)
	p.once.Do(func() { p.doc, p.router, p.err = parseSpec(spec) })
	return p.doc, p.router, p.err
}

// specCache holds each distinct spec parsed once: parsing and validating
// the 8,500-line document takes ~100 ms, and tests build many mocks. The
// parsed document is only read afterwards (concurrent requests on one mock
// already share it), so mocks can share it too.
var specCache sync.Map // [32]byte → *parsedSpec

type parsedSpec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func parseSpec(spec []byte) (*openapi3.T, routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing spec: %w", err)
	}
	doc.Servers = openapi3.Servers{{URL: BasePath}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("building router: %w", err)
	}
	return doc, router, nil
}

// ServeHTTP validates the request against the spec, runs the operation's
// handler under the state lock and writes its reply. Every response carries
// X-Request-ID, and error bodies repeat it as request_id, as the API does.
func (m *Mock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := "req_" + randString(20)
	w.Header().Set("X-Request-ID", reqID)
	rep, route, params := m.serve(r)
	if m.validate && route != nil {
		rep = m.checkResponse(r, route, params, rep)
	}
	rep.write(w, reqID)
	op := ""
	if route != nil {
		op = route.Operation.OperationID
	}
	m.log.Debug("mock MIOSA API", "method", r.Method, "path", r.URL.EscapedPath(), "operation", op, "status", rep.status, "request_id", reqID)
}

func (m *Mock) serve(r *http.Request) (reply, *routers.Route, map[string]string) {
	if p := r.URL.EscapedPath(); p != BasePath && !strings.HasPrefix(p, BasePath+"/") {
		return fail(http.StatusNotFound, "NOT_FOUND", "no such endpoint: the API is served under "+BasePath), nil, nil
	}
	route, params, err := m.router.FindRoute(r)
	if err != nil {
		var re *routers.RouteError
		if errors.As(err, &re) && re.Reason == routers.ErrMethodNotAllowed.Error() {
			return fail(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)), nil, nil
		}
		msg := fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)
		if strings.Contains(r.URL.Path, "/files/") || strings.Contains(r.URL.Path, "/objects/") {
			msg += " (a sandbox file path or object key is one path segment: percent-encode its slashes as %2F)"
		}
		return fail(http.StatusNotFound, "NOT_FOUND", msg), nil, nil
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: authenticate},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		return requestFailure(route.Operation, err), route, params
	}
	c, err := newCall(r, route.Operation.OperationID, params, m.now())
	if err != nil {
		return fail(http.StatusBadRequest, "VALIDATION_ERROR", err.Error()), route, params
	}
	c.readyAfter = m.readyAfter
	h := m.funcs[c.op]
	if h == nil {
		return fail(http.StatusNotImplemented, "NOT_IMPLEMENTED", "the mock has no handler for "+c.op), route, params
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	idemKey := ""
	if k := r.Header.Get("Idempotency-Key"); k != "" && declaresIdempotency(route.Operation) {
		idemKey = c.op + "\x00" + r.URL.EscapedPath() + "\x00" + k
		if prev, ok := m.idem[idemKey]; ok {
			return prev, route, params
		}
	}
	rep := h(m.st, c)
	if idemKey != "" && rep.status/100 == 2 {
		m.idem[idemKey] = rep
	}
	return rep, route, params
}

// authenticate accepts any non-empty bearer token: the mock has no accounts,
// but a client that forgets the header should fail here as it would upstream.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("missing or malformed Authorization header")
	}
	return nil
}

func declaresIdempotency(op *openapi3.Operation) bool {
	return op.Parameters.GetByInAndName(openapi3.ParameterInHeader, "Idempotency-Key") != nil
}

// requestFailure turns a kin-openapi validation error into the API's error
// shape: 401 for auth, 422 for a body that breaks its schema, 415 for a
// wrong content type where the operation declares 415, 400 otherwise.
func requestFailure(op *openapi3.Operation, err error) reply {
	var sec *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sec) {
		r := fail(http.StatusUnauthorized, "UNAUTHORIZED", "missing or invalid API key: send Authorization: Bearer <key>")
		r.header = http.Header{"Www-Authenticate": {`Bearer realm="miosa"`}}
		return r
	}
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return fail(http.StatusBadRequest, "VALIDATION_ERROR", err.Error())
	}
	if p := re.Parameter; p != nil {
		reason := errReason(re)
		return failValidation(http.StatusBadRequest,
			fmt.Sprintf("invalid %s parameter %q: %s", p.In, p.Name, reason),
			[]fieldError{{Field: p.Name, Message: reason}})
	}
	if strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
		status := http.StatusBadRequest
		if op.Responses.Status(http.StatusUnsupportedMediaType) != nil {
			status = http.StatusUnsupportedMediaType
		}
		var accepted []string
		if op.RequestBody != nil && op.RequestBody.Value != nil {
			for ct := range op.RequestBody.Value.Content {
				accepted = append(accepted, ct)
			}
		}
		sort.Strings(accepted)
		return fail(status, "UNSUPPORTED_MEDIA_TYPE", fmt.Sprintf("unsupported Content-Type %q: this endpoint accepts %s",
			re.Input.Request.Header.Get("Content-Type"), strings.Join(accepted, ", ")))
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return fail(http.StatusBadRequest, "VALIDATION_ERROR", "request body is required")
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		msg := errReason(re)
		if field == "" {
			field = "body"
		}
		return failValidation(http.StatusUnprocessableEntity,
			fmt.Sprintf("invalid request body: %s: %s", field, msg),
			[]fieldError{{Field: field, Message: msg}})
	}
	return fail(http.StatusBadRequest, "VALIDATION_ERROR", re.Error())
}

// errReason is the short human reason of a validation error: the schema
// error's reason without the schema and value dumps kin-openapi appends.
func errReason(re *openapi3filter.RequestError) string {
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) && se.Reason != "" {
		return se.Reason
	}
	switch {
	case re.Err == nil:
		return re.Reason
	case re.Reason == "" || re.Reason == re.Err.Error():
		return re.Err.Error()
	}
	return re.Reason + ": " + re.Err.Error()
}

// checkResponse validates a reply against the operation's declared
// responses (Options.ValidateResponses). Binary bodies are not decoded:
// their schema is just `string/binary`, and decoding them would need
// process-wide decoder registration.
func (m *Mock) checkResponse(r *http.Request, route *routers.Route, params map[string]string, rep reply) reply {
	header := http.Header{}
	if rep.ctype != "" {
		header.Set("Content-Type", rep.ctype)
	}
	for k, v := range rep.header {
		header[k] = v
	}
	body := rep.body
	if rep.err != nil {
		body = rep.render("req_check")
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true}
	if rep.ctype != "" && !strings.HasPrefix(rep.ctype, "application/json") {
		opts.ExcludeResponseBody = true
	}
	vr := &http.Request{Method: r.Method, URL: &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}, Header: r.Header}
	err := openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route},
		Status:                 rep.status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	})
	if err == nil {
		return rep
	}
	m.log.Error("mock response does not match the spec", "operation", route.Operation.OperationID, "status", rep.status, "error", err)
	return fail(http.StatusInternalServerError, "MOCK_RESPONSE_INVALID",
		fmt.Sprintf("the mock's %d response to %s does not match the spec: %v", rep.status, route.Operation.OperationID, err))
}
