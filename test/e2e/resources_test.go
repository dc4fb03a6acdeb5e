package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// The resource context (issue #11 §1) end to end: the real binary with
// --mock, through mcp-go's client over stdio (a session that remembers)
// and over HTTP (stateless: only the account's running resources count).

// mockSession is a fresh `miosa-mcp --mock` and a client of it.
type mockSession struct {
	t     *testing.T
	c     *client.Client
	stdio bool
}

var transports = []struct {
	name  string
	stdio bool
}{{"stdio", true}, {"http", false}}

func newMockSession(t *testing.T, stdio bool) *mockSession {
	t.Helper()
	bin := testsupport.Binary(t)
	if stdio {
		c, _, _ := testsupport.StdioClient(t, bin, testsupport.StdioOptions{Args: []string{"--mock"}, Env: []string{"MIOSA_LOG_LEVEL=error"}})
		return &mockSession{t: t, c: c, stdio: true}
	}
	testsupport.RegisterKey(app.MockKey)
	s := testsupport.StartHTTP(t, bin, testsupport.HTTPOptions{Args: []string{"--mock"}, Env: []string{"MIOSA_LOG_LEVEL=error"}})
	c, _ := connectHTTP(t, s, httpClientOptions{auth: "Bearer " + app.MockKey})
	return &mockSession{t: t, c: c}
}

// call calls a tool and returns its result and text.
func (s *mockSession) call(name string, args map[string]any) (*mcp.CallToolResult, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := testsupport.CallTool(ctx, s.c, name, args)
	if err != nil {
		s.t.Fatalf("%s: %v", name, err)
	}
	return res, testsupport.ResultText(res)
}

// ok calls a tool that must succeed with text matching want.
func (s *mockSession) ok(name string, args map[string]any, want string) string {
	s.t.Helper()
	res, text := s.call(name, args)
	if res.IsError || !regexp.MustCompile(want).MatchString(text) {
		s.t.Fatalf("%s %v: error %v, want %q in:\n%s", name, args, res.IsError, want, text)
	}
	return text
}

// refused calls a tool that must fail with each of wants in its text.
func (s *mockSession) refused(name string, args map[string]any, wants ...string) string {
	s.t.Helper()
	res, text := s.call(name, args)
	if !res.IsError {
		s.t.Fatalf("%s %v succeeded: %s", name, args, text)
	}
	for _, w := range wants {
		if !strings.Contains(text, w) {
			s.t.Errorf("%s %v: error lacks %q:\n%s", name, args, w, text)
		}
	}
	return text
}

// until repeats a call (a poll) until its text matches want.
func (s *mockSession) until(name string, args map[string]any, want string) string {
	s.t.Helper()
	re := regexp.MustCompile(want)
	var text string
	for range 120 {
		var res *mcp.CallToolResult
		res, text = s.call(name, args)
		if !res.IsError && re.MatchString(text) {
			return text
		}
		time.Sleep(250 * time.Millisecond)
	}
	s.t.Fatalf("%s %v never matched %q; last:\n%s", name, args, want, text)
	return ""
}

var (
	computerIDRE   = regexp.MustCompile(`\bcmp_[0-9a-z]+\b`)
	sandboxIDRE    = regexp.MustCompile(`\bsbx_[0-9a-z]+\b`)
	deploymentIDRE = regexp.MustCompile(`\bdep_[0-9a-z]+\b`)
	databaseIDRE   = regexp.MustCompile(`\bdb_[0-9a-z]+\b`)
	cronIDRE       = regexp.MustCompile(`\bcron_[0-9a-z]+\b`)
	connectionRE   = regexp.MustCompile(`postgres(?:ql)?://[^\s"\\]+`)
)

