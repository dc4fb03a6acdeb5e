package runtime_test

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"go.uber.org/goleak"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/client"
	"github.com/miosa-osa/miosa-mcp/internal/toolgen/testdata/golden/gen/tools"
)

// The runtime is tested against the generator's golden fixture catalog
// (internal/toolgen/testdata/golden): a small, real generated tool set.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type serverOpt func(*runtime.Options)

func newRuntime(t *testing.T, base *url.URL, opts ...serverOpt) (*runtime.Server, []runtime.Tool) {
	t.Helper()
	cl, err := client.NewClient(base.String(),
		client.WithHTTPClient(runtime.NewHTTPClient(runtime.RetryPolicy{Base: 20 * time.Millisecond})),
		client.WithRequestEditorFn(runtime.Editor(base)))
	if err != nil {
		t.Fatal(err)
	}
	catalog := tools.All(cl)
	o := runtime.Options{
		Name: "test", Version: "0", Tools: catalog, Toolsets: tools.Toolsets, Instructions: tools.Instructions,
		BaseURL: base, Timeout: 2 * time.Second, Mode: runtime.ModeHTTP, PollInterval: 10 * time.Millisecond,
		Defaults: map[string]string{"MIOSA_DEFAULT_TEMPLATE": "tmpl-default"},
		// What internal/app says (runtime.Settings): over HTTP, and for
		// stdio's local files.
		Settings: runtime.Settings{
			KeyRejected:   "Send `Authorization: Bearer msk_u_…` (the word Bearer, then the key).",
			LocalOff:      "--no-local-files / MIOSA_NO_LOCAL_FILES",
			LocalMaxBytes: "--local-max-bytes / MIOSA_LOCAL_MAX_BYTES", LocalMaxFiles: "--local-max-files / MIOSA_LOCAL_MAX_FILES",
			LocalAllowDirs: "--allow-dir / MIOSA_ALLOW_DIRS",
		},
		Hints:     tools.Hints,
		Resources: tools.Resources,
	}
	for _, f := range opts {
		f(&o)
	}
	return runtime.NewServer(o), catalog
}

// mcpHTTP serves the runtime over real streamable HTTP.
func mcpHTTP(t *testing.T, srv *runtime.Server, catalog []runtime.Tool) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(srv.HTTPHandler(runtime.HTTPOptions{Catalog: catalog, Toolsets: tools.Toolsets, Profiles: tools.Profiles}))
	t.Cleanup(hs.Close)
	return hs
}

// connect opens an initialized MCP client session over HTTP; its answers
// are scanned for keys (testsupport).
func connect(t *testing.T, hs *httptest.Server, headers map[string]string, opts ...mcpclient.ClientOption) *mcpclient.Client {
	t.Helper()
	return testsupport.ConnectHTTP(t, hs.URL+"/mcp", headers, opts...)
}

const testKey = "msk_u_test_key_0123456789"
