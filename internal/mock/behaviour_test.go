package mock

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const v1 = BasePath

func (h *harness) create(path, body, idPath string) string {
	h.t.Helper()
	r := h.want(h.do("POST", v1+path, body), 200)
	id := r.str(idPath)
	if id == "" {
		h.t.Fatalf("POST %s: no %s in %s", path, idPath, r.body)
	}
	return id
}

func (h *harness) status(path, field string) string {
	h.t.Helper()
	return h.want(h.do("GET", v1+path, nil), 200).str(field)
}

func TestComputerLifecycle(t *testing.T) {
	h := newHarness(t, Options{}) // default ReadyAfter: 1s
	id := h.create("/computers", `{"name":"lc"}`, "data.id")
	if got := h.status("/computers/"+id, "data.status"); got != "creating" {
		t.Fatalf("new computer is %q, want creating", got)
	}
	if r := h.do("POST", v1+"/computers/"+id+"/exec", `{"command":"echo hi"}`); r.status != 409 || r.errCode() != "INVALID_STATE" {
		t.Fatalf("exec while creating: %d %s, want 409 INVALID_STATE", r.status, r.body)
	}
	h.clock.advance(999 * time.Millisecond)
	if got := h.status("/computers/"+id, "data.status"); got != "creating" {
		t.Fatalf("after 999ms: %q, want creating", got)
	}
	h.clock.advance(time.Millisecond)
	if got := h.status("/computers/"+id, "data.status"); got != "running" {
		t.Fatalf("after 1s: %q, want running", got)
	}
	steps := []struct{ action, want string }{
		{"stop", "stopped"}, {"start", "running"}, {"restart", "starting"},
	}
	for _, s := range steps {
		if got := h.want(h.do("POST", v1+"/computers/"+id+"/"+s.action, nil), 200).str("data.status"); got != s.want {
			t.Fatalf("%s: %q, want %q", s.action, got, s.want)
		}
	}
	h.clock.advance(time.Second)
	if got := h.status("/computers/"+id, "data.status"); got != "running" {
		t.Fatalf("restart did not finish: %q", got)
	}
	lines := h.want(h.do("GET", v1+"/computers/"+id+"/logs?lines=1", nil), 200).list("data.lines")
	if len(lines) != 1 || !strings.Contains(lines[0].(string), "desktop session ready") {
		t.Errorf("last log line = %v, want the ready message", lines)
	}
}

func TestSandboxLifecycle(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: 2 * time.Second})
	id := h.create("/sandboxes", `{}`, "data.id")
	r := h.want(h.do("GET", v1+"/sandboxes/"+id, nil), 200)
	if r.str("data.state") != "provisioning" || r.get("data.ready") != false {
		t.Fatalf("new sandbox: state %q ready %v", r.str("data.state"), r.get("data.ready"))
	}
	h.clock.advance(2 * time.Second)
	r = h.want(h.do("GET", v1+"/sandboxes/"+id, nil), 200)
	if r.str("data.state") != "running" || r.get("data.ready") != true || r.str("data.ready_at") == "" {
		t.Fatalf("after ReadyAfter: %s", r.body)
	}
	if got := h.want(h.do("POST", v1+"/sandboxes/"+id+"/pause", nil), 200).str("data.state"); got != "paused" {
		t.Fatalf("pause: %q", got)
	}
	if r := h.do("POST", v1+"/sandboxes/"+id+"/exec", `{"command":"ls"}`); r.status != 409 {
		t.Fatalf("exec while paused: %d", r.status)
	}
	if got := h.want(h.do("POST", v1+"/sandboxes/"+id+"/resume", nil), 200).str("data.state"); got != "running" {
		t.Fatalf("resume: %q", got)
	}

	// A sandbox with a lifetime is destroyed when it runs out.
	short := h.create("/sandboxes", `{"timeout_sec":5}`, "data.id")
	h.clock.advance(4 * time.Second)
	if r := h.want(h.do("GET", v1+"/sandboxes/"+short, nil), 200); r.str("data.state") != "running" || r.get("data.timeout_remaining_ms") != 1000.0 {
		t.Fatalf("before its lifetime ends: %s", r.body)
	}
	h.clock.advance(time.Second)
	if got := h.status("/sandboxes/"+short, "data.state"); got != "destroyed" {
		t.Fatalf("after its lifetime: %q, want destroyed", got)
	}
}