// TestDocsWorkflowsAsWritten: the four "Usage examples" of the docs page
// (test/clients/workflows.yaml, variant as-written), in order in one
// session, each call with exactly the arguments the docs write (ids the
// docs write as placeholders are taken from earlier results).
func TestDocsWorkflowsAsWritten(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s := newMockSession(t, tr.stdio)

			// Create a computer and take a screenshot.
			cmp := computerIDRE.FindString(s.ok("computer_create", map[string]any{"template": "miosa-desktop", "size": "small"}, `"id":\s*"cmp_`))
			got := s.until("computer_get", map[string]any{}, `"status":\s*"running"`)
			why := "(the most recent one in this session)"
			if !tr.stdio {
				why = "(the only running computer in the account)"
			}
			if !strings.HasPrefix(got, "Used computer "+cmp+" "+why+".\n") {
				t.Errorf("computer_get() first line:\n%s", got)
			}
			res, _ := s.call("desktop_screenshot", map[string]any{})
			if res.IsError || len(res.Content) != 2 {
				t.Fatalf("desktop_screenshot(): %s", testsupport.ResultText(res))
			}
			if tc, ok := res.Content[0].(mcp.TextContent); !ok || tc.Text != "Used computer "+cmp+" "+why+"." {
				t.Errorf("desktop_screenshot() first block %#v", res.Content[0])
			}
			if img, ok := res.Content[1].(mcp.ImageContent); !ok || img.MIMEType != "image/png" {
				t.Errorf("desktop_screenshot() second block %#v", res.Content[1])
			}

			// Deploy a sandbox to production.
			sbx := sandboxIDRE.FindString(s.ok("sandbox_create", map[string]any{"name": "next-app", "wait": true}, `"state":\s*"running"`))
			s.ok("sandbox_exec", map[string]any{"command": "npm run build"}, `"exit_code":\s*0\b`)
			// A composite whose id falls back like any other tool's.
			s.ok("sandbox_python", map[string]any{"code": "print(6*7)"}, `^Used sandbox `+sbx+` `)
			pub := s.ok("deployment_publish", map[string]any{"sourceSandboxId": sbx, "kind": "static", "outputPath": "/workspace/.next/out"}, `Live URL: https://`)
			dep := deploymentIDRE.FindString(pub)
			if !strings.HasPrefix(pub, "Used deployment "+dep+` (created for sandbox `+sbx+` and named "next-app" after it).`) {
				t.Errorf("deployment_publish first line:\n%s", pub)
			}
			// Publishing again goes into the same deployment: the session's
			// (stdio), the one named after the sandbox (HTTP).
			again := s.ok("deployment_publish", map[string]any{"sourceSandboxId": sbx, "kind": "static", "outputPath": "/workspace/.next/out", "wait": true}, `Ready: dep_`)
			if deploymentIDRE.FindString(again) != dep {
				t.Errorf("the second publish used another deployment:\n%s", again)
			}
			s.ok("deployment_list", map[string]any{}, `^\{"data":\[\{"id":"`+dep+`"[^\[]*\}\]`)

			// Set up a cron job.
			// The docs' sandboxId "sbx_..." is the sandbox the job runs in.
			health := sandboxIDRE.FindString(s.ok("sandbox_create", map[string]any{"name": "health", "wait": true}, `"state":\s*"running"`))
			s.ok("sandbox_write_file", map[string]any{"id": health, "path": "/workspace/health-check.sh", "content": "echo healthy\n"}, `"success":\s*true`)
			cron := cronIDRE.FindString(s.ok("cron_create", map[string]any{"schedule": "*/5 * * * *", "command": "bash /workspace/health-check.sh", "sandboxId": health}, `"id":\s*"cron_`))
			s.ok("cron_run_now", map[string]any{"id": cron}, `"status":\s*"succeeded"`)

			// Create a database and get credentials.
			db := databaseIDRE.FindString(s.ok("database_create", map[string]any{"name": "my-app-db", "region": "us-east"}, `"id":\s*"db_`))
			s.until("database_get", map[string]any{}, `"status":\s*"running"`)
			url := connectionRE.FindString(s.ok("database_credentials", map[string]any{"id": db}, `postgres(?:ql)?://`))
			env := s.ok("deployment_env_set", map[string]any{"key": "DATABASE_URL", "value": url}, `"success":\s*true`)
			why = "(the most recent one in this session)"
			if !tr.stdio {
				why = "(the only running deployment in the account)"
			}
			if !strings.HasPrefix(env, "Used deployment "+dep+" "+why+".\n") {
				t.Errorf("deployment_env_set first line:\n%s", env)
			}
			s.ok("deployment_env_list", map[string]any{"id": dep}, `DATABASE_URL`)
		})
	}
}

