package runtime_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// widgetAccount is a fake widget API with an account's widgets: list,
// create, get (404 for an unknown id), delete and screenshot.
type widgetAccount struct {
	mu      sync.Mutex
	widgets []map[string]any
	next    int
	cursor  string // a cursor the list answers with ("": the last page)
	// echoKey makes the answers carry the caller's key, as a hostile or
	// broken API might.
	echoKey bool
	// listStatus, when set, is the list's answer status (an error body).
	listStatus int
}

func (a *widgetAccount) find(id string) map[string]any {
	for _, w := range a.widgets {
		if w["id"] == id {
			return w
		}
	}
	return nil
}

func (a *widgetAccount) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/widgets"), "/")
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet && a.listStatus != 0:
		testsupport.WriteJSON(w, a.listStatus, map[string]any{"error": map[string]any{"code": "FORBIDDEN", "message": "no list scope"}})
	case len(parts) == 1 && r.Method == http.MethodGet:
		body := map[string]any{"data": a.widgets}
		if a.cursor != "" {
			body["cursor"] = a.cursor
		}
		testsupport.WriteJSON(w, 200, body)
	case len(parts) == 1 && r.Method == http.MethodPost:
		a.next++
		wd := map[string]any{"id": fmt.Sprintf("w-new%d", a.next), "name": "new", "status": "creating"}
		a.widgets = append(a.widgets, wd)
		testsupport.WriteJSON(w, 201, map[string]any{"data": wd})
	default:
		wd := a.find(parts[1])
		if wd == nil {
			testsupport.WriteJSON(w, 404, map[string]any{"error": map[string]any{"code": "NOT_FOUND", "message": "widget not found: " + parts[1]}})
			return
		}
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case len(parts) == 3 && parts[2] == "screenshot":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte("\x89PNG\r\n\x1a\nfake"))
		default:
			out := map[string]any{"data": wd}
			if a.echoKey {
				out["auth"] = r.Header.Get("Authorization")
			}
			testsupport.WriteJSON(w, 200, out)
		}
	}
}

func widgets(specs ...string) []map[string]any {
	var out []map[string]any
	for _, s := range specs {
		id, status, _ := strings.Cut(s, ":")
		out = append(out, map[string]any{"id": id, "name": "name-" + id, "status": status})
	}
	return out
}

// resourceClients are the two transports: HTTP (stateless: no session
// context) and in-process stdio (a session that remembers).
var resourceClients = []struct {
	name  string
	stdio bool
}{{"http", false}, {"stdio", true}}

func resourceClient(t *testing.T, stdio bool, acct *widgetAccount) (*mcpclient.Client, *testsupport.Upstream) {
	t.Helper()
	up := testsupport.NewUpstream(t, acct.serve)
	if stdio {
		srv, _ := newRuntime(t, up.Base(), func(o *runtime.Options) { o.Mode = runtime.ModeStdio })
		return stdioClient(t, srv, nil), up
	}
	srv, cat := newRuntime(t, up.Base())
	return connect(t, mcpHTTP(t, srv, cat), testsupport.Bearer(testKey)), up
}

func firstLine(res *mcp.CallToolResult) string {
	line, _, _ := strings.Cut(testsupport.ResultText(res), "\n")
	return line
}

