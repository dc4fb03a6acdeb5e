package mock

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// handler answers one operation. It runs with the state lock held and must
// not block.
type handler func(s *state, c *call) reply

// call is one validated request as a handler sees it.
type call struct {
	op         string
	r          *http.Request
	params     map[string]string // path params, percent-decoded
	body       []byte
	now        time.Time
	readyAfter time.Duration
}

func newCall(r *http.Request, op string, raw map[string]string, now time.Time) (*call, error) {
	params := make(map[string]string, len(raw))
	for k, v := range raw {
		// The router matched the escaped path (so %2F stays in its segment);
		// handlers want the real key or file path.
		d, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("path parameter %s: %v", k, err)
		}
		params[k] = d
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, fmt.Errorf("reading body: %v", err)
		}
		body = b
	}
	return &call{op: op, r: r, params: params, body: body, now: now.UTC()}, nil
}

func (c *call) path(name string) string { return c.params[name] }

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// queryInt reads an integer query parameter; the spec validation has
// already rejected non-integers and out-of-range values.
func (c *call) queryInt(name string, def int) int {
	if v, err := strconv.Atoi(c.query(name)); err == nil {
		return v
	}
	return def
}

func (c *call) queryBool(name string) (value, present bool) {
	v, err := strconv.ParseBool(c.query(name))
	return v, err == nil
}

// bind decodes the JSON body into v. An absent optional body leaves v as is.
func (c *call) bind(v any) *reply {
	if len(c.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		r := fail(http.StatusBadRequest, "VALIDATION_ERROR", "invalid JSON body: "+err.Error())
		return &r
	}
	return nil
}

// schedule puts a resource into interim status and lets it reach final
// after the configured ReadyAfter.
func (c *call) schedule(status *string, t *transition, interim, final string) {
	t.schedule(status, interim, final, c.now, c.readyAfter)
}