func TestCheckpointLifecycle(t *testing.T) {
	h := newHarness(t, Options{})
	cmp := h.create("/computers", `{"name":"src"}`, "data.id")
	h.clock.advance(time.Second)
	h.want(h.do("POST", v1+"/computers/"+cmp+"/files/write", `{"path":"/home/user/keep.txt","content":"v1"}`), 200)
	snap := h.create("/computers/"+cmp+"/snapshots", `{}`, "data.id")
	h.want(h.do("POST", v1+"/computers/"+cmp+"/files/write", `{"path":"/home/user/keep.txt","content":"v2"}`), 200)
	if r := h.do("POST", v1+"/computers/"+cmp+"/restore/"+snap, nil); r.status != 409 {
		t.Fatalf("restore of a checkpoint still creating: %d", r.status)
	}
	h.clock.advance(time.Second)
	if got := h.want(h.do("GET", v1+"/computers/"+cmp+"/snapshots", nil), 200).str("data.0.status"); got != "ready" {
		t.Fatalf("checkpoint status %q, want ready", got)
	}
	r := h.want(h.do("POST", v1+"/computers/"+cmp+"/restore/"+snap, nil), 200)
	restored := r.str("data.id")
	if restored == cmp || r.str("data.status") != "creating" {
		t.Fatalf("restore returned %s", r.body)
	}
	h.clock.advance(time.Second)
	got := h.want(h.do("GET", v1+"/computers/"+restored+"/files/download?path=/home/user/keep.txt", nil), 200)
	if string(got.body) != "v1" {
		t.Errorf("restored computer has %q, want the checkpointed v1", got.body)
	}
}

func TestDeploymentAndDatabaseLifecycle(t *testing.T) {
	h := newHarness(t, Options{})
	sbx := h.create("/sandboxes", `{}`, "data.id")
	dep := h.create("/deployments", `{"name":"web"}`, "data.id")
	if got := h.status("/deployments/"+dep, "data.state"); got != "pending" {
		t.Fatalf("new deployment %q, want pending", got)
	}
	r := h.want(h.do("POST", v1+"/deployments/"+dep+"/publish", `{"source_sandbox_id":"`+sbx+`"}`), 200)
	if r.str("data.deployment.state") != "building" || r.str("data.version.state") != "building" || r.get("data.promoted") != true {
		t.Fatalf("publish: %s", r.body)
	}
	h.clock.advance(time.Second)
	if got := h.status("/deployments/"+dep, "data.state"); got != "running" {
		t.Fatalf("deployment %q after ReadyAfter, want running", got)
	}
	if got := h.want(h.do("GET", v1+"/deployments/"+dep+"/versions", nil), 200).str("data.0.state"); got != "ready" {
		t.Fatalf("version %q, want ready", got)
	}

	db := h.create("/databases", `{"name":"pg"}`, "data.id")
	if got := h.status("/databases/"+db, "data.status"); got != "creating" {
		t.Fatalf("new database %q", got)
	}
	h.clock.advance(time.Second)
	if got := h.status("/databases/"+db, "data.status"); got != "running" {
		t.Fatalf("database %q after ReadyAfter, want running", got)
	}
	creds := h.want(h.do("GET", v1+"/databases/"+db+"/credentials", nil), 200)
	if !strings.HasPrefix(creds.str("data.url"), "postgresql://") || creds.str("data.url") != creds.str("data.connection_string") {
		t.Errorf("credentials: %s", creds.body)
	}
}

