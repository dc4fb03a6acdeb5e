package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	realclient "github.com/miosa-osa/miosa-mcp/gen/client"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/client"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/tools"
)

// Fuzz targets (seed corpora in testdata/fuzz/<Name>/; scripts/fuzz.sh runs
// each briefly in `make test`, RELIABILITY.md records longer runs).

// FuzzCheckMessage: the strict JSON-RPC gate never panics, the stdio
// transport answers every refusal with exactly that one JSON-RPC error line
// and writes nothing but JSON-RPC for any line, and a message the gate
// accepts means the same thing to encoding/json (mcp-go) as to a
// case-sensitive reader: the same method, tool name and arguments.
func FuzzCheckMessage(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"widget_get","arguments":{"id":"w1"}}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"widget_get","Name":"widget_delete"}}`))
	srv, _ := fuzzServer(f, &recordingTransport{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		me := runtime.CheckMessage(msg)
		// Through the stdio transport, one line then EOF.
		line := append(bytes.ReplaceAll(msg, []byte("\n"), nil), '\n')
		var out bytes.Buffer
		if err := srv.ServeStdio(context.Background(), bytes.NewReader(line), &out, runtime.StdioOptions{Workers: 1, Queue: 1}); err != nil {
			t.Fatalf("ServeStdio: %v", err)
		}
		if me := runtime.CheckMessage(line); me != nil {
			if want := append(me.Response(), '\n'); !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("refused line answered %q, want exactly %q", out.Bytes(), want)
			}
		}
		for _, l := range bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n")) {
			var m struct {
				JSONRPC string `json:"jsonrpc"`
			}
			if len(l) > 0 && (json.Unmarshal(l, &m) != nil || m.JSONRPC != "2.0") {
				t.Fatalf("stdout line is not JSON-RPC: %q", l)
			}
		}
		if me != nil {
			return
		}
		if !utf8.Valid(msg) {
			t.Fatalf("accepted invalid UTF-8: %q", msg)
		}
		var exact map[string]json.RawMessage
		var folded struct {
			Method string `json:"method"`
			Params struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"params"`
		}
		if json.Unmarshal(msg, &exact) != nil || json.Unmarshal(msg, &folded) != nil {
			return // not an object, or types mcp-go rejects anyway
		}
		var method string
		json.Unmarshal(exact["method"], &method)
		var params map[string]json.RawMessage
		json.Unmarshal(exact["params"], &params)
		var name string
		json.Unmarshal(params["name"], &name)
		if method != folded.Method || name != folded.Params.Name || !bytes.Equal(params["arguments"], folded.Params.Arguments) {
			t.Fatalf("encoding/json reads method %q tool %q args %s; a case-sensitive reader sees %q %q %s", folded.Method, folded.Params.Name, folded.Params.Arguments, method, name, params["arguments"])
		}
	})
}

// fuzzBase is the API base of the fuzzed servers (never contacted: rt answers).
var fuzzBase, _ = url.Parse("http://api.example.test/api/v1")

// fuzzServer is the golden catalog served in front of rt.
func fuzzServer(f *testing.F, rt *recordingTransport) (*runtime.Server, []runtime.Tool) {
	base := fuzzBase
	cl, err := client.NewClient(base.String(), client.WithHTTPClient(&http.Client{Transport: rt}), client.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		f.Fatal(err)
	}
	catalog := tools.All(cl)
	return runtime.NewServer(runtime.Options{
		Name: "fuzz", Version: "0", Tools: catalog, BaseURL: base, Mode: runtime.ModeHTTP,
		Defaults: map[string]string{"MIOSA_DEFAULT_TEMPLATE": "tmpl"}, PollInterval: 1,
		Resources: tools.Resources,
	}), catalog
}

