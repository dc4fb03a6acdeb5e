package inventory_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/miosa-osa/miosa-mcp/gen/client"
)

// TestClientRoundTrip pins how gen/client puts tricky values on the wire.
func TestClientRoundTrip(t *testing.T) {
	type got struct {
		method, path, query, ctype string
		body                       []byte
	}
	var last got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		last = got{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type"), b}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	cl, err := client.NewClient(srv.URL + "/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tags := []string{"a", "b c", "d,e"}
	cases := []struct {
		name string
		do   func() (*http.Response, error)
		want got
	}{
		{"path with space and slash", func() (*http.Response, error) { return cl.GetComputer(ctx, "c 1/x") },
			got{method: "GET", path: "/api/v1/computers/c%201%2Fx"}},
		{"file path as one segment", func() (*http.Response, error) { return cl.ReadSandboxFile(ctx, "sbx_1", "dir/a b?#%.txt") },
			got{method: "GET", path: "/api/v1/sandboxes/sbx_1/files/dir%2Fa%20b%3F%23%25.txt"}},
		{"array in query (csv)", func() (*http.Response, error) {
			return cl.ListSandboxes(ctx, &client.ListSandboxesParams{Tags: &tags})
		}, got{method: "GET", path: "/api/v1/sandboxes", query: "tags=a,b+c,d%2Ce"}},
		{"query path parameter", func() (*http.Response, error) {
			return cl.DeleteComputerFile(ctx, "cmp_1", &client.DeleteComputerFileParams{Path: "/tmp/a b&c"})
		}, got{method: "DELETE", path: "/api/v1/computers/cmp_1/files", query: "path=%2Ftmp%2Fa+b%26c"}},
		{"raw-bytes upload", func() (*http.Response, error) {
			return cl.UploadObjectWithBody(ctx, "bkt", "logs/2026/app.log", "application/octet-stream", bytes.NewReader([]byte{0, 1, 0xfe}))
		}, got{method: "PUT", path: "/api/v1/storage/buckets/bkt/objects/logs%2F2026%2Fapp.log", ctype: "application/octet-stream", body: []byte{0, 1, 0xfe}}},
		{"json body", func() (*http.Response, error) {
			return cl.DesktopClick(ctx, "cmp_1", client.DesktopClickJSONRequestBody{X: 10, Y: 20})
		}, got{method: "POST", path: "/api/v1/computers/cmp_1/desktop/click", ctype: "application/json", body: []byte(`{"x":10,"y":20}`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.do()
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if last.method != tc.want.method || last.path != tc.want.path || last.query != tc.want.query ||
				(tc.want.ctype != "" && last.ctype != tc.want.ctype) || !bytes.Equal(bytes.TrimSpace(last.body), tc.want.body) {
				t.Errorf("got %+v (body %q)\nwant %+v (body %q)", last, last.body, tc.want, tc.want.body)
			}
		})
	}
}
