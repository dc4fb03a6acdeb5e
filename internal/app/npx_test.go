package app_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-osa/miosa-mcp/internal/app"
)

// TestConfigNPX: `config --npx CLIENT` is the binary's snippet with the
// server started by `npx -y @miosa/mcp` and the same arguments, for every
// client; nothing else changes, and the key is never printed. test/npm runs
// these snippets' commands through real npx.
func TestConfigNPX(t *testing.T) {
	env := map[string]string{"MIOSA_API_KEY": fakeKey}
	// Every client whose snippet starts the binary has an npx form.
	for _, c := range []string{"claude-code", "claude-desktop", "cursor", "vscode", "windsurf"} {
		if !slices.Contains(app.NPXClients(), c) {
			t.Errorf("NPXClients() = %v lacks %s", app.NPXClients(), c)
		}
	}
	for _, c := range app.NPXClients() {
		t.Run(c, func(t *testing.T) {
			r := run(t, env, "config", "--npx", c)
			if r.code != 0 {
				t.Fatalf("want exit 0:\n%s", r)
			}
			if strings.Contains(r.stdout+r.stderr, fakeKey) {
				t.Fatalf("the key from the environment was printed:\n%s", r)
			}
			npxRaw, err := app.NPXConfigSnippet(c)
			if err != nil || r.stdout != string(npxRaw)+"\n" {
				t.Fatalf("stdout is not NPXConfigSnippet(%q) (%v):\n%s", c, err, r.stdout)
			}
			binRaw, err := app.ConfigSnippet(c)
			if err != nil {
				t.Fatal(err)
			}
			if app.SnippetLang(c) == "toml" {
				// Codex: the same table, started through npx.
				want := strings.Replace(string(binRaw), `command = "miosa-mcp"`, `command = "npx"`, 1)
				want = strings.Replace(want, `args = [`, `args = ["-y", "`+app.NPMPackage+`", `, 1)
				want = strings.Replace(want, `, ]`, `]`, 1)
				if string(npxRaw) != want {
					t.Errorf("the npx snippet is not the binary's started through npx:\n%s\nwant:\n%s", npxRaw, want)
				}
				return
			}
			var npx, bin map[string]any
			if json.Unmarshal(npxRaw, &npx) != nil || json.Unmarshal(binRaw, &bin) != nil {
				t.Fatal("snippets are not JSON")
			}
			entries := 0
			for _, key := range []string{"mcpServers", "servers"} {
				bs, _ := bin[key].(map[string]any)
				ns, _ := npx[key].(map[string]any)
				for name, be := range bs {
					b, n := be.(map[string]any), ns[name].(map[string]any)
					if n["command"] != "npx" {
						t.Errorf("%s.%s command = %v, want npx", key, name, n["command"])
					}
					var bArgs, nArgs []string
					for _, a := range b["args"].([]any) {
						bArgs = append(bArgs, a.(string))
					}
					for _, a := range n["args"].([]any) {
						nArgs = append(nArgs, a.(string))
					}
					if want := append([]string{"-y", app.NPMPackage}, bArgs...); !slices.Equal(nArgs, want) {
						t.Errorf("%s.%s args = %q, want %q", key, name, nArgs, want)
					}
					// Everything but how it is started is the binary's snippet.
					n["command"], n["args"] = b["command"], b["args"]
					entries++
				}
			}
			if entries != 1 {
				t.Errorf("%d server entries, want 1", entries)
			}
			if d := cmp.Diff(bin, npx); d != "" {
				t.Errorf("the npx snippet differs from the binary's beyond command and args (-binary +npx):\n%s", d)
			}
			if !strings.Contains(r.stderr, "npx runs "+app.NPMPackage+" from npm") {
				t.Errorf("stderr lacks the npx note:\n%s", r.stderr)
			}
			if c == "claude-code" && !strings.Contains(r.stderr, `claude mcp add-json --scope user miosa '{"type":"stdio","command":"npx","args":["-y","@miosa/mcp"],"env":{"MIOSA_API_KEY":"${MIOSA_API_KEY}"}}'`) {
				t.Errorf("stderr lacks the npx claude mcp add line:\n%s", r.stderr)
			}
		})
	}
	// A client outside NPXClients, or an unknown one, is a usage error.
	if r := run(t, nil, "config", "--npx", "emacs"); r.code != 2 || r.stdout != "" {
		t.Errorf("config --npx emacs: want exit 2 and no stdout:\n%s", r)
	}
	// Without --npx the output is unchanged: the binary's snippet.
	r := run(t, nil, "config", "cursor")
	if b, _ := app.ConfigSnippet("cursor"); r.stdout != string(b)+"\n" || strings.Contains(r.stdout, "npx") {
		t.Errorf("config cursor changed:\n%s", r)
	}
}
