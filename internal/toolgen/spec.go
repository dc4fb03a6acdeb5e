package toolgen

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Operation is one spec operation with the facts the generator needs.
type Operation struct {
	ID     string
	Method string
	Path   string
	Op     *openapi3.Operation
	Params openapi3.Parameters // path-item and operation parameters, merged
}

// LoadSpec parses and validates an OpenAPI document. External references are
// refused: the spec is one self-contained file.
func LoadSpec(name string, data []byte) (*openapi3.T, error) {
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	doc, err := l.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("%s: invalid OpenAPI document: %w", name, err)
	}
	return doc, nil
}

var methodOrder = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace}

// Operations indexes the document's operations by operationId, iterating
// paths in sorted order so every derived output is deterministic.
func Operations(doc *openapi3.T) (map[string]*Operation, []string, error) {
	out := map[string]*Operation{}
	var order []string
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		for _, m := range methodOrder {
			op := item.GetOperation(m)
			if op == nil {
				continue
			}
			if op.OperationID == "" {
				return nil, nil, fmt.Errorf("%s %s has no operationId", m, p)
			}
			merged := mergeParams(item.Parameters, op.Parameters)
			out[op.OperationID] = &Operation{ID: op.OperationID, Method: m, Path: p, Op: op, Params: merged}
			order = append(order, op.OperationID)
		}
	}
	return out, order, nil
}

// mergeParams applies OpenAPI's rule that operation parameters override
// path-item parameters with the same name and location.
func mergeParams(item, op openapi3.Parameters) openapi3.Parameters {
	key := func(p *openapi3.Parameter) string { return p.In + "\x00" + p.Name }
	seen := map[string]bool{}
	var out openapi3.Parameters
	for _, p := range op {
		seen[key(p.Value)] = true
		out = append(out, p)
	}
	for _, p := range item {
		if !seen[key(p.Value)] {
			out = append(out, p)
		}
	}
	return out
}

// pathParamOrder returns the path parameter names in template order.
func pathParamOrder(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

// jsonBodySchema returns the request body schema when it is application/json.
func jsonBodySchema(op *openapi3.Operation) (*openapi3.SchemaRef, bool) {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil, false
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil, false
	}
	return mt.Schema, op.RequestBody.Value.Required
}

// rawBody reports whether the request body is raw bytes.
func rawBody(op *openapi3.Operation) bool {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return false
	}
	return op.RequestBody.Value.Content.Get("application/octet-stream") != nil
}

// successResponse returns the first 2xx response.
func successResponse(op *openapi3.Operation) *openapi3.Response {
	if op.Responses == nil {
		return nil
	}
	for code := 200; code < 300; code++ {
		r := op.Responses.Status(code)
		if r != nil && r.Value != nil {
			return r.Value
		}
	}
	return nil
}
