package testsupport

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Recorded is one request the upstream received, as it came off the wire.
type Recorded struct {
	Seq      int    // 1 for the upstream's first request
	Method   string // as sent
	Path     string // the escaped path, exactly as in the request line
	RawQuery string
	Query    url.Values
	Header   http.Header
	Body     []byte
	At       time.Time
}

// Upstream is a recording stand-in for the MIOSA API: an httptest server
// that records every request (escaped path, query, headers, body) before
// its handler answers it, so a test asserts what the API would have
// received.
type Upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []Recorded
	seq  int
	h    http.Handler
}

type recordKey struct{}

// NewUpstream starts an upstream answered by h; it is closed when the test
// ends. h reads the request's body as usual, and its record with RecordOf.
func NewUpstream(t testing.TB, h http.HandlerFunc) *Upstream {
	t.Helper()
	u := &Upstream{h: h}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	u.mu.Lock()
	u.seq++
	rec := Recorded{
		Seq: u.seq, Method: r.Method, Path: path, RawQuery: rawQuery,
		Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, At: time.Now(),
	}
	u.reqs = append(u.reqs, rec)
	h := u.h
	u.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), recordKey{}, rec)))
}

// RecordOf is the record of the request an upstream handler answers.
func RecordOf(r *http.Request) Recorded {
	rec, _ := r.Context().Value(recordKey{}).(Recorded)
	return rec
}

// SetHandler makes h answer the requests from now on.
func (u *Upstream) SetHandler(h http.HandlerFunc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.h = h
}

// URL is the upstream's base URL, what MIOSA_API_URL names (the server
// appends /api/v1).
func (u *Upstream) URL() string { return u.srv.URL }

// Base is the API base a runtime is configured with: URL + /api/v1.
func (u *Upstream) Base() *url.URL {
	b, _ := url.Parse(u.srv.URL + "/api/v1")
	return b
}

// Requests returns the requests recorded (since the last Take).
func (u *Upstream) Requests() []Recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Recorded(nil), u.reqs...)
}

// Take returns the requests recorded since the last Take and forgets them.
func (u *Upstream) Take() []Recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.reqs
	u.reqs = nil
	return out
}

// Count is how many requests Requests would return.
func (u *Upstream) Count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
