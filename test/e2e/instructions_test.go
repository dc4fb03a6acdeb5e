package e2e_test

import (
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/testsupport"
)

// TestInstructionsAsServed: the instructions the binary sends in
// initialize, with --mock and without, over stdio and HTTP, start with
// what MIOSA is, carry the mock notice second (only with --mock), and stay
// at or under runtime.MaxInstructionsChars (#11 §3; every selection is
// internal/inventory's TestInstructionsFitEveryMode).
func TestInstructionsAsServed(t *testing.T) {
	bin := testsupport.Binary(t)
	testsupport.RegisterKey(testKey)
	testsupport.RegisterKey(app.MockKey)
	for _, mock := range []bool{false, true} {
		var args []string
		env := []string{"MIOSA_LOG_LEVEL=error", "MIOSA_API_KEY=" + testKey}
		if mock {
			args = []string{"--mock"}
		}
		_, _, stdio := testsupport.StdioClient(t, bin, testsupport.StdioOptions{Args: args, Env: env})
		hs := testsupport.StartHTTP(t, bin, testsupport.HTTPOptions{Args: args, Env: env})
		_, http := connectHTTP(t, hs, httpClientOptions{auth: "Bearer " + testKey})
		for name, ins := range map[string]string{"stdio": stdio.Instructions, "http": http.Instructions} {
			lines := strings.Split(ins, "\n")
			if !strings.HasPrefix(lines[0], "MIOSA is a cloud for AI agents") {
				t.Errorf("%s, mock %v: first line %q", name, mock, lines[0])
			}
			if mock != (lines[1] == runtime.MockNotice) {
				t.Errorf("%s, mock %v: second line %q", name, mock, lines[1])
			}
			if len(ins) > runtime.MaxInstructionsChars {
				t.Errorf("%s, mock %v: %d characters, over %d", name, mock, len(ins), runtime.MaxInstructionsChars)
			}
			t.Logf("%s, mock %v: %d characters", name, mock, len(ins))
		}
	}
}