// TestNotFoundAfterDelete deletes one resource of each family and checks
// it is gone: its get (or a second delete) answers 404 and lists omit it.
func TestNotFoundAfterDelete(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: Immediately})
	cmp := h.create("/computers", `{}`, "data.id")
	sbx := h.create("/sandboxes", `{}`, "data.id")
	cases := []struct {
		name, create, body, del, get, list string
	}{
		{"computer", "/computers", `{}`, "/computers/{id}", "/computers/{id}", "/computers"},
		{"sandbox", "/sandboxes", `{}`, "/sandboxes/{id}", "/sandboxes/{id}", "/sandboxes"},
		{"deployment", "/deployments", `{"name":"d"}`, "/deployments/{id}", "/deployments/{id}", "/deployments"},
		{"database", "/databases", `{"name":"d"}`, "/databases/{id}", "/databases/{id}", "/databases"},
		{"bucket", "/storage/buckets", `{"name":"b"}`, "/storage/buckets/{id}", "", "/storage/buckets"},
		{"volume", "/volumes", `{"name":"v"}`, "/volumes/{id}", "", "/volumes"},
		{"cron job", "/cron-jobs", `{"schedule":"@hourly","command":"date"}`, "/cron-jobs/{id}", "", "/cron-jobs"},
		{"webhook", "/webhooks", `{"url":"https://x.example/h","events":["*"]}`, "/webhooks/{id}", "", "/webhooks"},
		{"function", "/functions", `{"name":"f"}`, "/functions/{id}", "", "/functions"},
		{"API key", "/api-keys", `{"name":"k"}`, "/api-keys/{id}", "", "/api-keys"},
		{"service", "/computers/" + cmp + "/services", `{"name":"s","command":"sleep 1"}`, "/computers/" + cmp + "/services/{id}", "", "/computers/" + cmp + "/services"},
		{"domain", "/computers/" + cmp + "/domains", `{"fqdn":"a.example.org"}`, "/computers/" + cmp + "/domains/{id}", "", "/computers/" + cmp + "/domains"},
		{"checkpoint", "/computers/" + cmp + "/snapshots", `{}`, "/computers/" + cmp + "/snapshots/{id}", "", "/computers/" + cmp + "/snapshots"},
		{"sandbox snapshot", "/sandboxes/" + sbx + "/snapshots", `{}`, "", "", "/sandboxes/" + sbx + "/snapshots"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			id := h.create(tc.create, tc.body, "data.id")
			if !bytes.Contains(h.want(h.do("GET", v1+tc.list, nil), 200).body, []byte(id)) {
				t.Fatalf("list %s does not show the new %s", tc.list, id)
			}
			if tc.del == "" {
				return // the spec has no delete for this family
			}
			del := v1 + strings.ReplaceAll(tc.del, "{id}", id)
			if r := h.do("DELETE", del, nil); r.status/100 != 2 {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			if r := h.do("DELETE", del, nil); r.status != 404 || r.errCode() != "NOT_FOUND" {
				t.Errorf("second delete: %d %s, want 404 NOT_FOUND", r.status, r.body)
			}
			if tc.get != "" {
				if r := h.do("GET", v1+strings.ReplaceAll(tc.get, "{id}", id), nil); r.status != 404 {
					t.Errorf("get after delete: %d, want 404", r.status)
				}
			}
			if bytes.Contains(h.want(h.do("GET", v1+tc.list, nil), 200).body, []byte(id)) {
				t.Errorf("list %s still shows deleted %s", tc.list, id)
			}
		})
	}
}

