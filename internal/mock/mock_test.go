package mock

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"sort"
	"strings"
	"testing"
)

// step is one request of the every-operation scenario. {name} in path and
// body is replaced by the value saved under that name by an earlier step.
type step struct {
	op     string // the operationId this request must reach
	method string
	path   string // relative to BasePath
	body   any    // nil, string (JSON with placeholders) or []byte (octet-stream)
	want   int    // expected status; 0 means 200
	save   map[string]string
	check  check
}

// check inspects a step's response; subst resolves {name} placeholders in
// expected values.
type check func(t *testing.T, r *result, subst func(string) string)

// everyOperation drives the whole API once, parents before children, so
// that every operation answers a valid request with a 2xx.
var everyOperation = []step{
	// Workspaces
	{op: "createWorkspace", method: "POST", path: "/workspaces", body: `{"name":"Team A","description":"first"}`, save: map[string]string{"ws": "data.id"}},
	{op: "listWorkspaces", method: "GET", path: "/workspaces?page=1&per_page=10", check: wantLen("data", 1)},
	{op: "getWorkspace", method: "GET", path: "/workspaces/{ws}", check: wantField("data.slug", "team-a")},
	{op: "updateWorkspace", method: "PATCH", path: "/workspaces/{ws}", body: `{"description":"renamed","metadata":{"k":"v"}}`, check: wantField("data.description", "renamed")},
	{op: "getWorkspaceStats", method: "GET", path: "/workspaces/{ws}/stats"},
	{op: "getWorkspaceUsage", method: "GET", path: "/workspaces/{ws}/usage?period=2026-03"},

	// Computers
	{op: "createComputer", method: "POST", path: "/computers", body: `{"name":"dev box","size":"medium","workspace_id":"{ws}","metadata":{"team":"a"}}`, save: map[string]string{"cmp": "data.id"}},
	{op: "listComputers", method: "GET", path: "/computers?status=running&workspace_id={ws}&page=1&per_page=5", check: wantLen("data", 1)},
	{op: "getComputer", method: "GET", path: "/computers/{cmp}", check: wantField("data.status", "running")},
	{op: "updateComputer", method: "PATCH", path: "/computers/{cmp}", body: `{"name":"dev box 2"}`, check: wantField("data.name", "dev box 2")},
	{op: "stopComputer", method: "POST", path: "/computers/{cmp}/stop", check: wantField("data.status", "stopped")},
	{op: "startComputer", method: "POST", path: "/computers/{cmp}/start", check: wantField("data.status", "running")},
	{op: "restartComputer", method: "POST", path: "/computers/{cmp}/restart", check: wantField("data.status", "running")},
	{op: "getComputerLogs", method: "GET", path: "/computers/{cmp}/logs?lines=2", check: wantLen("data.lines", 2)},

	// Desktop
	{op: "desktopScreenshot", method: "GET", path: "/computers/{cmp}/desktop/screenshot", check: wantPNG},
	{op: "desktopClick", method: "POST", path: "/computers/{cmp}/desktop/click", body: `{"x":10,"y":20,"button":"right"}`},
	{op: "desktopDoubleClick", method: "POST", path: "/computers/{cmp}/desktop/double-click", body: `{"x":11,"y":21}`},
	{op: "desktopType", method: "POST", path: "/computers/{cmp}/desktop/type", body: `{"text":"hello","delay":5}`},
	{op: "desktopKey", method: "POST", path: "/computers/{cmp}/desktop/key", body: `{"key":"Return"}`},
	{op: "desktopHotkey", method: "POST", path: "/computers/{cmp}/desktop/hotkey", body: `{"keys":["ctrl","c"]}`},
	{op: "desktopKeyDown", method: "POST", path: "/computers/{cmp}/desktop/key-down", body: `{"key":"shift"}`},
	{op: "desktopKeyUp", method: "POST", path: "/computers/{cmp}/desktop/key-up", body: `{"key":"shift"}`},
	{op: "desktopScroll", method: "POST", path: "/computers/{cmp}/desktop/scroll", body: `{"direction":"up","clicks":2,"x":5,"y":6}`},
	{op: "desktopDrag", method: "POST", path: "/computers/{cmp}/desktop/drag", body: `{"from_x":1,"from_y":2,"to_x":30,"to_y":40}`},
	{op: "desktopMoveCursor", method: "POST", path: "/computers/{cmp}/desktop/move", body: `{"x":100,"y":200}`},
	{op: "desktopGetCursorPosition", method: "GET", path: "/computers/{cmp}/desktop/cursor", check: wantField("data.x", 100.0)},
	{op: "desktopMouseDown", method: "POST", path: "/computers/{cmp}/desktop/mouse-down", body: `{"x":3,"y":4}`},
	{op: "desktopMouseUp", method: "POST", path: "/computers/{cmp}/desktop/mouse-up", body: `{"x":3,"y":4,"button":"left"}`},
	{op: "desktopWait", method: "POST", path: "/computers/{cmp}/desktop/wait", body: `{"seconds":0.5}`},
	{op: "desktopLaunch", method: "POST", path: "/computers/{cmp}/desktop/launch", body: `{"app_name":"firefox"}`},
	{op: "desktopListWindows", method: "GET", path: "/computers/{cmp}/desktop/windows", check: wantLen("data", 2), save: map[string]string{"win": "data.0.id"}},
	{op: "desktopFocusWindow", method: "POST", path: "/computers/{cmp}/desktop/window/focus", body: `{"window_id":"{win}"}`},
	{op: "desktopResizeWindow", method: "POST", path: "/computers/{cmp}/desktop/window/{win}/resize", body: `{"width":640,"height":480}`},
	{op: "desktopMoveWindow", method: "POST", path: "/computers/{cmp}/desktop/window/{win}/move", body: `{"x":-5,"y":10}`},
	{op: "desktopMaximizeWindow", method: "POST", path: "/computers/{cmp}/desktop/window/{win}/maximize"},
	{op: "desktopMinimizeWindow", method: "POST", path: "/computers/{cmp}/desktop/window/{win}/minimize"},
	{op: "desktopCloseWindow", method: "POST", path: "/computers/{cmp}/desktop/window/{win}/close"},
	{op: "desktopGetScreenSize", method: "GET", path: "/computers/{cmp}/desktop/screen-size", check: wantField("data.width", 1024.0)},
	{op: "desktopSetClipboard", method: "POST", path: "/computers/{cmp}/desktop/clipboard", body: `{"text":"copied"}`},
	{op: "desktopGetClipboard", method: "GET", path: "/computers/{cmp}/desktop/clipboard", check: wantField("data.text", "copied")},
	{op: "desktopGetEnvironment", method: "GET", path: "/computers/{cmp}/desktop/environment"},
	{op: "desktopSetWallpaper", method: "POST", path: "/computers/{cmp}/desktop/wallpaper", body: `{"path":"/home/user/bg.png"}`},
	{op: "desktopAccessibilityTree", method: "GET", path: "/computers/{cmp}/desktop/accessibility-tree", check: wantField("data.role", "desktop frame")},

	// Shell and files on the computer
	{op: "execComputer", method: "POST", path: "/computers/{cmp}/exec", body: `{"command":"echo hi","timeout":5}`, check: wantField("data.stdout", "hi\n")},
	{op: "writeComputerFile", method: "POST", path: "/computers/{cmp}/files/write", body: `{"path":"/home/user/notes.txt","content":"aGVsbG8=","encoding":"base64"}`},
	{op: "downloadComputerFile", method: "GET", path: "/computers/{cmp}/files/download?path=%2Fhome%2Fuser%2Fnotes.txt", check: wantBody("hello")},
	{op: "listComputerFiles", method: "GET", path: "/computers/{cmp}/files?path=/home/user", check: wantContains("notes.txt")},
	{op: "statComputerFile", method: "POST", path: "/computers/{cmp}/files/stat", body: `{"path":"/home/user/notes.txt"}`, check: wantField("data.size", 5.0)},
	{op: "mkdirComputerFile", method: "POST", path: "/computers/{cmp}/files/mkdir", body: `{"path":"/home/user/a/b"}`},
	{op: "renameComputerFile", method: "POST", path: "/computers/{cmp}/files/rename", body: `{"from":"/home/user/notes.txt","to":"/home/user/a/notes.txt"}`},
	{op: "copyComputerFile", method: "POST", path: "/computers/{cmp}/files/copy", body: `{"from":"/home/user/a","to":"/home/user/c","recursive":true}`},
	{op: "deleteComputerFile", method: "DELETE", path: "/computers/{cmp}/files?path=/home/user/c", want: 204},

	// Checkpoints
	{op: "createCheckpoint", method: "POST", path: "/computers/{cmp}/snapshots", body: `{"comment":"before upgrade"}`, save: map[string]string{"snap": "data.id"}},
	{op: "listCheckpoints", method: "GET", path: "/computers/{cmp}/snapshots", check: wantLen("data", 1)},
	{op: "restoreCheckpoint", method: "POST", path: "/computers/{cmp}/restore/{snap}", save: map[string]string{"restored": "data.id"}},
	{op: "deleteCheckpoint", method: "DELETE", path: "/computers/{cmp}/snapshots/{snap}", check: wantField("data.status", "deleted")},

	// Services
	{op: "createService", method: "POST", path: "/computers/{cmp}/services", body: `{"name":"web","command":"python3 -m http.server 8000","port":8000,"env":{"A":"1"},"restart_policy":"on-failure"}`, save: map[string]string{"svc": "data.id"}},
	{op: "listServices", method: "GET", path: "/computers/{cmp}/services", check: wantLen("data", 1)},
	{op: "stopService", method: "POST", path: "/computers/{cmp}/services/{svc}/stop", check: wantField("data.status", "stopped")},
	{op: "startService", method: "POST", path: "/computers/{cmp}/services/{svc}/start", check: wantField("data.status", "running")},
	{op: "restartService", method: "POST", path: "/computers/{cmp}/services/{svc}/restart"},
	{op: "getServiceLogs", method: "GET", path: "/computers/{cmp}/services/{svc}/logs?lines=10&follow=false"},
	{op: "deleteService", method: "DELETE", path: "/computers/{cmp}/services/{svc}", want: 204},

	// Env, domains
	{op: "setComputerEnv", method: "POST", path: "/computers/{cmp}/env", body: `{"name":"FOO","value":"bar"}`},
	{op: "listComputerEnv", method: "GET", path: "/computers/{cmp}/env", check: wantField("data.0.value", "bar")},
	{op: "deleteComputerEnv", method: "DELETE", path: "/computers/{cmp}/env/FOO", want: 204},
	{op: "addComputerDomain", method: "POST", path: "/computers/{cmp}/domains", body: `{"fqdn":"app.example.com"}`, save: map[string]string{"dom": "data.id"}},
	{op: "listComputerDomains", method: "GET", path: "/computers/{cmp}/domains", check: wantLen("data", 1)},
	{op: "deleteComputerDomain", method: "DELETE", path: "/computers/{cmp}/domains/{dom}", want: 204},

	// Network policy, ports
	{op: "getNetworkPolicy", method: "GET", path: "/computers/{cmp}/network-policy", check: wantField("data.default_effect", "allow")},
	{op: "setNetworkPolicy", method: "PUT", path: "/computers/{cmp}/network-policy", body: `{"rules":[{"effect":"deny","destination":"10.0.0.0/8","ports":"22"}],"default_effect":"allow"}`, check: wantField("data.rules.0.protocol", "any")},
	{op: "resetNetworkPolicy", method: "DELETE", path: "/computers/{cmp}/network-policy", want: 204},
	{op: "exposeComputerPort", method: "POST", path: "/computers/{cmp}/ports", body: `{"port":8080}`},
	{op: "listComputerPorts", method: "GET", path: "/computers/{cmp}/ports", check: wantLen("data", 1)},
	{op: "getComputerPortUrl", method: "GET", path: "/computers/{cmp}/ports/8080/url"},

	// Volumes
	{op: "createVolume", method: "POST", path: "/volumes", body: `{"name":"data","size_gb":20}`, save: map[string]string{"vol": "data.id"}},
	{op: "listVolumes", method: "GET", path: "/volumes?status=available&limit=10", check: wantLen("data", 1)},
	{op: "attachVolume", method: "POST", path: "/computers/{cmp}/volumes", body: `{"volume_id":"{vol}","mount_path":"/mnt/data"}`, save: map[string]string{"att": "data.id"}},
	{op: "detachVolume", method: "DELETE", path: "/computers/{cmp}/volumes/{att}", want: 204},
	{op: "deleteVolume", method: "DELETE", path: "/volumes/{vol}", want: 204},

	// Sandboxes
	{op: "listSandboxTemplates", method: "GET", path: "/sandbox-templates?include_aliases=true"},
	{op: "createSandboxTemplate", method: "POST", path: "/sandbox-templates", body: `{"name":"My Py","build_spec":{"base":"python","packages":["numpy"]}}`},
	{op: "createSandbox", method: "POST", path: "/sandboxes", body: `{"name":"scratch","tags":["demo","ci"],"env":{"GREETING":"hi"},"external_user_id":"u1"}`, save: map[string]string{"sbx": "data.id"}},
	{op: "listSandboxes", method: "GET", path: "/sandboxes?state=running&tags=demo,ci&external_user_id=u1", check: wantLen("data", 1)},
	{op: "getSandbox", method: "GET", path: "/sandboxes/{sbx}", check: wantField("data.state", "running")},
	{op: "execSandbox", method: "POST", path: "/sandboxes/{sbx}/exec", body: `{"command":"echo $GREETING && pwd","env":{"X":"1"}}`, check: wantField("data.stdout", "hi\n/workspace\n")},
	{op: "writeSandboxFile", method: "POST", path: "/sandboxes/{sbx}/files", body: `{"path":"/workspace/app.py","content":"` + base64.StdEncoding.EncodeToString([]byte("print('hi')\n")) + `"}`},
	{op: "listSandboxFiles", method: "GET", path: "/sandboxes/{sbx}/files?path=/workspace&depth=2", check: wantContains("app.py")},
	{op: "readSandboxFile", method: "GET", path: "/sandboxes/{sbx}/files/workspace%2Fapp.py", check: wantBody("print('hi')\n")},
	{op: "createSandboxSnapshot", method: "POST", path: "/sandboxes/{sbx}/snapshots", body: `{"comment":"clean","keep":true}`, save: map[string]string{"ssnap": "data.id"}},
	{op: "listSandboxSnapshots", method: "GET", path: "/sandboxes/{sbx}/snapshots", check: wantLen("data", 1)},
	{op: "restoreSandboxSnapshot", method: "POST", path: "/sandboxes/{sbx}/restore/{ssnap}"},
	{op: "getSandboxLogs", method: "GET", path: "/sandboxes/{sbx}/logs?lines=50&since=2020-01-01T00:00:00Z"},
	{op: "exposeSandboxPort", method: "POST", path: "/sandboxes/{sbx}/expose", body: `{"port":5173}`},
	{op: "pauseSandbox", method: "POST", path: "/sandboxes/{sbx}/pause", check: wantField("data.state", "paused")},
	{op: "resumeSandbox", method: "POST", path: "/sandboxes/{sbx}/resume", check: wantField("data.state", "running")},
	{op: "deploySandbox", method: "POST", path: "/sandboxes/{sbx}/deploy", body: `{"name":"site","port":3000}`},

	// Deployments
	{op: "createDeployment", method: "POST", path: "/deployments", body: `{"name":"api","source_type":"sandbox"}`, save: map[string]string{"dep": "data.id"}},
	{op: "listDeployments", method: "GET", path: "/deployments?limit=1", check: wantLen("data", 1)},
	{op: "getDeployment", method: "GET", path: "/deployments/{dep}", check: wantField("data.state", "pending")},
	{op: "publishDeployment", method: "POST", path: "/deployments/{dep}/publish", body: `{"source_sandbox_id":"{sbx}","output_path":"dist"}`, save: map[string]string{"ver1": "data.version.id"}},
	{op: "publishDeployment", method: "POST", path: "/deployments/{dep}/publish", body: `{"source_sandbox_id":"{sbx}"}`, save: map[string]string{"ver2": "data.version.id"}},
	{op: "listDeploymentVersions", method: "GET", path: "/deployments/{dep}/versions", check: wantLen("data", 2)},
	{op: "rollbackDeployment", method: "POST", path: "/deployments/{dep}/rollback", body: `{}`, check: wantField("data.active_version_id", "{ver1}")},
	{op: "promoteDeploymentVersion", method: "POST", path: "/deployments/{dep}/versions/{ver2}/promote", body: `{"environment":"production"}`, check: wantField("data.active_version_id", "{ver2}")},
	{op: "setDeploymentEnv", method: "POST", path: "/deployments/{dep}/env", body: `{"key":"PORT","value":"3000"}`},
	{op: "listDeploymentEnv", method: "GET", path: "/deployments/{dep}/env", check: wantField("data.PORT", "3000")},
	{op: "getDeploymentLogs", method: "GET", path: "/deployments/{dep}/logs"},
	{op: "deleteDeployment", method: "DELETE", path: "/deployments/{dep}", want: 204},

	// Storage
	{op: "createBucket", method: "POST", path: "/storage/buckets", body: `{"name":"assets","public":true}`, save: map[string]string{"bkt": "data.id"}},
	{op: "listBuckets", method: "GET", path: "/storage/buckets", check: wantLen("data", 1)},
	{op: "uploadObject", method: "PUT", path: "/storage/buckets/assets/objects/img%2Flogo.png", body: []byte{0x89, 'P', 'N', 'G', 0, 1, 2}, check: wantField("data.content_type", "image/png")},
	{op: "listObjects", method: "GET", path: "/storage/buckets/{bkt}/objects?prefix=img/&limit=10", check: wantField("data.0.key", "img/logo.png")},
	{op: "downloadObject", method: "GET", path: "/storage/buckets/{bkt}/objects/img%2Flogo.png", check: wantBody("\x89PNG\x00\x01\x02")},
	{op: "presignObject", method: "POST", path: "/storage/buckets/{bkt}/presign", body: `{"key":"img/logo.png","expires_in_sec":60}`},
	{op: "deleteObject", method: "DELETE", path: "/storage/buckets/{bkt}/objects/img%2Flogo.png", want: 204},
	{op: "deleteBucket", method: "DELETE", path: "/storage/buckets/{bkt}", want: 204},

	// Databases
	{op: "createDatabase", method: "POST", path: "/databases", body: `{"name":"main","engine":"mysql","size_gb":5}`, save: map[string]string{"db": "data.id"}},
	{op: "listDatabases", method: "GET", path: "/databases?status=running&limit=5", check: wantLen("data", 1)},
	{op: "getDatabase", method: "GET", path: "/databases/{db}", check: wantField("data.port", 3306.0)},
	{op: "getDatabaseCredentials", method: "GET", path: "/databases/{db}/credentials"},
	{op: "getDatabaseLogs", method: "GET", path: "/databases/{db}/logs?lines=1", check: wantLen("data.lines", 1)},
	{op: "deleteDatabase", method: "DELETE", path: "/databases/{db}", want: 204},

	// Cron
	{op: "createCronJob", method: "POST", path: "/cron-jobs", body: `{"schedule":"*/5 * * * *","command":"cat app.py","sandbox_id":"{sbx}"}`, save: map[string]string{"cron": "data.id"}},
	{op: "listCronJobs", method: "GET", path: "/cron-jobs?status=active", check: wantLen("data", 1)},
	{op: "pauseCronJob", method: "POST", path: "/cron-jobs/{cron}/pause", check: wantField("data.paused", true)},
	{op: "resumeCronJob", method: "POST", path: "/cron-jobs/{cron}/resume", check: wantField("data.status", "active")},
	{op: "runCronJob", method: "POST", path: "/cron-jobs/{cron}/run-now", check: wantField("data.output", "print('hi')\n")},
	{op: "deleteCronJob", method: "DELETE", path: "/cron-jobs/{cron}", want: 204},

	// Webhooks, functions, API keys
	{op: "createWebhook", method: "POST", path: "/webhooks", body: `{"url":"https://example.com/hook","events":["computer.created"]}`, save: map[string]string{"wh": "data.id"}},
	{op: "listWebhooks", method: "GET", path: "/webhooks?active=true", check: wantLen("data", 1)},
	{op: "testWebhook", method: "POST", path: "/webhooks/{wh}/test", check: wantField("data.success", true)},
	{op: "deleteWebhook", method: "DELETE", path: "/webhooks/{wh}", want: 204},
	{op: "createFunction", method: "POST", path: "/functions", body: `{"name":"hello","runtime":"python3.12","code":"def handler(e, c): return e"}`, save: map[string]string{"fn": "data.id"}},
	{op: "listFunctions", method: "GET", path: "/functions?status=deployed", check: wantLen("data", 1)},
	{op: "invokeFunction", method: "POST", path: "/functions/{fn}/invoke", body: `{"payload":{"n":1}}`, check: wantField("data.status_code", 200.0)},
	{op: "deleteFunction", method: "DELETE", path: "/functions/{fn}", want: 204},
	{op: "createApiKey", method: "POST", path: "/api-keys", body: `{"name":"ci","scopes":["sandboxes:write"],"expires_at":"2030-01-01T00:00:00Z"}`, save: map[string]string{"key": "data.id"}},
	{op: "listApiKeys", method: "GET", path: "/api-keys", check: wantField("data.0.token", nil)},
	{op: "deleteApiKey", method: "DELETE", path: "/api-keys/{key}", want: 204},

	// Account
	{op: "getBillingUsage", method: "GET", path: "/billing/usage"},
	{op: "getBillingPlan", method: "GET", path: "/billing/plan"},
	{op: "listRegions", method: "GET", path: "/compute/regions"},
	{op: "getSettings", method: "GET", path: "/settings"},
	{op: "updateBranding", method: "PUT", path: "/settings/branding", body: `{"app_name":"Acme","primary_color":"#ff0000"}`},
	{op: "getBranding", method: "GET", path: "/settings/branding", check: wantField("data.app_name", "Acme")},
	{op: "getComputePricing", method: "GET", path: "/settings/compute-pricing"},

	// Teardown
	{op: "deleteSandbox", method: "DELETE", path: "/sandboxes/{sbx}", check: wantField("data.state", "destroyed")},
	{op: "deleteComputer", method: "DELETE", path: "/computers/{restored}", want: 204},
	{op: "deleteComputer", method: "DELETE", path: "/computers/{cmp}", want: 204},
}

