package reliability_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// decodingProxy is the reverse proxy of issue #10: like nginx proxy_pass
// with a URI part, it decodes the request path once, resolves dot segments
// and forwards the result (re-escaped the way Go escapes a path: "/" stays
// a separator).
func decodingProxy(t *testing.T, target *url.URL) *httptest.Server {
	p := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		decoded, err := url.PathUnescape(r.In.URL.EscapedPath())
		if err != nil {
			decoded = r.In.URL.Path
		}
		r.Out.URL.Path = path.Clean(decoded)
		r.Out.URL.RawPath = ""
	}}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return s
}

// TestDotSegmentsNeverReachUpstreamThroughDecodingProxy: behind a proxy
// that decodes once, an id or an object key can no longer name another
// resource: ../admin used to become GET /api/v1/admin, and the key
// ../../../../computers/cmp_x DELETE /api/v1/computers/cmp_x. Hostile
// values are refused before anything is sent; legitimate ones arrive
// inside their own resource.
func TestDotSegmentsNeverReachUpstreamThroughDecodingProxy(t *testing.T) {
	leakCheck(t)
	up := testsupport.NewUpstream(t, okData)
	proxy := decodingProxy(t, mustURL(t, up.URL()))

	// The proxy is a real threat: sent straight through it, the old
	// escaped forms reach other resources.
	for escaped, lands := range map[string]string{
		"/api/v1/computers/..%2Fadmin":                                            "/api/v1/admin",
		"/api/v1/storage/buckets/b/objects/..%2F..%2F..%2F..%2Fcomputers%2Fcmp_x": "/api/v1/computers/cmp_x",
	} {
		before := up.Count()
		resp, err := http.Get(proxy.URL + escaped)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if reqs := up.Requests()[before:]; len(reqs) != 1 || reqs[0].Path != lands {
			t.Fatalf("control: %s through the proxy reached %v, want %s", escaped, reqs, lands)
		}
	}

	base := mustURL(t, proxy.URL+"/api/v1")
	b := realRuntime(t, base)
	c := testsupport.ConnectHTTP(t, b.serve(t, runtime.HTTPOptions{}).URL+"/mcp", testsupport.Bearer("msk_u_proxy_Tq2Wm6Xk9Bv3Ld"))
	cases := []struct {
		tool string
		args map[string]any
		// within is the resource the request must stay in; "" = refused,
		// nothing sent.
		within string
	}{
		{"computer_get", map[string]any{"id": "../admin"}, ""},
		{"computer_get", map[string]any{"id": "..%2Fadmin"}, ""},
		{"computer_get", map[string]any{"id": "%2e%2e%2fadmin"}, ""},
		{"computer_get", map[string]any{"id": "..%252Fadmin"}, ""},
		{"computer_get", map[string]any{"id": `..\admin`}, ""},
		{"computer_destroy", map[string]any{"id": "cmp_1/../../admin"}, ""},
		{"service_stop", map[string]any{"computer_id": "c", "service_id": "../../../admin"}, ""},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": "../../../../computers/cmp_x"}, ""},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": "%2e%2e/%2e%2e/%2e%2e/%2e%2e/computers/cmp_x"}, ""},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": "..%2f..%2f..%2f..%2fcomputers%2fcmp_x"}, ""},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": "docs/%2E%2E/%2E%2E/%2E%2E/%2E%2E/admin"}, ""},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": `x\..\..\computers\cmp_x`}, ""},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": "x%5C..%5C..%5Ccomputers"}, ""},
		{"storage_object_download", map[string]any{"bucket": "..", "key": "k"}, ""},
		{"sandbox_read_file", map[string]any{"id": "s", "path": "../../../admin"}, ""},
		{"sandbox_read_file", map[string]any{"id": "s", "path": "a/%2e%2e/%2e%2e/%2e%2e/admin"}, ""},
		// Legitimate values stay inside their resource (the proxy turns
		// the key's escaped slashes into separators, under objects/).
		{"computer_get", map[string]any{"id": "cmp_0007k2j9x8qa"}, "/api/v1/computers/cmp_0007k2j9x8qa"},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": "docs/2026/report.pdf"}, "/api/v1/storage/buckets/b/objects/"},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": "a..b/c...d"}, "/api/v1/storage/buckets/b/objects/"},
		{"storage_object_delete", map[string]any{"bucket": "b", "key": "%252e%252e/x"}, "/api/v1/storage/buckets/b/objects/"},
		{"sandbox_read_file", map[string]any{"id": "s", "path": "workspace/src/main.py"}, "/api/v1/sandboxes/s/files/"},
	}
	for _, tc := range cases {
		t.Run(tc.tool+"/"+clipName(firstString(tc.args)), func(t *testing.T) {
			before := up.Count()
			res := testsupport.MustCall(t, c, tc.tool, tc.args)
			reqs := up.Requests()[before:]
			for _, r := range reqs {
				decoded, _ := url.PathUnescape(r.Path)
				if strings.Contains(decoded, "/admin") || strings.HasPrefix(path.Clean(decoded), "/api/v1/computers/cmp_x") {
					t.Errorf("%s reached %s (escaped %s)", tc.tool, decoded, r.Path)
				}
			}
			if tc.within == "" {
				if !res.IsError || len(reqs) != 0 {
					t.Errorf("want a refusal with nothing sent; isError=%v, %d requests, %s", res.IsError, len(reqs), clip(testsupport.ResultText(res)))
				}
				return
			}
			if res.IsError || len(reqs) != 1 {
				t.Fatalf("want one request, got %d: %s", len(reqs), clip(testsupport.ResultText(res)))
			}
			decoded, _ := url.PathUnescape(reqs[0].Path)
			if !strings.HasPrefix(path.Clean(decoded), strings.TrimSuffix(tc.within, "/")) || (!strings.HasSuffix(tc.within, "/") && decoded != tc.within) {
				t.Errorf("the request reached %s, outside %s", decoded, tc.within)
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// firstString names a case by its most hostile argument.
func firstString(args map[string]any) string {
	for _, k := range []string{"key", "path", "service_id", "id", "bucket"} {
		if v, ok := args[k].(string); ok {
			return v
		}
	}
	return ""
}