func TestRequestValidation(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: Immediately})
	cmp := h.create("/computers", `{}`, "data.id")
	cases := []struct {
		name, method, path string
		body               any
		hdr                []string
		status             int
		code               string
	}{
		{"missing required body field", "POST", "/deployments", `{"source_type":"repo"}`, nil, 422, "VALIDATION_ERROR"},
		{"wrong field type", "POST", "/computers/" + cmp + "/desktop/click", `{"x":"ten","y":1}`, nil, 422, "VALIDATION_ERROR"},
		{"enum violation", "POST", "/computers", `{"size":"huge"}`, nil, 422, "VALIDATION_ERROR"},
		{"missing required body", "POST", "/computers/" + cmp + "/desktop/click", nil, nil, 400, "VALIDATION_ERROR"},
		{"malformed JSON", "POST", "/databases", `{"name":`, nil, 400, "VALIDATION_ERROR"},
		{"query out of range", "GET", "/databases?limit=0", nil, nil, 400, "VALIDATION_ERROR"},
		{"missing required query", "GET", "/computers/" + cmp + "/files/download", nil, nil, 400, "VALIDATION_ERROR"},
		{"path param not an integer", "GET", "/computers/" + cmp + "/ports/http/url", nil, nil, 400, "VALIDATION_ERROR"},
		{"upload with a text body", "PUT", "/storage/buckets/b/objects/k", "hello", []string{"Content-Type", "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"unknown path", "GET", "/nope", nil, nil, 404, "NOT_FOUND"},
		{"method not allowed", "PATCH", "/sandboxes", `{}`, nil, 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			r := h.do(tc.method, v1+tc.path, tc.body, tc.hdr...)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if r.str("error.message") == "" || !strings.HasPrefix(r.str("request_id"), "req_") {
				t.Errorf("error body lacks message or request_id: %s", r.body)
			}
		})
	}
	h.t = t
	if r := h.do("GET", "/v2/computers", nil); r.status != 404 || r.errCode() != "NOT_FOUND" {
		t.Errorf("outside the base path: %d %s", r.status, r.body)
	}
	// Nothing was stored by the rejected creates.
	for _, list := range []string{"/deployments", "/databases"} {
		if n := len(h.want(h.do("GET", v1+list, nil), 200).list("data")); n != 0 {
			t.Errorf("%s has %d items after rejected creates", list, n)
		}
	}
	if r := h.do("POST", v1+"/deployments", `{}`); len(r.list("error.details")) == 0 {
		t.Errorf("validation error has no details: %s", r.body)
	}
}

func TestAuthorization(t *testing.T) {
	h := newHarness(t, Options{})
	for _, auth := range []string{"", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "msk_u_nobearer"} {
		t.Run(fmt.Sprintf("%q", auth), func(t *testing.T) {
			h.t = t
			hdr := []string{"Authorization", auth}
			r := h.do("POST", v1+"/sandboxes", `{}`, hdr...)
			if r.status != 401 || r.errCode() != "UNAUTHORIZED" {
				t.Fatalf("%d %s, want 401 UNAUTHORIZED", r.status, r.body)
			}
			if r.str("request_id") != r.header.Get("X-Request-ID") {
				t.Errorf("request_id %q != X-Request-ID %q", r.str("request_id"), r.header.Get("X-Request-ID"))
			}
		})
	}
	h.t = t
	if n := len(h.want(h.do("GET", v1+"/sandboxes", nil), 200).list("data")); n != 0 {
		t.Errorf("unauthorized creates stored %d sandboxes", n)
	}
}

func TestScreenshotIsPNG(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: Immediately})
	shot := func(id string) []byte {
		r := h.want(h.do("GET", v1+"/computers/"+id+"/desktop/screenshot", nil), 200)
		if ct := r.header.Get("Content-Type"); ct != "image/png" {
			t.Fatalf("Content-Type %q", ct)
		}
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 1024 || b.Dy() != 768 {
			t.Fatalf("size %v", b)
		}
		return r.body
	}
	a := h.create("/computers", `{}`, "data.id")
	b := h.create("/computers", `{}`, "data.id")
	shotA := shot(a)
	if bytes.Equal(shotA, shot(b)) {
		t.Error("two computers have identical screenshots")
	}
	h.want(h.do("POST", v1+"/computers/"+a+"/desktop/launch", `{"app_name":"firefox"}`), 200)
	if bytes.Equal(shotA, shot(a)) {
		t.Error("launching an app did not change the screenshot")
	}
}

