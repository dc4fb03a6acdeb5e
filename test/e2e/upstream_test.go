package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// recorded is one request the upstream received, as it came off the wire.
type recorded struct {
	Seq      int
	Method   string
	Path     string // escaped path exactly as sent (from the request line)
	RawQuery string
	Query    url.Values
	Header   http.Header
	Body     []byte
}

// upstream is a recording stand-in for the MIOSA API. By default every
// request gets a plausible 2xx: JSON {"data":{…}} echoing the request's
// sequence number and path, image/png for screenshots, octet-stream for
// downloads and a few log lines for log endpoints. respond overrides that.
type upstream struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	seq     int
	list    bool // answer JSON with "data" as an array (list endpoints)
	respond func(w http.ResponseWriter, r *http.Request, rec recorded)
}

// answerLists makes JSON answers carry "data" as an array of one object,
// the shape list operations declare in their output schema.
func (u *upstream) answerLists(list bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.list = list
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

// URL is the base URL to put in MIOSA_API_URL (the binary appends /api/v1).
func (u *upstream) URL() string { return u.srv.URL }

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	u.mu.Lock()
	u.seq++
	rec := recorded{
		Seq: u.seq, Method: r.Method, Path: path, RawQuery: rawQuery,
		Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
	}
	u.reqs = append(u.reqs, rec)
	respond, list := u.respond, u.list
	u.mu.Unlock()
	if respond != nil {
		respond(w, r, rec)
		return
	}
	defaultResponse(w, rec, list)
}

// take returns the requests recorded since the last take and forgets them.
func (u *upstream) take() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.reqs
	u.reqs = nil
	return out
}

// count is how many requests are pending (not yet taken).
func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

var (
	// downloadPaths are the GET endpoints that return file bytes.
	downloadPaths = []*regexp.Regexp{
		regexp.MustCompile(`^/api/v1/computers/[^/]+/files/download$`),
		regexp.MustCompile(`^/api/v1/sandboxes/[^/]+/files/[^/]+$`),
		regexp.MustCompile(`^/api/v1/storage/buckets/[^/]+/objects/[^/]+$`),
	}
	// fileBytes is what downloads return: binary (a NUL and invalid UTF-8),
	// so the server must answer with a base64 blob.
	fileBytes = []byte("\x00\x01miosa-e2e-file\xff\xfe")
	pngBytes  = mustPNG()
	logLines  = []string{"e2e log line 1", "e2e log line 2", "e2e log line 3"}
)

func mustPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func isDownload(method, path string) bool {
	if method != http.MethodGet {
		return false
	}
	for _, re := range downloadPaths {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

func defaultResponse(w http.ResponseWriter, rec recorded, list bool) {
	w.Header().Set("X-Request-ID", fmt.Sprintf("req-e2e-%d", rec.Seq))
	switch {
	case rec.Method == http.MethodGet && strings.HasSuffix(rec.Path, "/desktop/screenshot"):
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes)
	case isDownload(rec.Method, rec.Path):
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(fileBytes)
	case rec.Method == http.MethodGet && strings.HasSuffix(rec.Path, "/logs"):
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"lines": logLines}})
	default:
		status := http.StatusOK
		if rec.Method == http.MethodPost {
			status = http.StatusCreated
		}
		var data any = map[string]any{
			"id": fmt.Sprintf("res-%d", rec.Seq), "status": "running", "state": "running",
			"seq": rec.Seq, "path": rec.Path,
		}
		if list {
			data = []any{data}
		}
		writeJSON(w, status, map[string]any{"data": data})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
