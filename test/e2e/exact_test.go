package e2e_test

import (
	"strings"
)

// exactReq is a hand-written expectation of one upstream request: what the
// MIOSA API must receive, written from the API docs rather than from the
// generated metadata, so a generator bug that the metadata mirrors fails here.
type exactReq struct {
	method      string
	uri         string // escaped path, then ?raw-query exactly as sent (if any)
	json        string // JSON body (compared semantically); "" = no JSON body
	raw         []byte // raw body bytes
	contentType string // Content-Type of a raw body
	idem        bool   // carries an Idempotency-Key
}

type exactCase struct {
	name string
	tool string
	args map[string]any
	want []exactReq
}

var exactCases = []exactCase{
	{
		name: "right click fixes button right",
		tool: "desktop_right_click", args: map[string]any{"computer_id": "cmp_1", "x": 10, "y": 20},
		want: []exactReq{{method: "POST", uri: "/api/v1/computers/cmp_1/desktop/click", json: `{"button":"right","x":10,"y":20}`}},
	},
	{
		name: "computer_create renames template to template_type",
		tool: "computer_create", args: map[string]any{"name": "box", "template": "ubuntu-desktop", "wait": false},
		want: []exactReq{{method: "POST", uri: "/api/v1/computers", json: `{"name":"box","template_type":"ubuntu-desktop"}`}},
	},
	{
		name: "deployment_publish maps camelCase to snake_case",
		tool: "deployment_publish", args: map[string]any{"id": "dep-1", "sourceSandboxId": "sb-9", "outputPath": "dist", "wait": false},
		want: []exactReq{{method: "POST", uri: "/api/v1/deployments/dep-1/publish", json: `{"source_sandbox_id":"sb-9","output_path":"dist"}`, idem: true}},
	},
	{
		name: "cron_create maps sandboxId to sandbox_id",
		tool: "cron_create", args: map[string]any{"command": "echo hi", "schedule": "0 * * * *", "sandboxId": "sb-7"},
		want: []exactReq{{method: "POST", uri: "/api/v1/cron-jobs", json: `{"command":"echo hi","schedule":"0 * * * *","sandbox_id":"sb-7"}`, idem: true}},
	},
	{
		name: "sandbox_write_file base64-encodes content",
		tool: "sandbox_write_file", args: map[string]any{"id": "sb-1", "path": "/tmp/a.txt", "content": "héllo\n"},
		want: []exactReq{{method: "POST", uri: "/api/v1/sandboxes/sb-1/files", json: `{"path":"/tmp/a.txt","content":"aMOpbGxvCg=="}`}},
	},
	{
		name: "sandbox_create without template uses MIOSA_DEFAULT_TEMPLATE",
		tool: "sandbox_create", args: map[string]any{"wait": false},
		want: []exactReq{{method: "POST", uri: "/api/v1/sandboxes", json: `{"template_id":"` + defaultTemplate + `"}`, idem: true}},
	},
	{
		name: "sandbox_create with template sends it as template_id",
		tool: "sandbox_create", args: map[string]any{"template": "python-3.12", "size": "xs"},
		want: []exactReq{{method: "POST", uri: "/api/v1/sandboxes", json: `{"template_id":"python-3.12","size":"xs"}`, idem: true}},
	},
	{
		name: "sandbox_read_file escapes the file path into one segment",
		tool: "sandbox_read_file", args: map[string]any{"id": "sb-1", "path": "workspace/my app.py"},
		want: []exactReq{{method: "GET", uri: "/api/v1/sandboxes/sb-1/files/workspace%2Fmy%20app.py"}},
	},
	{
		name: "storage_object_upload sends raw decoded bytes",
		tool: "storage_object_upload",
		args: map[string]any{"bucket": "bkt", "key": "data/r 1.bin", "content": "AAEC/w==", "encoding": "base64", "content_type": "application/x-e2e"},
		want: []exactReq{{method: "PUT", uri: "/api/v1/storage/buckets/bkt/objects/data%2Fr%201.bin", raw: []byte{0, 1, 2, 0xff}, contentType: "application/x-e2e"}},
	},
	{
		name: "service_logs sends lines and the fixed follow=false",
		tool: "service_logs", args: map[string]any{"computer_id": "c1", "service_id": "s1", "lines": 5},
		want: []exactReq{{method: "GET", uri: "/api/v1/computers/c1/services/s1/logs?follow=false&lines=5"}},
	},
	{
		name: "sandbox_python writes the script then runs it",
		tool: "sandbox_python", args: map[string]any{"id": "sb-1", "code": "print('hi')"},
		want: []exactReq{
			{method: "POST", uri: "/api/v1/sandboxes/sb-1/files", json: `{"path":"/tmp/_mcp_run.py","content":"cHJpbnQoJ2hpJyk="}`},
			{method: "POST", uri: "/api/v1/sandboxes/sb-1/exec", json: `{"command":"python3 /tmp/_mcp_run.py"}`},
		},
	},
	{
		name: "port_preview_url puts the integer port in the path",
		tool: "port_preview_url", args: map[string]any{"computer_id": "c1", "port": 8080},
		want: []exactReq{{method: "GET", uri: "/api/v1/computers/c1/ports/8080/url"}},
	},
	{
		name: "file_delete escapes the path query parameter",
		tool: "file_delete", args: map[string]any{"computer_id": "c1", "path": "/tmp/a b&c"},
		want: []exactReq{{method: "DELETE", uri: "/api/v1/computers/c1/files?path=%2Ftmp%2Fa+b%26c"}},
	},
	{
		name: "workspace_usage sends the period query",
		tool: "workspace_usage", args: map[string]any{"id": "ws-1", "period": "2026-05"},
		want: []exactReq{{method: "GET", uri: "/api/v1/workspaces/ws-1/usage?period=2026-05"}},
	},
}

// refusedCases must be answered isError without any upstream request.
var refusedCases = []struct {
	name, tool string
	args       map[string]any
	text       string // the error text must contain this
}{
	{"hidden fixed argument cannot be passed", "desktop_right_click", map[string]any{"computer_id": "c1", "x": 1, "y": 2, "button": "left"}, "button"},
	{"dot-dot path segment", "sandbox_read_file", map[string]any{"id": "..", "path": "a"}, "id"},
	{"missing required argument", "sandbox_exec", map[string]any{"id": "sb-1"}, "command"},
}

func (e exactReq) wantRequest() wantRequest {
	path, query, _ := strings.Cut(e.uri, "?")
	w := wantRequest{Method: e.method, Path: path, RawQuery: &query, Idempotent: e.idem}
	switch {
	case e.raw != nil:
		w.Raw, w.ContentType = e.raw, e.contentType
	case e.json != "":
		w.JSON = mustDecode(e.json)
	}
	return w
}