func TestDesktopState(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: Immediately})
	id := h.create("/computers", `{}`, "data.id")
	d := v1 + "/computers/" + id + "/desktop"
	h.want(h.do("POST", d+"/click", `{"x":300,"y":400}`), 200)
	if r := h.want(h.do("GET", d+"/cursor", nil), 200); r.get("data.x") != 300.0 || r.get("data.y") != 400.0 {
		t.Errorf("cursor after click: %s", r.body)
	}
	h.want(h.do("POST", d+"/launch", `{"app_name":"gedit"}`), 200)
	wins := h.want(h.do("GET", d+"/windows", nil), 200)
	if n := len(wins.list("data")); n != 2 || wins.get("data.1.is_focused") != true {
		t.Fatalf("windows after launch: %s", wins.body)
	}
	h.want(h.do("POST", d+"/window/"+wins.str("data.1.id")+"/close", nil), 200)
	if n := len(h.want(h.do("GET", d+"/windows", nil), 200).list("data")); n != 1 {
		t.Errorf("%d windows after close, want 1", n)
	}
	if r := h.do("POST", d+"/window/0xdeadbeef/close", nil); r.status != 404 {
		t.Errorf("closing an unknown window: %d", r.status)
	}
}

func TestObjectRoundTrip(t *testing.T) {
	h := newHarness(t, Options{})
	h.create("/storage/buckets", `{"name":"blobs"}`, "data.id")
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i % 256)
	}
	key := url.PathEscape("dir/sub/all bytes.bin")
	up := h.want(h.do("PUT", v1+"/storage/buckets/blobs/objects/"+key, data), 200)
	if up.get("data.size") != 4096.0 || up.str("data.key") != "dir/sub/all bytes.bin" {
		t.Fatalf("upload: %s", up.body)
	}
	down := h.want(h.do("GET", v1+"/storage/buckets/blobs/objects/"+key, nil), 200)
	if !bytes.Equal(down.body, data) {
		t.Fatal("downloaded bytes differ from the upload")
	}
	if ct := down.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("download Content-Type %q", ct)
	}
	if r := h.do("GET", v1+"/storage/buckets/blobs/objects/dir", nil); r.status != 404 {
		t.Errorf("prefix of a key is not an object: %d", r.status)
	}
	if r := h.do("DELETE", v1+"/storage/buckets/blobs", nil); r.status != 409 {
		t.Errorf("deleting a non-empty bucket: %d, want 409", r.status)
	}
}

func TestSandboxFiles(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: Immediately})
	id := h.create("/sandboxes", `{}`, "data.id")
	bin := []byte{0, 0xff, 0x10, 'x'}
	h.want(h.do("POST", v1+"/sandboxes/"+id+"/files", map[string]string{"path": "/tmp/data.bin", "content": base64.StdEncoding.EncodeToString(bin)}), 200)
	raw := h.want(h.do("GET", v1+"/sandboxes/"+id+"/files/tmp%2Fdata.bin", nil), 200)
	if !bytes.Equal(raw.body, bin) {
		t.Errorf("raw read %v, want %v", raw.body, bin)
	}
	js := h.want(h.do("GET", v1+"/sandboxes/"+id+"/files/tmp%2Fdata.bin", nil, "Accept", "application/json"), 200)
	if js.str("data.content") != base64.StdEncoding.EncodeToString(bin) {
		t.Errorf("JSON read: %s", js.body)
	}
	if r := h.do("POST", v1+"/sandboxes/"+id+"/files", `{"path":"x","content":"%%%"}`); r.status != 422 {
		t.Errorf("non-base64 content: %d, want 422", r.status)
	}
	if r := h.do("GET", v1+"/sandboxes/"+id+"/files/nope.txt", nil); r.status != 404 {
		t.Errorf("missing file: %d", r.status)
	}
}

