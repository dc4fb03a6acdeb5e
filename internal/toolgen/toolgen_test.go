package toolgen

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const module = "github.com/miosa-osa/miosa-mcp"

func fixtureInputs(t *testing.T) Inputs {
	t.Helper()
	spec, err := os.ReadFile("testdata/fixture/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tools, err := os.ReadFile("testdata/fixture/tools.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return Inputs{Spec: spec, Tools: tools, ModulePath: module, OutDir: "internal/toolgen/testdata/golden", Docs: true}
}

// TestGolden regenerates the fixture and compares it with the committed
// output; -update rewrites it. The golden tree must also compile.
func TestGolden(t *testing.T) {
	out, err := Generate(fixtureInputs(t))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	for _, p := range sortedKeys(out.Files) {
		full := filepath.Join(root, p)
		if *update {
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, out.Files[p], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(full)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./internal/toolgen -update)", p, err)
		}
		if diff := cmp.Diff(string(want), string(out.Files[p])); diff != "" {
			t.Errorf("%s differs from golden (-want +got; run go test ./internal/toolgen -update):\n%s", p, diff)
		}
	}
	if testing.Short() {
		return
	}
	cmd := exec.Command("go", "vet", "./internal/toolgen/testdata/golden/gen/client", "./internal/toolgen/testdata/golden/gen/tools")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("golden output does not compile: %v\n%s", err, b)
	}
}

