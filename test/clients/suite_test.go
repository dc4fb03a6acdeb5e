// Package clients_test runs Claude Code, Gemini CLI and Codex headless
// against `miosa-mcp --mock`, over stdio and over HTTP, each with a local
// fake model (package fakemodel) that replays the docs' four usage
// examples (workflows.yaml) and records what the client sent the model.
//
// Checks per session (client × transport × variant):
//
//	tools               the model saw all the server's tools (after the
//	                    client's tool search, where it defers them)
//	key                 the client expanded the config's ${MIOSA_API_KEY}
//	                    (stdio: the server's env; HTTP: the Authorization header)
//	instructions        the first model request carried the whole server
//	                    instructions
//	instructions-first-line
//	                    what the first request carried starts with a line
//	                    about MIOSA (not the mock notice): all Codex shows
//	                    before a tool search
//	screenshot-image    desktop_screenshot reached the model as image/png
//	workflow/NAME       every call of the workflow succeeded and matched
//	completed           the script ran to its end and the client exited 0
//
// Checks that fail today by design are listed, with the reason, in
// known_failures.yml. A listed check that passes (a stale entry) fails
// the suite, as does any unlisted failure. `make clients` installs the
// pinned CLIs (test/clients/package.json) and runs this suite.
package clients_test

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/test/clients/fakemodel"
)

const (
	// cliTimeout bounds a configuration command (`claude mcp add …`).
	cliTimeout = 2 * time.Minute
	// sessionTimeout bounds one headless session; a session takes seconds,
	// the margin is for a loaded 2-core CI machine.
	sessionTimeout = 5 * time.Minute
)

// outcome is one session's measurements and check results.
type outcome struct {
	client, transport string
	variant           fakemodel.Variant
	rec               fakemodel.Recording
	elapsed           time.Duration
	checks            map[string]string // check → "" (passed) or why it failed
	logs              string            // the client's output and the HTTP server's log, shown on an unexpected failure
}

func checkNames(s *fakemodel.Script) []string {
	names := []string{"tools", "key", "instructions", "instructions-first-line", "screenshot-image", "completed"}
	for _, w := range s.Workflows {
		names = append(names, "workflow/"+w.Name)
	}
	return names
}

func TestClients(t *testing.T) {
	e := suiteEnv(t)
	script, err := fakemodel.LoadScript("workflows.yaml")
	if err != nil {
		t.Fatal(err)
	}
	known, err := loadKnownFailures("known_failures.yml", checkNames(script))
	if err != nil {
		t.Fatal(err)
	}
	srv := loadServerInfo(t, e)

	var mu sync.Mutex
	var outcomes []outcome
	t.Run("sessions", func(t *testing.T) {
		for _, c := range allClients {
			for _, tr := range []string{overStdio, overHTTP} {
				for _, v := range fakemodel.Variants {
					t.Run(fmt.Sprintf("%s/%s/%s", c.name, tr, v), func(t *testing.T) {
						t.Parallel()
						o := runSession(t, e, c, tr, v, script, srv)
						mu.Lock()
						outcomes = append(outcomes, o)
						mu.Unlock()
					})
				}
			}
		}
	})
	if len(outcomes) == 0 {
		t.Fatal("no session ran")
	}
	judge(t, outcomes, known, len(outcomes) == len(allClients)*2*len(fakemodel.Variants))
	if path := os.Getenv("MIOSA_CLIENTS_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report(outcomes, srv, known)), 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("report written to %s", path)
	}
}

// judge compares each check with the known-failure table.
func judge(t *testing.T, outcomes []outcome, known []*knownFailure, full bool) {
	t.Helper()
	for _, o := range outcomes {
		unexpected := false
		for _, check := range slices.Sorted(maps.Keys(o.checks)) {
			why := o.checks[check]
			k := key{o.client, o.transport, string(o.variant), check}
			var entry *knownFailure
			for _, f := range known {
				if f.matches(k) {
					entry = f
					break
				}
			}
			switch {
			case why != "" && entry == nil:
				t.Errorf("%s: FAILED: %s", k, why)
				unexpected = true
			case why != "":
				entry.used++
				t.Logf("%s: known failure (%s): %s", k, oneLine(entry.Reason), clip(why, 200))
			case entry != nil:
				t.Errorf("%s: passes, but known_failures.yml lists it (%q): remove it from the entry (stale)", k, oneLine(entry.Reason))
			}
		}
		if unexpected {
			t.Logf("%s/%s/%s logs:\n%s", o.client, o.transport, o.variant, o.logs)
		}
	}
	if !full {
		return // a -run filter: entries for sessions that did not run are not stale
	}
	for _, f := range known {
		if f.used == 0 {
			t.Errorf("known_failures.yml: the %s entry for %v matches no failing check", f.Check, f.Clients)
		}
	}
}