// TestEveryOperation runs the scenario and then checks, against the
// operation list read from the spec itself, that every operation has a
// handler and was answered successfully with a spec-conformant response:
// a new operation in the spec fails this test until the mock covers it.
func TestEveryOperation(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: Immediately})
	vars := map[string]string{}
	subst := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	for i, st := range everyOperation {
		body := st.body
		if s, isStr := body.(string); isStr {
			body = subst(s)
		}
		r := h.do(st.method, BasePath+subst(st.path), body)
		want := st.want
		if want == 0 {
			want = 200
		}
		if r.op != st.op {
			t.Fatalf("step %d: %s %s reached %q, want %q", i, st.method, st.path, r.op, st.op)
		}
		if r.status != want {
			t.Fatalf("step %d (%s): status %d, want %d\n%s", i, st.op, r.status, want, truncate(r.body))
		}
		for name, path := range st.save {
			if vars[name] = r.str(path); vars[name] == "" {
				t.Fatalf("step %d (%s): nothing at %s to save as %s\n%s", i, st.op, path, name, truncate(r.body))
			}
		}
		if st.check != nil {
			st.check(t, r, subst)
		}
	}
	var missing, noHandler []string
	funcs := handlers()
	for _, op := range specOperations(t) {
		if !h.covered[op] {
			missing = append(missing, op)
		}
		if funcs[op] == nil {
			noHandler = append(noHandler, op)
		}
	}
	sort.Strings(missing)
	if len(noHandler) > 0 {
		t.Errorf("operations without a mock handler: %v", noHandler)
	}
	if len(missing) > 0 {
		t.Errorf("operations not exercised with a 2xx by the scenario: %v", missing)
	}
	if n := len(specOperations(t)); n != len(funcs) {
		t.Errorf("spec has %d operations, the mock registers %d handlers", n, len(funcs))
	}
}