func TestExecSimulation(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: Immediately})
	id := h.create("/sandboxes", `{"env":{"NAME":"mock"}}`, "data.id")
	write := func(path, content string) {
		h.want(h.do("POST", v1+"/sandboxes/"+id+"/files", map[string]string{"path": path, "content": base64.StdEncoding.EncodeToString([]byte(content))}), 200)
	}
	write("/tmp/_mcp_run.py", "# greet\nprint(\"hello from python\")\nprint('a', 2)\n")
	write("/tmp/complex.py", "import os\nprint(os.getcwd())\n")
	write("/workspace/notes.txt", "one\ntwo\nthree\n")
	cases := []struct {
		cmd, stdout string
		code        int
		stderrHas   string
	}{
		{"echo X", "X\n", 0, ""},
		{"pwd", "/workspace\n", 0, ""},
		{"echo \"hi $NAME\" 'and $NAME'", "hi mock and $NAME\n", 0, ""},
		{"python3 /tmp/_mcp_run.py", "hello from python\na 2\n", 0, ""},
		{"python3 /tmp/complex.py", "(mock) executed python3 /tmp/complex.py\n", 0, ""},
		{"python3 /tmp/missing.py", "", 2, "No such file"},
		{"python3 -c 'print(42)'", "42\n", 0, ""},
		{"cat notes.txt | grep t | wc -l", "2\n", 0, ""},
		{"cat /nope", "", 1, "No such file"},
		{"cd /tmp && pwd", "/tmp\n", 0, ""},
		{"false || echo fallback", "fallback\n", 0, ""},
		{"false && echo never", "", 1, ""},
		{"echo saved > out.txt; cat out.txt", "saved\n", 0, ""},
		{"mkdir -p a/b && ls a", "b\n", 0, ""},
		{"head -n 1 notes.txt", "one\n", 0, ""},
		{"npm install", "(mock) ran: npm install\n", 0, ""},
		{"npm run build && ls .next/out", "(mock) ran: npm run build\n(mock) static export written to /workspace/.next/out\nindex.html\n", 0, ""},
		{"cd /tmp && yarn build && cat .next/out/index.html", "(mock) ran: yarn build\n(mock) static export written to /tmp/.next/out\n<!doctype html><title>mock build</title><p>Built by the MIOSA mock from /tmp.</p>\n", 0, ""},
		{"bash -c 'echo inner; exit 3'", "inner\n", 3, ""},
	}
	for _, tc := range cases {
		t.Run(tc.cmd, func(t *testing.T) {
			h.t = t
			r := h.want(h.do("POST", v1+"/sandboxes/"+id+"/exec", map[string]string{"command": tc.cmd}), 200)
			if r.str("data.stdout") != tc.stdout || r.get("data.exit_code") != float64(tc.code) || !strings.Contains(r.str("data.stderr"), tc.stderrHas) {
				t.Errorf("stdout %q exit %v stderr %q; want %q exit %d stderr ~%q",
					r.str("data.stdout"), r.get("data.exit_code"), r.str("data.stderr"), tc.stdout, tc.code, tc.stderrHas)
			}
		})
	}
	h.t = t
	cmp := h.create("/computers", `{}`, "data.id")
	r := h.want(h.do("POST", v1+"/computers/"+cmp+"/exec", `{"command":"cat /etc/hostname && whoami"}`), 200)
	if r.get("data.success") != true || !strings.HasSuffix(r.str("data.output"), "\nuser\n") {
		t.Errorf("computer exec: %s", r.body)
	}
}

