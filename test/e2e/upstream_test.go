package e2e_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// upstream is the suite's stand-in for the MIOSA API: a recording upstream
// (testsupport.Upstream) that gives every request a plausible 2xx by
// default: JSON {"data":{…}} echoing the request's sequence number and
// path, image/png for screenshots, octet-stream for downloads and a few
// log lines for log endpoints. respond, when set, answers instead.
type upstream struct {
	*testsupport.Upstream
	mu      sync.Mutex
	list    bool // answer JSON with "data" as an array (list endpoints)
	respond func(w http.ResponseWriter, r *http.Request, rec testsupport.Recorded)
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
	u.Upstream = testsupport.NewUpstream(t, u.serve)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	rec := testsupport.RecordOf(r)
	u.mu.Lock()
	respond, list := u.respond, u.list
	u.mu.Unlock()
	if respond != nil {
		respond(w, r, rec)
		return
	}
	defaultResponse(w, rec, list)
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

func defaultResponse(w http.ResponseWriter, rec testsupport.Recorded, list bool) {
	w.Header().Set("X-Request-ID", fmt.Sprintf("req-e2e-%d", rec.Seq))
	switch {
	case rec.Method == http.MethodGet && strings.HasSuffix(rec.Path, "/desktop/screenshot"):
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes)
	case isDownload(rec.Method, rec.Path):
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(fileBytes)
	case rec.Method == http.MethodGet && strings.HasSuffix(rec.Path, "/logs"):
		testsupport.WriteJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"lines": logLines}})
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
		testsupport.WriteJSON(w, status, map[string]any{"data": data})
	}
}
