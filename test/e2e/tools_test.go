package e2e_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// eras are the two protocol eras mcp-go speaks: its default negotiates the
// 2026-07-28 stateless core (server/discover); pinning 2025-11-25 keeps the
// initialize handshake.
var eras = []struct{ name, pin, want string }{
	{"default-2026-07-28", "", "2026-07-28"},
	{"pinned-2025-11-25", "2025-11-25", "2025-11-25"},
}

func serverDefaults() map[string]string {
	return map[string]string{"MIOSA_DEFAULT_TEMPLATE": defaultTemplate}
}

// runCatalog lists the tools and calls every one of them through c (with a
// full and, where different, a minimal argument set), asserting the upstream
// requests and the results; then runs the hand-written cases. It returns the
// number of calls asserted.
func runCatalog(t *testing.T, c *client.Client, up *upstream, key string) int {
	t.Helper()
	all := catalog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	listed, err := listAllTools(ctx, c)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	if len(listed) != catalogSize {
		t.Fatalf("tools/list returned %d tools, want %d", len(listed), catalogSize)
	}
	assertListedMatchesCatalog(t, listed, all)

	calls := 0
	idemKeys := map[string]string{}
	for i := range all {
		tool := &all[i]
		t.Run(tool.Name, func(t *testing.T) {
			shapes := []bool{true}
			if hasOptional(tool) {
				shapes = append(shapes, false)
			}
			for _, full := range shapes {
				args, err := genArgs(tool, full)
				if err != nil {
					t.Fatalf("generating arguments: %v", err)
				}
				want, err := expectFromMeta(tool, args, serverDefaults())
				if err != nil {
					t.Fatalf("deriving the expected request: %v", err)
				}
				up.Take()
				up.answerLists(listOutput(tool))
				res, err := testsupport.CallTool(ctx, c, tool.Name, args)
				if err != nil {
					t.Fatalf("tools/call %s (full=%v): %v", tool.Name, full, err)
				}
				got := up.Take()
				calls++
				if t.Failed() {
					continue
				}
				assertRequests(t, got, want, key)
				if len(got) > 0 {
					assertResult(t, tool, res, got[len(got)-1])
				}
				for _, r := range got {
					if k := r.Header.Get("Idempotency-Key"); k != "" {
						if prev, dup := idemKeys[k]; dup {
							t.Errorf("Idempotency-Key %s reused (also sent for %s)", k, prev)
						}
						idemKeys[k] = tool.Name
					}
				}
				if t.Failed() {
					b, _ := json.Marshal(args)
					t.Logf("arguments (full=%v): %s", full, b)
				}
			}
		})
	}

	byName := map[string]*runtime.Tool{}
	for i := range all {
		byName[all[i].Name] = &all[i]
	}
	for _, tc := range exactCases {
		t.Run("exact/"+tc.name, func(t *testing.T) {
			up.Take()
			up.answerLists(listOutput(byName[tc.tool]))
			res, err := testsupport.CallTool(ctx, c, tc.tool, tc.args)
			if err != nil {
				t.Fatalf("tools/call %s: %v", tc.tool, err)
			}
			got := up.Take()
			calls++
			var want []wantRequest
			for _, w := range tc.want {
				want = append(want, w.wantRequest())
			}
			assertRequests(t, got, want, key)
			if len(got) > 0 {
				assertResult(t, byName[tc.tool], res, got[len(got)-1])
			}
		})
	}
	for _, tc := range refusedCases {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			up.Take()
			res, err := testsupport.CallTool(ctx, c, tc.tool, tc.args)
			if err != nil {
				t.Fatalf("tools/call %s: %v (want an isError result, not a protocol error)", tc.tool, err)
			}
			calls++
			if got := up.Take(); len(got) != 0 {
				t.Errorf("%d upstream request(s) for refused arguments, want none", len(got))
			}
			if txt := testsupport.ResultText(res); !res.IsError || !strings.Contains(txt, tc.text) {
				t.Errorf("result isError=%v %q, want an error naming %q", res.IsError, txt, tc.text)
			}
		})
	}
	up.answerLists(false)
	return calls
}

// assertListedMatchesCatalog checks tools/list against the metadata: the
// same names, and no hidden or fixed argument in any input schema.
func assertListedMatchesCatalog(t *testing.T, listed []mcp.Tool, all []runtime.Tool) {
	t.Helper()
	var got, want []string
	props := map[string]map[string]json.RawMessage{}
	for _, lt := range listed {
		got = append(got, lt.Name)
		b, err := json.Marshal(lt)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			InputSchema struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"inputSchema"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		props[lt.Name] = m.InputSchema.Properties
	}
	for _, tool := range all {
		want = append(want, tool.Name)
		for _, a := range tool.Args {
			if (a.Hidden || a.Fixed != nil) && props[tool.Name][a.Name] != nil {
				t.Errorf("%s: hidden argument %s is in the listed input schema", tool.Name, a.Name)
			}
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tools/list names differ from the catalog:\n got %v\nwant %v", got, want)
	}
}

func TestEveryToolOverStdio(t *testing.T) {
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			c, stderr, init := testsupport.StdioClient(t, testsupport.Binary(t), testsupport.StdioOptions{
				Env: []string{
					"MIOSA_API_KEY=" + testKey, "MIOSA_API_URL=" + up.URL(),
					"MIOSA_DEFAULT_TEMPLATE=" + defaultTemplate,
				},
				Version: era.pin,
			})
			if init.ProtocolVersion != era.want {
				t.Errorf("negotiated protocol %s, want %s", init.ProtocolVersion, era.want)
			}
			start := time.Now()
			n := runCatalog(t, c, up, testKey)
			t.Logf("stdio %s: %d tool calls asserted in %v", era.want, n, time.Since(start).Round(time.Millisecond))
			if strings.Contains(stderr.String(), testKey) {
				t.Errorf("stderr contains the API key")
			}
		})
	}
}

func TestEveryToolOverHTTP(t *testing.T) {
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			srv := testsupport.StartHTTP(t, testsupport.Binary(t), testsupport.HTTPOptions{Interrupt: true, Env: []string{
				"MIOSA_API_URL=" + up.URL(), "MIOSA_DEFAULT_TEMPLATE=" + defaultTemplate,
			}})
			key := testKey + "_http"
			c, init := connectHTTP(t, srv, httpClientOptions{auth: "Bearer " + key, version: era.pin})
			if init.ProtocolVersion != era.want {
				t.Errorf("negotiated protocol %s, want %s", init.ProtocolVersion, era.want)
			}
			start := time.Now()
			n := runCatalog(t, c, up, key)
			t.Logf("http %s: %d tool calls asserted in %v", era.want, n, time.Since(start).Round(time.Millisecond))
			if strings.Contains(srv.Stderr.String(), key) {
				t.Errorf("server stderr contains the API key")
			}
		})
	}
}