// TestOmittedIDFallbacks: each way an omitted id is found, and each
// refusal, over both transports.
func TestOmittedIDFallbacks(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name+"/none yet", func(t *testing.T) {
			s := newMockSession(t, tr.stdio)
			s.refused("sandbox_exec", map[string]any{"command": "true"},
				"sandbox_exec needs a sandbox id (argument id): none was given, this session has no current sandbox, and the account has no running sandbox.",
				"Pass id (sandbox_list lists them), or create one with sandbox_create.")
			s.refused("desktop_screenshot", map[string]any{}, "computer_list lists them", "computer_create")
		})
		t.Run(tr.name+"/several running", func(t *testing.T) {
			s := newMockSession(t, tr.stdio)
			a := sandboxIDRE.FindString(s.ok("sandbox_create", map[string]any{"name": "a", "wait": true}, `running`))
			b := sandboxIDRE.FindString(s.ok("sandbox_create", map[string]any{"name": "b", "wait": true}, `running`))
			if tr.stdio {
				// The session's most recent one wins over the account.
				s.ok("sandbox_exec", map[string]any{"command": "true"}, `^Used sandbox `+b+` \(the most recent one in this session\)\.\n`)
				// An explicit id that succeeded becomes the current one.
				s.ok("sandbox_get", map[string]any{"id": a}, `"name":"a"`)
				s.ok("sandbox_exec", map[string]any{"command": "true"}, `^Used sandbox `+a+` `)
				return
			}
			s.refused("sandbox_exec", map[string]any{"command": "true"},
				"the account has 2 running sandboxes, so none was picked. Candidates: "+a+" (a, running); "+b+" (b, running).")
		})
		t.Run(tr.name+"/only running in the account", func(t *testing.T) {
			s := newMockSession(t, tr.stdio)
			a := sandboxIDRE.FindString(s.ok("sandbox_create", map[string]any{"name": "a", "wait": true}, `running`))
			b := sandboxIDRE.FindString(s.ok("sandbox_create", map[string]any{"name": "b", "wait": true}, `running`))
			s.ok("sandbox_pause", map[string]any{"id": a}, `paused|success`)
			// Over stdio the last used (a, now paused) is current; pausing
			// made it so. Destroying it (explicitly) forgets it.
			s.ok("sandbox_resume", map[string]any{"id": a}, `.`)
			s.ok("sandbox_destroy", map[string]any{"id": a}, `.`)
			s.ok("sandbox_exec", map[string]any{"command": "true"}, `^Used sandbox `+b+` \(the only running sandbox in the account\)\.\n`)
		})
		t.Run(tr.name+"/destructive tools never guess", func(t *testing.T) {
			s := newMockSession(t, tr.stdio)
			s.ok("sandbox_create", map[string]any{"name": "a", "wait": true}, `running`)
			for _, tool := range []string{"sandbox_destroy", "sandbox_snapshot_restore"} {
				s.refused(tool, map[string]any{"snapshot_id": "snap_1"}, "missing required argument id ("+tool+" never picks a sandbox for you", "sandbox_list lists them")
			}
			s.ok("computer_create", map[string]any{"template": "miosa-desktop"}, `cmp_`)
			for _, tool := range []string{"computer_destroy", "computer_stop", "computer_restart"} {
				s.refused(tool, map[string]any{}, "missing required argument id ("+tool+" never picks a computer for you", "computer_list lists them")
			}
			s.refused("deployment_rollback", map[string]any{}, "deployment_rollback never picks a deployment for you")
			// The resources are all still there.
			s.ok("sandbox_list", map[string]any{"status": "running"}, `"name":"a"`)
		})
		t.Run(tr.name+"/an unknown id says where ids come from", func(t *testing.T) {
			s := newMockSession(t, tr.stdio)
			s.refused("database_get", map[string]any{"id": "db_nope"}, "HTTP 404", "Check the id: database ids come from database_create or database_list")
		})
	}
}