func TestDeterministic(t *testing.T) {
	a, err := Generate(fixtureInputs(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(fixtureInputs(t))
	if err != nil {
		t.Fatal(err)
	}
	for p := range a.Files {
		if string(a.Files[p]) != string(b.Files[p]) {
			t.Errorf("%s differs between two runs", p)
		}
		if strings.Contains(string(a.Files[p]), "202") && strings.Contains(p, ".go") && timestampRE(a.Files[p]) {
			t.Errorf("%s looks like it carries a timestamp", p)
		}
	}
}

func timestampRE(b []byte) bool {
	s := string(b)
	return strings.Contains(s, "Generated at") || strings.Contains(s, "generated on")
}

// TestSync mutates the fixture in each way the catalog and spec can drift
// and checks the generator refuses with a message naming the culprit.
func TestSync(t *testing.T) {
	cases := []struct {
		name       string
		spec, tool func(string) string
		want       []string
	}{
		{
			name: "operation used by a tool removed from the spec",
			spec: func(s string) string {
				return strings.Replace(s, "    get:\n      operationId: getBlob", "    x-removed:\n      operationId: getBlobGone", 1)
			},
			want: []string{`tool blob_get: operation "getBlob" does not exist`},
		},
		{
			name: "operation no tool uses added to the spec",
			spec: func(s string) string {
				return s + "  /gadgets:\n    get:\n      operationId: listGadgets\n      responses:\n        \"200\": {description: OK}\n"
			},
			want: []string{"operation listGadgets (GET /gadgets) is used by no tool"},
		},
		{
			name: "misspelled operationId",
			tool: func(s string) string { return strings.Replace(s, "operation: getWidget\n", "operation: getWidgt\n", 1) },
			want: []string{`tool widget_get: operation "getWidgt" does not exist`, `did you mean "getWidget"`},
		},
		{
			name: "unknown key in tools.yaml",
			tool: func(s string) string {
				return strings.Replace(s, "        title: List widgets\n", "        title: List widgets\n        descripton: typo\n", 1)
			},
			want: []string{`tools.yaml:25: unknown key "descripton" in a tool`},
		},
		{
			name: "duplicate tool name",
			tool: func(s string) string { return strings.Replace(s, "name: widget_list", "name: widget_get", 1) },
			want: []string{"duplicate tool name"},
		},
		{
			name: "invalid tool name",
			tool: func(s string) string { return strings.Replace(s, "name: widget_list", "name: Widget List", 1) },
			want: []string{"name must match"},
		},
		{
			name: "args key the operation does not have",
			tool: func(s string) string { return strings.Replace(s, "internal: {hide: true}", "intern: {hide: true}", 1) },
			want: []string{`args.intern: createWidget has no parameter or body property "intern"`},
		},
		{
			name: "renamed argument collides",
			tool: func(s string) string {
				return strings.Replace(s, "{name: template, env_default", "{name: size, env_default", 1)
			},
			want: []string{`argument name "size" is used twice`},
		},
		{
			name: "excluded operation does not exist",
			tool: func(s string) string { return strings.Replace(s, "operation: reindex", "operation: reindx", 1) },
			want: []string{`excluded operation "reindx" does not exist`, "operation reindex (POST /internal/reindex) is used by no tool"},
		},
		{
			name: "id path parameter without a pattern",
			spec: func(s string) string {
				return strings.Replace(s, "operationId: deleteWidget\n      parameters: [{name: widget_id, in: path, required: true, schema: {type: string, pattern: '^\\w[\\w.-]*$'}}]", "operationId: deleteWidget\n      parameters: [{name: widget_id, in: path, required: true, schema: {type: string}}]", 1)
			},
			want: []string{"path parameter widget_id of deleteWidget declares neither a pattern (an id) nor x-path-like: true"},
		},
		{
			name: "path-like parameter with a pattern",
			spec: func(s string) string {
				return strings.Replace(s, "x-path-like: true, schema: {type: string}}]\n      responses:\n        \"200\": {description: Bytes", "x-path-like: true, schema: {type: string, pattern: '^.+$'}}]\n      responses:\n        \"200\": {description: Bytes", 1)
			},
			want: []string{"path parameter key of getBlob is x-path-like and has a pattern"},
		},
		{
			name: "tools/list over the total budget",
			tool: func(s string) string { return strings.Replace(s, "total_tokens: 5000", "total_tokens: 500", 1) },
			want: []string{"budget: tools/list is", "over the budget of 500"},
		},
		{
			name: "tool over the per-tool budget",
			tool: func(s string) string { return strings.Replace(s, "tool_tokens: 400", "tool_tokens: 60", 1) },
			want: []string{"budget: tool widget_create is", "over the per-tool budget of 60"},
		},
		{
			name: "unknown profile tool",
			tool: func(s string) string {
				return strings.Replace(s, "tools: [widget_create, widget_get]", "tools: [widget_create, widget_gone]", 1)
			},
			want: []string{`profile core names unknown tool "widget_gone"`},
		},
		{
			name: "wait on a non-GET operation",
			tool: func(s string) string {
				return strings.Replace(s, "wait: {operation: getWidget", "wait: {operation: deleteWidget", 1)
			},
			want: []string{"wait.operation deleteWidget must be a GET"},
		},
		{
			name: "unknown composite handler",
			tool: func(s string) string {
				return strings.Replace(s, "        description: Take a PNG screenshot.\n", "        description: Take a PNG screenshot.\n        handler: nope\n", 1)
			},
			want: []string{`handler "nope" is not a known composite handler`},
		},
		// The resource context (resources:, fallback:).
		{
			name: "fallback on a tool without a resource id",
			tool: func(s string) string {
				return strings.Replace(s, "        description: List widgets, optionally by tags.\n", "        description: List widgets, optionally by tags.\n        fallback: full\n", 1)
			},
			want: []string{"tool widget_list: fallback: full, but no path parameter of the tool names a kind"},
		},
		{
			name: "fallback full on a DELETE",
			tool: func(s string) string {
				return strings.Replace(s, "        description: Permanently delete a widget.\n", "        description: Permanently delete a widget.\n        fallback: full\n", 1)
			},
			want: []string{"tool widget_delete: fallback: full on a DELETE: a tool that deletes never guesses which widget"},
		},
		{
			name: "fallback handler without a handler",
			tool: func(s string) string {
				return strings.Replace(s, "        description: Get a widget and its status.\n", "        description: Get a widget and its status.\n        fallback: handler\n", 1)
			},
			want: []string{"tool widget_get: fallback: handler needs a composite handler"},
		},
		{
			name: "unknown fallback",
			tool: func(s string) string {
				return strings.Replace(s, "        description: Get a widget and its status.\n", "        description: Get a widget and its status.\n        fallback: guess\n", 1)
			},
			want: []string{`tool widget_get: fallback must be full, none or handler, got "guess"`},
		},
		{
			name: "resource list tool that does not exist",
			tool: func(s string) string {
				return strings.Replace(s, "    list: widget_list\n", "    list: widget_lst\n", 1)
			},
			want: []string{`resources.widget: list "widget_lst" is no tool`},
		},
		{
			name: "resource list tool with a path parameter",
			tool: func(s string) string {
				return strings.Replace(s, "    list: widget_list\n", "    list: widget_get\n", 1)
			},
			want: []string{"resources.widget: list widget_get must be a GET tool without path parameters"},
		},
		{
			name: "resource create tool that is no POST",
			tool: func(s string) string {
				return strings.Replace(s, "    create: widget_create\n", "    create: widget_get\n", 1)
			},
			want: []string{"resources.widget: create widget_get must be a POST tool"},
		},
		{
			name: "resource kind no tool uses",
			tool: func(s string) string {
				return strings.Replace(s, "    param: widget_id\n", "    param: gadget_id\n", 1)
			},
			want: []string{"resources.widget: no tool has the path parameter gadget_id"},
		},
		{
			name: "resource without running statuses",
			tool: func(s string) string { return strings.Replace(s, "    running: [running]\n", "", 1) },
			want: []string{"resources.widget: running is required"},
		},
		{
			name: "resource status both running and starting",
			tool: func(s string) string {
				return strings.Replace(s, "    starting: [creating]\n", "    starting: [running]\n", 1)
			},
			want: []string{`resources.widget: status "running" is both running and starting`},
		},
		{
			name: "two kinds with one param",
			tool: func(s string) string {
				return s + "  gadget:\n    param: widget_id\n    list: widget_list\n    create: widget_create\n    running: [running]\n"
			},
			want: []string{"resources.widget: param widget_id is also the param of gadget"},
		},
		{
			name: "resource kind that is not lower-case words",
			tool: func(s string) string { return strings.Replace(s, "  widget:\n    param", "  Widget_X:\n    param", 1) },
			want: []string{"resources.Widget_X: a kind is lower-case words"},
		},
		// Combinations in which one key would silently have no effect.
		{
			name: "logs with an image result",
			tool: func(s string) string {
				return strings.Replace(s, "        logs: true\n", "        logs: true\n        result: image\n", 1)
			},
			want: []string{"tools.yaml:", "tool widget_logs: logs: true needs result: json"},
		},
		{
			name: "wait with a file result",
			tool: func(s string) string {
				return strings.Replace(s, "pass wait=true or poll widget_get.\n", "pass wait=true or poll widget_get.\n        result: file\n", 1)
			},
			want: []string{"tool widget_create: wait needs result: json"},
		},
		{
			name: "logs with wait",
			tool: func(s string) string {
				return strings.Replace(s, "        logs: true\n", "        logs: true\n        wait: {operation: getWidget, id: arg:widget_id, field: data.status, ready: [running]}\n", 1)
			},
			want: []string{"tool widget_logs: logs and wait cannot be combined"},
		},
		{
			name: "args entry for the Idempotency-Key header",
			tool: func(s string) string {
				return strings.Replace(s, "internal: {hide: true}", "internal: {hide: true}\n          Idempotency-Key: {hide: true}", 1)
			},
			want: []string{"tool widget_create: args.Idempotency-Key: the runtime sends a fresh Idempotency-Key on every call"},
		},
		{
			name: "fixed with another key",
			tool: func(s string) string {
				return strings.Replace(s, "button: {fixed: right}", "button: {fixed: right, description: Which button}", 1)
			},
			want: []string{"tool widget_right_click: args.button: a fixed argument is hidden and always sent, so description would be ignored"},
		},
		{
			name: "hide with another key",
			tool: func(s string) string {
				return strings.Replace(s, "internal: {hide: true}", "internal: {hide: true, default: true}", 1)
			},
			want: []string{"args.internal: a hidden argument is never sent, so default would be ignored"},
		},
		{
			name: "hide a required argument",
			tool: func(s string) string {
				return strings.Replace(s, "widget_id: {name: id}", "widget_id: {hide: true}", 1)
			},
			want: []string{"tool widget_get: args.widget_id: cannot hide a required argument"},
		},
		{
			name: "default with env_default",
			tool: func(s string) string {
				return strings.Replace(s, "{name: template, env_default", "{name: template, default: basic, env_default", 1)
			},
			want: []string{"args.template_type: default and env_default together: the default would always win"},
		},
		{
			name: "required with a default",
			tool: func(s string) string {
				return strings.Replace(s, "{name: template, env_default", "{name: template, required: true, env_default", 1)
			},
			want: []string{"args.template_type: a required argument is always passed, so its default would be ignored"},
		},
		{
			name: "base64 transform of a non-string",
			tool: func(s string) string {
				return strings.Replace(s, "internal: {hide: true}", "internal: {transform: base64}", 1)
			},
			want: []string{"args.internal: transform base64 encodes text, but the argument is of type boolean"},
		},
		{
			name: "error rule on a status that is not HTTP",
			tool: func(s string) string { return strings.Replace(s, "{status: 409, message", "{status: 4090, message", 1) },
			want: []string{"tool widget_right_click: errors[0]: status 4090 is not an HTTP status"},
		},
		{
			name: "bounds on a string extra argument",
			tool: func(s string) string {
				return strings.Replace(s, "        description: Take a PNG screenshot.\n", "        description: Take a PNG screenshot.\n        handler: nope\n        extra_args: {code: {type: string, description: Code, minimum: 1}}\n", 1)
			},
			want: []string{"extra_args.code: minimum and maximum apply to integer and number arguments, not string"},
		},
		// local: (issue #12): every key must be able to work.
		{
			name: "unknown key in local",
			tool: func(s string) string {
				return strings.Replace(s, "          set: {encoding: base64}\n", "          set: {encoding: base64}\n          bogus: 1\n", 1)
			},
			want: []string{`unknown key "bogus" in local`},
		},
		{
			name: "local upload into a field the body does not have",
			tool: func(s string) string {
				return strings.Replace(s, "          field: content\n          encoding: base64", "          field: contents\n          encoding: base64", 1)
			},
			want: []string{`tools.yaml:75: tool widget_file_write: local.field: writeWidgetFile's JSON body has no property "contents"`},
		},
		{
			name: "local upload of binary into a JSON body",
			tool: func(s string) string {
				return strings.Replace(s, "          encoding: base64\n          remote: path\n          set:", "          encoding: binary\n          remote: path\n          set:", 1)
			},
			want: []string{"tool widget_file_write: local.encoding must be base64: a JSON body carries bytes as a base64 string"},
		},
		{
			name: "local upload of base64 into a raw body",
			tool: func(s string) string {
				return strings.Replace(s, "direction: upload, field: content, encoding: binary", "direction: upload, field: content, encoding: base64", 1)
			},
			want: []string{"tools.yaml:64: tool blob_put: local.encoding must be binary"},
		},
		{
			name: "local upload without a remote path",
			tool: func(s string) string {
				return strings.Replace(s, "encoding: binary, remote: key}\n      - name: blob_get", "encoding: binary}\n      - name: blob_get", 1)
			},
			want: []string{"tool blob_put: local.remote: name the API field of the remote path"},
		},
		{
			name: "local remote path that is not a field",
			tool: func(s string) string {
				return strings.Replace(s, "encoding: binary, remote: key}\n      - name: blob_get", "encoding: binary, remote: name}\n      - name: blob_get", 1)
			},
			want: []string{`tool blob_put: local.remote: putBlob has no parameter or body property "name"`},
		},
		{
			name: "local set value outside the field's enum",
			tool: func(s string) string { return strings.Replace(s, "set: {encoding: base64}", "set: {encoding: hex}", 1) },
			want: []string{"tool widget_file_write: local.set.encoding: hex is not one of [utf8 base64]"},
		},
		{
			name: "local set on the remote path",
			tool: func(s string) string { return strings.Replace(s, "set: {encoding: base64}", "set: {path: /x}", 1) },
			want: []string{"local.set.path: the field and the remote path are not set"},
		},
		{
			name: "local argument named like an existing one",
			tool: func(s string) string {
				return strings.Replace(s, "local: {arg: save_to, direction: download, encoding: binary, remote: key}", "local: {arg: key, direction: download, encoding: binary, remote: key}", 1)
			},
			want: []string{`tool blob_get: local.arg "key" is already an argument of the tool`},
		},
		{
			name: "local download of a JSON result",
			tool: func(s string) string {
				return strings.Replace(s, "        description: Download a blob.\n        result: file\n", "        description: Download a blob.\n", 1)
			},
			want: []string{"tool blob_get: local download needs result: file (got json)"},
		},
		{
			name: "local download field on a bytes-only answer",
			tool: func(s string) string {
				return strings.Replace(s, "local: {arg: save_to, direction: download, encoding: binary, remote: key}", "local: {arg: save_to, direction: download, field: data.content, encoding: base64, remote: key}", 1)
			},
			want: []string{`tool blob_get: local.field: getBlob has no JSON answer for "data.content" to be in`},
		},
		{
			name: "local download field that is not a string",
			tool: func(s string) string {
				return strings.Replace(s, "field: data.content, encoding: base64, remote: path}", "field: data.size, encoding: base64, remote: path}", 1)
			},
			want: []string{"tools.yaml:89: tool widget_file_read: local.field: readWidgetFile's JSON answer has no string at data.size"},
		},
		{
			name: "local download with set",
			tool: func(s string) string {
				return strings.Replace(s, "local: {arg: save_to, direction: download, encoding: binary, remote: key}", "local: {arg: save_to, direction: download, encoding: binary, remote: key, set: {x: 1}}", 1)
			},
			want: []string{"tool blob_get: local.set applies to uploads only"},
		},
		{
			name: "local with an unknown direction",
			tool: func(s string) string {
				return strings.Replace(s, "direction: download, encoding: binary", "direction: sideways, encoding: binary", 1)
			},
			want: []string{`tool blob_get: local.direction must be upload or download, got "sideways"`},
		},
		{
			name: "local with wait",
			tool: func(s string) string {
				return strings.Replace(s, "        wait: {operation: getWidget", "        local: {arg: local_path, direction: upload, field: name, encoding: base64, remote: name}\n        wait: {operation: getWidget", 1)
			},
			want: []string{"tool widget_create: local cannot be combined with handler, wait or logs", "local.remote and local.field are both"},
		},
		{
			name: "combinator in an input schema",
			spec: func(s string) string {
				return strings.Replace(s, "internal: {type: boolean}", "internal: {oneOf: [{type: boolean}, {type: string}]}", 1)
			},
			want: []string{"oneOf/anyOf/allOf/not are not allowed in tool inputs"},
		},
		{
			name: "hint naming no tool",
			tool: func(s string) string { return strings.Replace(s, "widget_list shows", "widget_lst shows", 1) },
			want: []string{`tools.yaml: hints.payment_required names "widget_lst", which is no tool`},
		},
		{
			name: "invalid OpenAPI document",
			spec: func(s string) string {
				return strings.Replace(s, "openapi: 3.0.3", "openapi: 3.0.3\nbogus_top_level: 1", 1)
			},
			want: []string{"api/openapi.yaml"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := fixtureInputs(t)
			if tc.spec != nil {
				in.Spec = []byte(tc.spec(string(in.Spec)))
			}
			if tc.tool != nil {
				in.Tools = []byte(tc.tool(string(in.Tools)))
			}
			_, err := Generate(in)
			if err == nil {
				t.Fatal("Generate succeeded; want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestEntriesNameTheirSource: every generated tool entry is headed by
// `// NAME: tools.yaml:LINE → METHOD PATH`, LINE being where the tool is
// named, and its fields follow in the fixed reading order.
func TestEntriesNameTheirSource(t *testing.T) {
	in := fixtureInputs(t)
	out, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	yamlLines := strings.Split(string(in.Tools), "\n")
	head := regexp.MustCompile(`(?m)^\t\t// ([a-z0-9_]+): tools\.yaml:(\d+) → ([A-Z]+) (/\S*)$`)
	order := []string{"Name", "Toolset", "Title", "Description", "Operation", "Method", "Path", "Annotations",
		"Args", "InputSchema", "OutputSchema", "WrapOutput", "Result", "SendsIdempotencyKey", "Wait", "ErrorHints", "Local", "Resource", "Call"}
	seen := 0
	for _, p := range sortedKeys(out.Files) {
		if !strings.HasPrefix(p, "internal/toolgen/testdata/golden/gen/tools/") || strings.HasSuffix(p, "registry.gen.go") {
			continue
		}
		src := string(out.Files[p])
		for _, m := range head.FindAllStringSubmatchIndex(src, -1) {
			seen++
			name, line := src[m[2]:m[3]], src[m[4]:m[5]]
			n, _ := strconv.Atoi(line)
			if n < 1 || n > len(yamlLines) || strings.TrimSpace(yamlLines[n-1]) != "- name: "+name {
				t.Errorf("%s: header says tools.yaml:%s, which is not where %s is named", p, line, name)
			}
			// The entry's top-level keys, in order, up to the next header.
			rest := src[m[1]:]
			if next := head.FindStringIndex(rest); next != nil {
				rest = rest[:next[0]]
			}
			var keys []string
			for _, km := range regexp.MustCompile(`(?m)^\t\t\t([A-Za-z]+):`).FindAllStringSubmatch(rest, -1) {
				keys = append(keys, km[1])
			}
			if len(keys) < 9 || !isSubsequence(keys, order) {
				t.Errorf("%s: %s fields %v are not in the order %v", p, name, keys, order)
			}
		}
	}
	if seen != 12 {
		t.Errorf("found %d headed entries, want the fixture's 12 tools", seen)
	}
}

func isSubsequence(got, order []string) bool {
	i := 0
	for _, k := range got {
		for i < len(order) && order[i] != k {
			i++
		}
		if i == len(order) {
			return false
		}
		i++
	}
	return true
}