func wantField(path string, want any) check {
	return func(t *testing.T, r *result, subst func(string) string) {
		t.Helper()
		expected := want
		if ws, isStr := want.(string); isStr {
			expected = subst(ws)
		}
		if got := r.get(path); got != expected {
			t.Errorf("%s: %s = %#v, want %#v", r.op, path, got, expected)
		}
	}
}

func wantLen(path string, n int) check {
	return func(t *testing.T, r *result, _ func(string) string) {
		t.Helper()
		if got := len(r.list(path)); got != n {
			t.Errorf("%s: len(%s) = %d, want %d\n%s", r.op, path, got, n, truncate(r.body))
		}
	}
}

func wantBody(want string) check {
	return func(t *testing.T, r *result, _ func(string) string) {
		t.Helper()
		if string(r.body) != want {
			t.Errorf("%s: body = %q, want %q", r.op, r.body, want)
		}
	}
}

func wantContains(s string) check {
	return func(t *testing.T, r *result, _ func(string) string) {
		t.Helper()
		if !bytes.Contains(r.body, []byte(s)) {
			t.Errorf("%s: body does not contain %q: %s", r.op, s, truncate(r.body))
		}
	}
}

func wantPNG(t *testing.T, r *result, _ func(string) string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != screenW || b.Dy() != screenH {
		t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), screenW, screenH)
	}
}