// runSession runs one client headless through the whole script.
func runSession(t *testing.T, e env, c clientDef, transport string, v fakemodel.Variant, script *fakemodel.Script, srv serverInfo) outcome {
	root := t.TempDir()
	s := &session{e: e, home: filepath.Join(root, "home"), dir: filepath.Join(root, "project"), shimDir: filepath.Join(root, "bin"), prompt: script.Prompt()}
	for _, d := range []string{s.home, s.dir, s.shimDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.keyFile = writeShim(t, e, s.shimDir)
	var hs *httpServer
	if transport == overHTTP {
		hs = startHTTP(t, e)
		s.mcpURL = hs.url
	}
	fm := fakemodel.New(fakemodel.Options{Dialect: c.dialect, Script: script, Variant: v, Instructions: srv.instructions, Tools: srv.names,
		DumpDir: dumpDir(t, c.name, transport, v)})
	model := httptest.NewServer(fm)
	defer model.Close()
	s.model = model.URL
	c.configure(t, s, transport)

	name, args, envv := c.command(s)
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	start := time.Now()
	stdout, stderr, runErr := run(ctx, s.dir, envv, name, args...)
	o := outcome{client: c.name, transport: transport, variant: v, elapsed: time.Since(start), rec: fm.Recording(), checks: map[string]string{}}
	t.Logf("%s over %s (%s): %s, %d model requests (+%d side), %d tool searches",
		c.name, transport, v, o.elapsed.Round(time.Millisecond), o.rec.MainRequests, o.rec.SideRequests, o.rec.Searches)

	o.checks["tools"] = checkTools(o.rec, srv)
	o.checks["key"] = checkKey(s, hs)
	o.checks["instructions"] = ""
	if n, want := o.rec.InstructionsAtStart, len(srv.instructions); n != want {
		o.checks["instructions"] = fmt.Sprintf("the first model request carried %d of the %d bytes of the server instructions (the most any request carried: %d)", n, want, o.rec.InstructionsMax)
	}
	o.checks["instructions-first-line"] = checkFirstLine(srv.instructions[:o.rec.InstructionsAtStart])
	o.checks["screenshot-image"] = "no desktop_screenshot result reached the model"
	for wi, w := range script.Workflows {
		check := "workflow/" + w.Name
		if wi >= len(o.rec.Workflows) {
			o.checks[check] = "the workflow never started"
			continue
		}
		o.checks[check] = strings.Join(o.rec.Workflows[wi].Failures(), "; ")
		for _, st := range o.rec.Workflows[wi].Steps {
			if st.Image {
				o.checks["screenshot-image"] = ""
				if st.Failure != "" {
					o.checks["screenshot-image"] = st.Failure
				}
			}
		}
	}
	var problems []string
	if runErr != nil {
		problems = append(problems, fmt.Sprintf("the client exited with %v", runErr))
	}
	if !o.rec.Done {
		problems = append(problems, "the script did not reach its end")
	}
	problems = append(problems, o.rec.Problems...)
	o.checks["completed"] = strings.Join(problems, "; ")
	o.logs = fmt.Sprintf("client stdout:\n%s\nclient stderr:\n%s", clipLog(stdout), clipLog(stderr))
	if hs != nil {
		o.logs += "\nmiosa-mcp http log:\n" + clipLog(hs.logs.String())
	}
	return o
}

// checkFirstLine: the first line the model sees says what MIOSA is (#11:
// "The first line says what MIOSA is and what this server offers. The mock
// notice comes second.").
func checkFirstLine(seen string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(seen), "\n")
	if !strings.Contains(first, "MIOSA") || strings.Contains(strings.ToUpper(first), "MOCK") {
		return fmt.Sprintf("the first line of the instructions the model saw is %q", clip(first, 160))
	}
	return ""
}

func checkTools(rec fakemodel.Recording, srv serverInfo) string {
	var missing []string
	for _, n := range srv.names {
		if _, ok := rec.Tools[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%d of %d tools never reached the model (after %d tool searches), e.g. %s",
			len(missing), len(srv.names), rec.Searches, strings.Join(missing[:min(5, len(missing))], ", "))
	}
	if len(rec.Tools) != len(srv.names) {
		return fmt.Sprintf("the model saw %d MIOSA tools, the server has %d", len(rec.Tools), len(srv.names))
	}
	return ""
}

// checkKey: the server got the key the config's placeholder stands for.
func checkKey(s *session, hs *httpServer) string {
	if hs != nil {
		if !hs.onlyExpandedKey() {
			return "Authorization headers that reached the server: " + strings.Join(hs.authorizations(), ", ")
		}
		return ""
	}
	b, err := os.ReadFile(s.keyFile)
	if err != nil {
		return "the client never started miosa-mcp"
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line != mockKey {
			if strings.HasPrefix(line, "msk_") {
				line = "another msk_ key"
			}
			return fmt.Sprintf("miosa-mcp was started with MIOSA_API_KEY=%q, not the expanded key", line)
		}
	}
	return ""
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// dumpDir keeps every model request of a session under
// $MIOSA_CLIENTS_DUMP/<client>-<transport>-<variant>, for debugging.
func dumpDir(t *testing.T, client, transport string, v fakemodel.Variant) string {
	root := os.Getenv("MIOSA_CLIENTS_DUMP")
	if root == "" {
		return ""
	}
	dir := filepath.Join(root, fmt.Sprintf("%s-%s-%s", client, transport, v))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