// recordingTransport stands in for the network: it records each request
// and answers 200 with a running widget.
type recordingTransport struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, r)
	rt.mu.Unlock()
	ct, body := "application/json", `{"data":{"id":"w1","status":"running","lines":["a"]},"cursor":""}`
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/widgets": // a list: the one running widget
		body = `{"data":[{"id":"w1","status":"running"}]}`
	case strings.HasSuffix(r.URL.Path, "/screenshot"):
		ct, body = "image/png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/blobs/"):
		ct, body = "application/octet-stream", "file content"
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {ct}}, Request: r,
		Body: io.NopCloser(strings.NewReader(body)),
	}, nil
}

func (rt *recordingTransport) take() []*http.Request {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := rt.reqs
	rt.reqs = nil
	return out
}

// FuzzArguments feeds arbitrary JSON arguments to the golden catalog's tools
// through the exported MCP server (validation, binding, the generated client
// and the request editor). It must never panic, and every call either fails
// with an isError result and no request, or sends well-formed requests to
// the tool's own operation.
func FuzzArguments(f *testing.F) {
	rt := &recordingTransport{}
	srv, catalog := fuzzServer(f, rt)
	base := fuzzBase
	ctx := runtime.WithAPIKey(context.Background(), runtime.NewAPIKey("msk_u_fuzz_key_0123456789"))
	f.Add(uint8(0), []byte(`{"name":"n","size":"xs","labels":{"a":"b"}}`))
	f.Add(uint8(2), []byte(`{"id":"../x"}`))
	f.Add(uint8(4), []byte(`{"widget_id":"w","x":1,"y":-2}`))
	f.Add(uint8(4), []byte(`{"x":1,"y":2}`)) // the widget id omitted: looked up
	f.Add(uint8(2), []byte(`{}`))
	f.Fuzz(func(t *testing.T, pick uint8, args []byte) {
		tool := &catalog[int(pick)%len(catalog)]
		msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool.Name + `","arguments":` + string(args) + `}}`)
		if runtime.CheckMessage(msg) != nil {
			return // refused by the transports before decoding
		}
		rt.take()
		resp := srv.MCP().HandleMessage(ctx, msg)
		reqs := rt.take()
		// A call that omits its resource id first lists the kind to find
		// it (bind.go), then goes on as if it had passed the id.
		if ra := tool.Resource; ra != nil && len(reqs) > 0 && reqs[0].Method == http.MethodGet && reqs[0].URL.Path == "/api/v1/widgets" {
			var given map[string]json.RawMessage
			if json.Unmarshal(args, &given) == nil && given[ra.Arg] != nil {
				t.Fatalf("a call that gave %s listed the widgets", ra.Arg)
			}
			checkRequest(t, base, reqs[0], "/widgets")
			reqs = reqs[1:]
		}
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("response does not marshal: %v", err)
		}
		var r struct {
			Result *mcp.CallToolResult `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("response %s: %v", b, err)
		}
		if r.Error != nil || r.Result == nil || r.Result.IsError {
			if len(reqs) != 0 {
				t.Fatalf("a refused call sent %d request(s) (%s): %s", len(reqs), reqs[0].URL, b)
			}
			if r.Error == nil && (r.Result == nil || len(r.Result.Content) == 0) {
				t.Fatalf("an error without a message: %s", b)
			}
			return
		}
		if len(reqs) == 0 || len(reqs) > 2 {
			t.Fatalf("a successful call sent %d requests: %s", len(reqs), b)
		}
		for i, req := range reqs {
			if i == 0 && req.Method != tool.Method {
				t.Errorf("method %s, want %s", req.Method, tool.Method)
			}
			tmpl := tool.Path
			if i > 0 { // the wait poll: GET of the widget
				tmpl = "/widgets/{widget_id}"
			}
			checkRequest(t, base, req, tmpl)
		}
	})
}

// checkRequest asserts the request targets the API host and a path of the
// template's shape: the same number of segments, the fixed ones equal, no
// empty or dot segment, nothing in a fragment.
func checkRequest(t *testing.T, base *url.URL, req *http.Request, tmpl string) []string {
	t.Helper()
	if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host || req.URL.Fragment != "" || req.URL.User != nil {
		t.Fatalf("request to %s", req.URL)
	}
	if req.Header.Get("Authorization") != "Bearer msk_u_fuzz_key_0123456789" {
		t.Fatalf("Authorization = %q", req.Header.Get("Authorization"))
	}
	p, ok := strings.CutPrefix(req.URL.EscapedPath(), base.Path+"/")
	if !ok {
		t.Fatalf("path %s is outside %s", req.URL.EscapedPath(), base.Path)
	}
	got, want := strings.Split(p, "/"), strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
	if len(got) != len(want) {
		t.Fatalf("path %s has %d segments, template %s has %d", p, len(got), tmpl, len(want))
	}
	var vars []string
	for i := range want {
		if got[i] == "" || got[i] == "." || got[i] == ".." {
			t.Fatalf("path %s has an empty or dot segment", p)
		}
		if strings.HasPrefix(want[i], "{") {
			v, err := url.PathUnescape(got[i])
			if err != nil {
				t.Fatalf("segment %q does not unescape: %v", got[i], err)
			}
			vars = append(vars, v)
		} else if got[i] != want[i] {
			t.Fatalf("path %s: segment %d is %q, want %q", p, i, got[i], want[i])
		}
	}
	return vars
}

// FuzzPathValue: for any path value, either CheckPathValue (an id) or
// CheckPathLikeValue (an object key) refuses it, or
// the generated client (the real one) and runtime.Editor produce a request
// whose path has exactly the template's segments under the API base, with
// the value as one segment that unescapes to exactly itself.
func FuzzPathValue(f *testing.F) {
	base, _ := url.Parse("http://api.example.test/api/v1")
	server := base.String() + "/"
	edit := runtime.Editor(base)
	ctx := runtime.WithAPIKey(context.Background(), runtime.NewAPIKey("msk_u_fuzz_key_0123456789"))
	builders := []struct {
		tmpl  string
		build func(a, b string) (*http.Request, error)
		two   bool
		// checkB is the rule for the second value: an id's, or a
		// path-like value's (the object key).
		checkB func(string) error
	}{
		{"/computers/{computer_id}", func(a, _ string) (*http.Request, error) { return realclient.NewGetComputerRequest(server, a) }, false, nil},
		{"/computers/{computer_id}/desktop/window/{window_id}/close", func(a, b string) (*http.Request, error) {
			return realclient.NewDesktopCloseWindowRequest(server, a, b)
		}, true, runtime.CheckPathValue},
		{"/storage/buckets/{bucket}/objects/{key}", func(a, b string) (*http.Request, error) {
			return realclient.NewDownloadObjectRequest(server, a, b)
		}, true, runtime.CheckPathLikeValue},
	}
	f.Add("cmp_1", "w1")
	f.Add("..", "a/b")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, bl := range builders {
			if runtime.CheckPathValue(a) != nil || (bl.two && bl.checkB(b) != nil) {
				continue // refused: nothing is built or sent
			}
			req, err := bl.build(a, b)
			if err != nil {
				t.Fatalf("%s: the client could not build a request for %q %q: %v", bl.tmpl, a, b, err)
			}
			if err := edit(ctx, req); err != nil {
				t.Fatalf("%s: CheckPathValue accepted %q %q but the editor refused %s: %v", bl.tmpl, a, b, req.URL.EscapedPath(), err)
			}
			if req.URL.RawQuery != "" {
				t.Fatalf("%s: the value %q made a query %q", bl.tmpl, a, req.URL.RawQuery)
			}
			vars := checkRequest(t, base, req, bl.tmpl)
			want := []string{a}
			if bl.two {
				want = append(want, b)
			}
			if !slices.Equal(vars, want) {
				t.Fatalf("%s: values %q arrive as %q", bl.tmpl, want, vars)
			}
		}
	})
}
