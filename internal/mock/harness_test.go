package mock

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/miosa-osa/miosa-mcp/api"
)

// TestMain registers decoders for the binary response types before any
// test validates a response (the registry is process-wide and not safe to
// change concurrently).
func TestMain(m *testing.M) {
	openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	os.Exit(m.Run())
}

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// specDoc and specRouter are the test's own view of the spec, used to
// validate every response independently of the mock's internals.
var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func spec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() { specDoc, specRouter, specErr = loadSpec(api.OpenAPI) })
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specDoc, specRouter
}

// specOperations lists every operationId in the spec.
func specOperations(t *testing.T) []string {
	doc, _ := spec(t)
	var ops []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops = append(ops, op.OperationID)
		}
	}
	return ops
}

type harness struct {
	t       *testing.T
	m       *Mock
	clock   *fakeClock
	covered map[string]bool // operations answered with a 2xx
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, m: m, clock: clock, covered: map[string]bool{}}
}

// result is one response, with its JSON body decoded when it has one.
type result struct {
	status int
	header http.Header
	body   []byte
	json   any
	op     string
}

// do sends a request with a bearer token (unless hdr sets Authorization,
// "" to omit it) and validates the response against the spec. body may be
// nil, []byte (sent as application/octet-stream), a string (raw JSON) or
// any value to marshal.
func (h *harness) do(method, target string, body any, hdr ...string) *result {
	h.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/octet-stream"
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req := httptest.NewRequest(method, target, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer msk_u_test")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	rec := httptest.NewRecorder()
	h.m.ServeHTTP(rec, req)
	res := &result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(res.body, &res.json); err != nil {
			h.t.Fatalf("%s %s: response is not JSON: %v\n%s", method, target, err, res.body)
		}
	}
	if res.header.Get("X-Request-ID") == "" {
		h.t.Errorf("%s %s: no X-Request-ID header", method, target)
	}
	h.validate(req, res)
	return res
}

// validate checks the response against the operation's declared responses
// (status included). Requests that match no route are not validated.
func (h *harness) validate(req *http.Request, res *result) {
	h.t.Helper()
	_, router := spec(h.t)
	vreq := req.Clone(req.Context())
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		return
	}
	res.op = route.Operation.OperationID
	if res.status/100 == 2 {
		h.covered[res.op] = true
	}
	err = openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Body:                   io.NopCloser(bytes.NewReader(res.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		h.t.Errorf("%s %s (%s): response %d does not match the spec: %v\n%s", req.Method, req.URL, res.op, res.status, err, truncate(res.body))
	}
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// get reads a dotted path ("data.items.0.id") from the JSON body.
func (r *result) get(path string) any {
	v := r.json
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func (r *result) str(path string) string {
	s, _ := r.get(path).(string)
	return s
}

func (r *result) list(path string) []any {
	l, _ := r.get(path).([]any)
	return l
}

// want fails the test unless the response has the given status.
func (h *harness) want(r *result, status int) *result {
	h.t.Helper()
	if r.status != status {
		h.t.Fatalf("status %d, want %d: %s", r.status, status, truncate(r.body))
	}
	return r
}

// errCode returns error.code of an error body.
func (r *result) errCode() string { return r.str("error.code") }