// TestOmittedIDFromTheAccount: without a session's current one (a fresh
// session, or HTTP), an omitted id is the only running widget, found with
// one list call of page size ResourceListSize; none or several is an error
// that lists up to MaxCandidates candidates and names the create and list
// tools, and sends nothing else.
func TestOmittedIDFromTheAccount(t *testing.T) {
	many := make([]string, 12)
	for i := range many {
		many[i] = fmt.Sprintf("w%02d:running", i)
	}
	cases := []struct {
		name     string
		account  []string
		cursor   string
		wantID   string // "" = refused
		wantText []string
		notText  []string
	}{
		{name: "only running one", account: []string{"w1:running", "w2:error"}, wantID: "w1",
			wantText: []string{"Used widget w1 (the only running widget in the account)."}},
		{name: "only one still starting", account: []string{"w1:creating", "w2:error"}, wantID: "w1",
			wantText: []string{"Used widget w1 (the only widget in the account, still creating)."}},
		{name: "running beats starting", account: []string{"w1:creating", "w2:running"}, wantID: "w2",
			wantText: []string{"(the only running widget in the account)"}},
		{name: "none at all", account: nil,
			wantText: []string{"widget_get needs a widget id (argument id): none was given, this session has no current widget, and the account has no running widget. Pass id (widget_list lists them), or create one with widget_create."}},
		{name: "none running: the others are candidates", account: []string{"w1:error"},
			wantText: []string{"the account has no running widget. Candidates: w1 (name-w1, error). Pass id"}},
		{name: "two running", account: []string{"w1:running", "w2:running", "w3:error"},
			wantText: []string{"the account has 2 running widgets, so none was picked. Candidates: w1 (name-w1, running); w2 (name-w2, running); w3 (name-w3, error). Pass id (widget_list lists them), or create one with widget_create."}},
		{name: "two starting", account: []string{"w1:creating", "w2:creating"},
			wantText: []string{"no running widget but 2 on their way, so none was picked. Candidates: w1 (name-w1, creating); w2"}},
		{name: "candidates capped at 10", account: many,
			wantText: []string{"has 12 running widgets", "w09 (name-w09, running) and more. Pass id"}, notText: []string{"w10"}},
		{name: "a further page is said", account: []string{"w1:running", "w2:running"}, cursor: "c2",
			wantText: []string{"w2 (name-w2, running) and more"}},
		{name: "an id no path could carry is no candidate", account: []string{"../x:running", "w1:running"}, wantID: "w1"},
	}
	for _, tr := range resourceClients {
		for _, tc := range cases {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				acct := &widgetAccount{widgets: widgets(tc.account...), cursor: tc.cursor}
				c, up := resourceClient(t, tr.stdio, acct)
				res := testsupport.MustCall(t, c, "widget_get", map[string]any{})
				text := testsupport.ResultText(res)
				reqs := up.Requests()
				if len(reqs) == 0 || reqs[0].Path != "/api/v1/widgets" || reqs[0].Query.Get("limit") != fmt.Sprint(runtime.ResourceListSize) {
					t.Fatalf("first request %+v, want one list of %d", reqs, runtime.ResourceListSize)
				}
				if tc.wantID == "" {
					if !res.IsError || len(reqs) != 1 {
						t.Fatalf("want a refusal after the list alone, got %d requests, error %v: %s", len(reqs), res.IsError, text)
					}
				} else {
					if res.IsError || len(reqs) != 2 || reqs[1].Path != "/api/v1/widgets/"+tc.wantID {
						t.Fatalf("want widget %s got, requests %+v: %s", tc.wantID, reqs, text)
					}
					if !strings.HasPrefix(firstLine(res), "Used widget "+tc.wantID+" (") {
						t.Errorf("first line %q", firstLine(res))
					}
					// structuredContent is the answer, unchanged.
					if got := structured(t, res); got["data"].(map[string]any)["id"] != tc.wantID {
						t.Errorf("structuredContent %v", got)
					}
				}
				for _, w := range tc.wantText {
					if !strings.Contains(text, w) {
						t.Errorf("text lacks %q:\n%s", w, text)
					}
				}
				for _, w := range tc.notText {
					if strings.Contains(text, w) {
						t.Errorf("text has %q:\n%s", w, text)
					}
				}
			})
		}
	}
}

// TestSessionRemembersResources: over stdio the session's current widget
// is the one it most recently created or used with success, with no list
// call; over HTTP nothing is remembered. A 404 on the remembered one
// forgets it, and a deleted one is forgotten too.
func TestSessionRemembersResources(t *testing.T) {
	for _, tr := range resourceClients {
		t.Run(tr.name, func(t *testing.T) {
			acct := &widgetAccount{widgets: widgets("w1:running", "w2:running")}
			c, up := resourceClient(t, tr.stdio, acct)
			call := func(tool string, args map[string]any) (*mcp.CallToolResult, []testsupport.Recorded) {
				n := len(up.Requests())
				res := testsupport.MustCall(t, c, tool, args)
				return res, up.Requests()[n:]
			}
			// Created: the create tool's answer id becomes current.
			if res, _ := call("widget_create", map[string]any{"name": "n"}); res.IsError {
				t.Fatalf("create: %s", testsupport.ResultText(res))
			}
			res, reqs := call("widget_get", map[string]any{})
			if !tr.stdio {
				// Three widgets, two running: HTTP has no session to ask.
				if !res.IsError || !strings.Contains(testsupport.ResultText(res), "the account has 2 running widgets") {
					t.Fatalf("HTTP: %s", testsupport.ResultText(res))
				}
				return
			}
			if res.IsError || len(reqs) != 1 || reqs[0].Path != "/api/v1/widgets/w-new1" {
				t.Fatalf("after create: %+v %s", reqs, testsupport.ResultText(res))
			}
			if got := firstLine(res); got != "Used widget w-new1 (the most recent one in this session)." {
				t.Errorf("first line %q", got)
			}
			// Used: an explicit id that succeeded becomes current.
			call("widget_get", map[string]any{"id": "w2"})
			if _, reqs := call("widget_screenshot", map[string]any{}); len(reqs) != 1 || reqs[0].Path != "/api/v1/widgets/w2/screenshot" {
				t.Fatalf("after using w2: %+v", reqs)
			}
			// An explicit id that failed does not.
			if res, _ := call("widget_get", map[string]any{"id": "gone"}); !res.IsError || !strings.Contains(testsupport.ResultText(res), "widget ids come from widget_create or widget_list") {
				t.Fatalf("404 advice: %s", testsupport.ResultText(res))
			}
			if _, reqs := call("widget_get", map[string]any{}); len(reqs) != 1 || reqs[0].Path != "/api/v1/widgets/w2" {
				t.Fatalf("a failed id became current: %+v", reqs)
			}
			// The current one is gone: 404, and it is forgotten.
			acct.mu.Lock()
			acct.widgets = widgets("w1:running")
			acct.mu.Unlock()
			res, _ = call("widget_get", map[string]any{})
			if text := testsupport.ResultText(res); !res.IsError || !strings.HasPrefix(text, "Used widget w2 (the most recent one in this session).\n") || !strings.Contains(text, "404") {
				t.Fatalf("stale current: %s", text)
			}
			res, reqs = call("widget_get", map[string]any{})
			if res.IsError || len(reqs) != 2 || reqs[0].Path != "/api/v1/widgets" || firstLine(res) != "Used widget w1 (the only running widget in the account)." {
				t.Fatalf("after the 404: %+v %s", reqs, testsupport.ResultText(res))
			}
			// A deleted one is no longer current.
			if res, _ := call("widget_delete", map[string]any{"id": "w1"}); res.IsError {
				t.Fatalf("delete: %s", testsupport.ResultText(res))
			}
			if _, reqs := call("widget_get", map[string]any{}); len(reqs) == 0 || reqs[0].Path != "/api/v1/widgets" {
				t.Fatalf("a deleted widget stayed current: %+v", reqs)
			}
		})
	}
}

