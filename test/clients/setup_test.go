package clients_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientSetup runs the README's set-up lines against the real CLIs and
// reads what they wrote: which commands keep the ${MIOSA_API_KEY}
// placeholder, which write the key in clear, and which files each client
// actually reads. (The sessions of TestClients then run on these configs.)
func TestClientSetup(t *testing.T) {
	e := suiteEnv(t)
	claude := filepath.Join(e.modules, ".bin", "claude")
	gemini := filepath.Join(e.modules, "@google", "gemini-cli", "bundle", "gemini.js")

	newSession := func(t *testing.T) *session {
		root := t.TempDir()
		s := &session{e: e, home: filepath.Join(root, "home"), dir: filepath.Join(root, "project"), shimDir: filepath.Join(root, "bin")}
		for _, d := range []string{s.home, s.dir, s.shimDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		s.keyFile = writeShim(t, e, s.shimDir)
		return s
	}
	exec := func(t *testing.T, s *session, name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
		defer cancel()
		out, errOut, err := run(ctx, s.dir, s.baseEnv(), name, args...)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, errOut)
		}
		return out + errOut
	}
	readHome := func(t *testing.T, s *session, rel string) string {
		b, err := os.ReadFile(filepath.Join(s.home, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("claude-code/add-json keeps the placeholder and connects", func(t *testing.T) {
		s := newSession(t)
		exec(t, s, claude, "mcp", "add-json", "--scope", "user", "miosa", claudeStdioEntry(t, e))
		assertPlaceholderKept(t, filepath.Join(s.home, ".claude.json"), "${MIOSA_API_KEY}")
		if out := exec(t, s, claude, "mcp", "list"); !strings.Contains(out, "miosa") || !strings.Contains(out, "Connected") {
			t.Errorf("claude mcp list does not show miosa connected:\n%s", out)
		}
		if got := strings.TrimSpace(readShimKeys(t, s)); got == "" || strings.Trim(strings.ReplaceAll(got, mockKey, ""), "\n") != "" {
			t.Errorf("the server was started without the expanded key (%d bytes recorded)", len(got))
		}
	})
	t.Run("claude-code/add --env writes the key in clear", func(t *testing.T) {
		// What the shell makes of --env MIOSA_API_KEY="$MIOSA_API_KEY": the
		// README warns against it; this pins why.
		s := newSession(t)
		exec(t, s, claude, "mcp", "add", "--scope", "user", "miosa", "--env", "MIOSA_API_KEY="+mockKey, "--", "miosa-mcp")
		if !strings.Contains(readHome(t, s, ".claude.json"), mockKey) {
			t.Error("claude mcp add --env no longer writes the key into ~/.claude.json: update the README's warning")
		}
	})
	t.Run("claude-code/http header in double quotes writes the key in clear", func(t *testing.T) {
		s := newSession(t)
		exec(t, s, claude, "mcp", "add", "--scope", "user", "--transport", "http", "miosa", "https://api.miosa.ai/api/v1/mcp",
			"--header", "Authorization: Bearer "+mockKey)
		if !strings.Contains(readHome(t, s, ".claude.json"), mockKey) {
			t.Error("the shell-expanded header is no longer stored as given: update the README")
		}
	})
	t.Run("claude-code/project .mcp.json needs approval", func(t *testing.T) {
		s := newSession(t)
		writeFile(t, filepath.Join(s.dir, ".mcp.json"), snippet(t, e, "claude-code"))
		if out := exec(t, s, claude, "mcp", "list"); !strings.Contains(out, "miosa") || strings.Contains(out, "Connected") {
			t.Errorf("an unapproved project server should not connect:\n%s", out)
		}
		// The project cannot approve its own server; the user's settings can.
		approve := map[string]any{"enabledMcpjsonServers": []string{"miosa"}}
		writeJSONFile(t, filepath.Join(s.dir, ".claude", "settings.json"), approve)
		writeJSONFile(t, filepath.Join(s.dir, ".claude", "settings.local.json"), approve)
		if out := exec(t, s, claude, "mcp", "list"); strings.Contains(out, "Connected") {
			t.Errorf("the project's own settings approved its server: update the README:\n%s", out)
		}
		writeJSONFile(t, filepath.Join(s.home, ".claude", "settings.json"), approve)
		if out := exec(t, s, claude, "mcp", "list"); !strings.Contains(out, "miosa") || !strings.Contains(out, "Connected") {
			t.Errorf("with enabledMcpjsonServers in ~/.claude/settings.json the project's server should connect:\n%s", out)
		}
	})
	t.Run("claude-code/project .mcp.json over HTTP expands the header", func(t *testing.T) {
		s := newSession(t)
		hs := startHTTP(t, e)
		s.mcpURL = hs.url
		writeFile(t, filepath.Join(s.dir, ".mcp.json"), localURL(snippet(t, e, "claude-code-http"), s))
		writeJSONFile(t, filepath.Join(s.home, ".claude", "settings.json"), map[string]any{"enabledMcpjsonServers": []string{"miosa"}})
		if out := exec(t, s, claude, "mcp", "list"); !strings.Contains(out, "miosa") || !strings.Contains(out, "Connected") {
			t.Errorf("the claude-code-http snippet does not connect:\n%s", out)
		}
		if !hs.onlyExpandedKey() {
			t.Errorf("Authorization headers that reached the server: %v", hs.authorizations())
		}
	})
	t.Run("claude-code/~/.claude/mcp.json is not read", func(t *testing.T) {
		s := newSession(t)
		writeFile(t, filepath.Join(s.home, ".claude", "mcp.json"), snippet(t, e, "claude-code"))
		if out := exec(t, s, claude, "mcp", "list"); strings.Contains(out, "miosa") {
			t.Errorf("Claude Code now reads ~/.claude/mcp.json: update the README:\n%s", out)
		}
	})
	t.Run("gemini-cli/untrusted folder stops headless runs", func(t *testing.T) {
		s := newSession(t)
		var settings map[string]any
		mustUnmarshal(t, snippet(t, e, "gemini"), &settings)
		settings["security"] = map[string]any{"auth": map[string]any{"selectedType": "gemini-api-key"}}
		writeJSONFile(t, filepath.Join(s.home, ".gemini", "settings.json"), settings)
		ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
		defer cancel()
		out, errOut, err := run(ctx, s.dir, s.baseEnv("GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:1", "GEMINI_API_KEY=fake-model-key"),
			filepath.Join(e.nodeBin, "node"), gemini, "-p", "hello", "--yolo")
		if err == nil || !strings.Contains(out+errOut, "trusted") {
			t.Errorf("gemini -p in an untrusted folder: err=%v, want a trusted-folder error:\n%s%s", err, out, errOut)
		}
	})
}

func readShimKeys(t *testing.T, s *session) string {
	t.Helper()
	b, err := os.ReadFile(s.keyFile)
	if err != nil {
		t.Fatalf("the client never started miosa-mcp: %v", err)
	}
	return string(b)
}

// TestRelayReadsAuthorization: the HTTP key check fails on a placeholder
// sent literally and on a request without the header.
func TestRelayReadsAuthorization(t *testing.T) {
	req := func(auth string) string {
		h := "POST /mcp HTTP/1.1\r\nHost: x\r\n"
		if auth != "" {
			h += "Authorization: " + auth + "\r\n"
		}
		return h + "Content-Length: 2\r\n\r\n{}"
	}
	tests := []struct {
		name string
		sent []string
		ok   bool
	}{
		{"expanded", []string{req("Bearer "+mockKey) + req("Bearer "+mockKey)}, true},
		{"placeholder sent as is", []string{req("Bearer ${MIOSA_API_KEY}")}, false},
		{"one request without the header", []string{req("Bearer " + mockKey), req("")}, false},
		{"nothing sent", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &httpServer{}
			for _, s := range tt.sent {
				h.sent = append(h.sent, bytes.NewBufferString(s))
			}
			if got := h.onlyExpandedKey(); got != tt.ok {
				t.Errorf("onlyExpandedKey = %v, want %v (%v)", got, tt.ok, h.authorizations())
			}
		})
	}
}