func TestCursorPagination(t *testing.T) {
	h := newHarness(t, Options{})
	var want []string
	for i := range 5 {
		want = append(want, h.create("/webhooks", fmt.Sprintf(`{"url":"https://h.example/%d","events":["*"]}`, i), "data.id"))
	}
	// Deleting an item between pages must not shift the next page.
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := h.want(h.do("GET", v1+"/webhooks"+q, nil), 200)
		for _, it := range r.list("data") {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		if page == 0 {
			h.want(h.do("DELETE", v1+"/webhooks/"+got[0], nil), 204)
		}
		cursor = r.str("cursor")
		if cursor == "" {
			break
		}
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pages gave %v, want %v", got, want)
	}
	if r := h.do("GET", v1+"/webhooks?cursor=garbage", nil); r.status != 400 {
		t.Errorf("invalid cursor: %d, want 400", r.status)
	}

	// Object listing pages by key.
	h.create("/storage/buckets", `{"name":"pages"}`, "data.id")
	for _, k := range []string{"c", "a", "b"} {
		h.want(h.do("PUT", v1+"/storage/buckets/pages/objects/"+k, []byte(k)), 200)
	}
	r := h.want(h.do("GET", v1+"/storage/buckets/pages/objects?limit=2", nil), 200)
	r2 := h.want(h.do("GET", v1+"/storage/buckets/pages/objects?limit=2&cursor="+url.QueryEscape(r.str("cursor")), nil), 200)
	if r.str("data.0.key") != "a" || r.str("data.1.key") != "b" || r2.str("data.0.key") != "c" || r2.str("cursor") != "" {
		t.Errorf("object pages: %s then %s", r.body, r2.body)
	}

	// Page-style lists report meta.
	for range 3 {
		h.create("/workspaces", fmt.Sprintf(`{"name":"w%d"}`, rand.IntN(1e9)), "data.id")
	}
	p := h.want(h.do("GET", v1+"/workspaces?page=2&per_page=2", nil), 200)
	if len(p.list("data")) != 1 || p.get("meta.total") != 3.0 || p.get("meta.page") != 2.0 || p.get("meta.per_page") != 2.0 {
		t.Errorf("page 2: %s", p.body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.want(h.do("POST", v1+"/sandboxes", `{}`, "Idempotency-Key", "k1"), 200).str("data.id")
	b := h.want(h.do("POST", v1+"/sandboxes", `{}`, "Idempotency-Key", "k1"), 200).str("data.id")
	c := h.want(h.do("POST", v1+"/sandboxes", `{}`, "Idempotency-Key", "k2"), 200).str("data.id")
	if a != b || a == c {
		t.Errorf("ids %s %s %s: a retry must return the first, a new key a new sandbox", a, b, c)
	}
	if n := len(h.want(h.do("GET", v1+"/sandboxes", nil), 200).list("data")); n != 2 {
		t.Errorf("%d sandboxes, want 2", n)
	}
}

func TestFunctionNotDeployed(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.create("/functions", `{"name":"draft"}`, "data.id")
	r := h.do("POST", v1+"/functions/"+id+"/invoke", `{"payload":{}}`)
	if r.status != 404 || r.errCode() != "FUNCTION_NOT_DEPLOYED" || r.str("error.message") != "function is not deployed" {
		t.Errorf("invoke of a draft function: %d %s", r.status, r.body)
	}
}

// TestValidateResponsesOption checks the mock's own response check passes
// for ordinary traffic (JSON, binary and empty bodies).
func TestValidateResponsesOption(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: Immediately, ValidateResponses: true})
	id := h.create("/computers", `{}`, "data.id")
	h.want(h.do("GET", v1+"/computers/"+id+"/desktop/screenshot", nil), 200)
	h.want(h.do("GET", v1+"/computers/"+id+"/nope", nil), 404)
	h.want(h.do("DELETE", v1+"/computers/"+id, nil), 204)
	h.want(h.do("GET", v1+"/computers/"+id, nil), 404)
}

// TestConcurrentRequests hammers one mock from many goroutines; run with
// -race it proves the state is guarded.
func TestConcurrentRequests(t *testing.T) {
	m, err := New(Options{ReadyAfter: Immediately})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				req, _ := http.NewRequest("POST", v1+"/sandboxes", strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer t")
				req.Header.Set("Content-Type", "application/json")
				if i%2 == 1 {
					req, _ = http.NewRequest("GET", v1+"/sandboxes", nil)
					req.Header.Set("Authorization", "Bearer t")
				}
				rec := &recorder{header: http.Header{}}
				m.ServeHTTP(rec, req)
				if rec.status != 200 {
					errs <- fmt.Sprintf("goroutine %d: %s %d", g, req.Method, rec.status)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	req, _ := http.NewRequest("GET", v1+"/sandboxes", nil)
	req.Header.Set("Authorization", "Bearer t")
	rec := &recorder{header: http.Header{}}
	m.ServeHTTP(rec, req)
	if n := bytes.Count(rec.body.Bytes(), []byte(`"id":"sbx_`)); n != 40 {
		t.Errorf("%d sandboxes, want 40", n)
	}
}

// recorder is a minimal ResponseWriter (httptest.ResponseRecorder works
// too; this keeps the concurrency test free of shared helpers).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int)   { r.status = s }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