// TestPublishWithoutDeploymentRequests: deployment_publish without an id,
// over HTTP (no session), as the API receives it: the sandbox's name, one
// page of deployments, then a publish into the one named after the
// sandbox, or a new deployment (with its own Idempotency-Key) named so.
func TestPublishWithoutDeploymentRequests(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing []any
		want     []wantRequest
		first    string
	}{
		{
			name:     "creates one named after the sandbox",
			existing: []any{map[string]any{"id": "dep-other", "name": "other"}},
			want: []wantRequest{
				{Method: "GET", Path: "/api/v1/sandboxes/sb-9"},
				{Method: "GET", Path: "/api/v1/deployments", Query: url.Values{"limit": {"100"}}},
				{Method: "POST", Path: "/api/v1/deployments", JSON: map[string]any{"name": "next-app", "source_type": "sandbox"}, Idempotent: true},
				{Method: "POST", Path: "/api/v1/deployments/dep-new/publish", JSON: map[string]any{"source_sandbox_id": "sb-9", "kind": "static", "output_path": "/workspace/.next/out"}, Idempotent: true},
			},
			first: `Used deployment dep-new (created for sandbox sb-9 and named "next-app" after it).`,
		},
		{
			name:     "reuses the one named after the sandbox",
			existing: []any{map[string]any{"id": "dep-old", "name": "next-app"}, map[string]any{"id": "dep-next", "name": "next-app"}},
			want: []wantRequest{
				{Method: "GET", Path: "/api/v1/sandboxes/sb-9"},
				{Method: "GET", Path: "/api/v1/deployments", Query: url.Values{"limit": {"100"}}},
				{Method: "POST", Path: "/api/v1/deployments/dep-next/publish", JSON: map[string]any{"source_sandbox_id": "sb-9", "kind": "static", "output_path": "/workspace/.next/out"}, Idempotent: true},
			},
			first: `Used deployment dep-next (the deployment named "next-app" after sandbox sb-9).`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			up.respond = func(w http.ResponseWriter, r *http.Request, rec testsupport.Recorded) {
				switch {
				case rec.Path == "/api/v1/sandboxes/sb-9":
					testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{"id": "sb-9", "name": "next-app", "state": "running"}})
				case rec.Path == "/api/v1/deployments" && rec.Method == "GET":
					testsupport.WriteJSON(w, 200, map[string]any{"data": tc.existing})
				case rec.Path == "/api/v1/deployments":
					testsupport.WriteJSON(w, 201, map[string]any{"data": map[string]any{"id": "dep-new", "name": "next-app", "state": "pending"}})
				default:
					id := strings.Split(rec.Path, "/")[4]
					testsupport.WriteJSON(w, 200, map[string]any{"data": map[string]any{
						"deployment": map[string]any{"id": id, "state": "building", "public_url": "https://next-app.example"}, "promoted": true,
					}})
				}
			}
			srv := testsupport.StartHTTP(t, testsupport.Binary(t), testsupport.HTTPOptions{Env: []string{"MIOSA_API_URL=" + up.URL()}})
			c, _ := connectHTTP(t, srv, httpClientOptions{auth: "Bearer " + testKey})
			s := &mockSession{t: t, c: c}
			text := s.ok("deployment_publish", map[string]any{"sourceSandboxId": "sb-9", "kind": "static", "outputPath": "/workspace/.next/out"}, `.`)
			got := up.Take()
			assertRequests(t, got, tc.want, testKey)
			if len(got) == 4 && got[2].Header.Get("Idempotency-Key") == got[3].Header.Get("Idempotency-Key") {
				t.Errorf("the create and the publish share an Idempotency-Key")
			}
			if want := tc.first + "\nLive URL: https://next-app.example (serving once deployment "; !strings.HasPrefix(text, want) {
				t.Errorf("result starts:\n%s\nwant:\n%s", text, want)
			}
		})
	}
}