// TestDestructiveToolsNeverGuess: a DELETE (fallback none) keeps its id
// required, says why and which tool lists the ids, and sends nothing.
func TestDestructiveToolsNeverGuess(t *testing.T) {
	for _, tr := range resourceClients {
		t.Run(tr.name, func(t *testing.T) {
			acct := &widgetAccount{widgets: widgets("w1:running")}
			c, up := resourceClient(t, tr.stdio, acct)
			testsupport.MustCall(t, c, "widget_get", map[string]any{"id": "w1"}) // current over stdio
			n := len(up.Requests())
			res := testsupport.MustCall(t, c, "widget_delete", map[string]any{})
			want := "missing required argument id (widget_delete never picks a widget for you: tools that destroy, delete, stop, restore, roll back or detach need an explicit id; widget_list lists them)"
			if !res.IsError || !strings.Contains(testsupport.ResultText(res), want) {
				t.Errorf("got %s", testsupport.ResultText(res))
			}
			if len(up.Requests()) != n {
				t.Errorf("a request was sent: %+v", up.Requests()[n:])
			}
		})
	}
}

// TestLookupFailure: the list call that looks for an omitted id fails:
// the error says why it was called, then words the list's failure.
func TestLookupFailure(t *testing.T) {
	for _, tr := range resourceClients {
		t.Run(tr.name, func(t *testing.T) {
			acct := &widgetAccount{listStatus: http.StatusForbidden}
			c, up := resourceClient(t, tr.stdio, acct)
			res := testsupport.MustCall(t, c, "widget_get", map[string]any{})
			want := "widget_get was called without id, so widget_list was called to find the widget, and it failed: MIOSA API error from widget_list: HTTP 403 Forbidden (FORBIDDEN): no list scope."
			if text := testsupport.ResultText(res); !res.IsError || !strings.HasPrefix(text, want) || !strings.Contains(text, "lacks the scope widget_list needs") {
				t.Errorf("got %s", text)
			}
			if n := len(up.Requests()); n != 1 {
				t.Errorf("%d requests, want the list alone", n)
			}
		})
	}
}

// TestUsedLineBeforeAnImage: an image result gets the line as a text block
// before the image.
func TestUsedLineBeforeAnImage(t *testing.T) {
	acct := &widgetAccount{widgets: widgets("w1:running")}
	c, _ := resourceClient(t, false, acct)
	res := testsupport.MustCall(t, c, "widget_screenshot", map[string]any{})
	if res.IsError || len(res.Content) != 2 {
		t.Fatalf("%d blocks: %s", len(res.Content), testsupport.ResultText(res))
	}
	if tc, ok := res.Content[0].(mcp.TextContent); !ok || tc.Text != "Used widget w1 (the only running widget in the account)." {
		t.Errorf("first block %#v", res.Content[0])
	}
	if _, ok := res.Content[1].(mcp.ImageContent); !ok {
		t.Errorf("second block %#v", res.Content[1])
	}
}

// TestResourceContextScrubsTheKey: an API that echoes the key in the
// answer of a call whose id was picked still leaks nothing (the client's
// key scanner checks every message), and the picked id is sent with the
// key only to the API host.
func TestResourceContextScrubsTheKey(t *testing.T) {
	for _, tr := range resourceClients {
		t.Run(tr.name, func(t *testing.T) {
			acct := &widgetAccount{widgets: widgets("w1:running"), echoKey: true}
			c, up := resourceClient(t, tr.stdio, acct)
			res := testsupport.MustCall(t, c, "widget_get", map[string]any{})
			b, _ := json.Marshal(res)
			if res.IsError || strings.Contains(string(b), testKey) || strings.Contains(string(b), "msk_u_local_test_key") {
				t.Fatalf("%s", b)
			}
			for _, r := range up.Requests() {
				if r.Header.Get("Authorization") == "" {
					t.Errorf("%s sent without the key", r.Path)
				}
			}
		})
	}
}
