package testsupport

import (
	"fmt"
	"strings"
	"testing"
)

// recordingTB runs a helper's cleanups on demand and records its failures.
type recordingTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Helper()          {}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

func (r *recordingTB) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// TestSpawnedOutputIsScanned: every process Command starts has its stderr
// scanned for the keys handed out (here through ChildEnv), and its stdout
// must stay empty unless the test reads it; a race report fails the test.
// This is what makes every suite that spawns the server scanned.
func TestSpawnedOutputIsScanned(t *testing.T) {
	const key = "msk_u_spawn_selftest_Hr5Tq8Wm2Zk"
	for _, tc := range []struct {
		name, script string
		want         []string // in the failures; none when empty
	}{
		{"clean", `echo "serving" >&2`, nil},
		{"the key on stderr", `echo "log $MIOSA_API_KEY" >&2`, []string{"API key leak in stderr"}},
		{"a piece of it on stderr", `echo "log ${MIOSA_API_KEY#msk_u_spawn_}" | cut -c1-16 >&2`, []string{"API key leak in stderr"}},
		{"anything on stdout", `echo "not JSON-RPC"`, []string{"wrote to stdout"}},
		{"a data race", `echo "WARNING: DATA RACE" >&2`, []string{"DATA RACE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &recordingTB{TB: t}
			p := Command(rt, "/bin/sh", []string{"MIOSA_API_KEY=" + key}, "-c", tc.script)
			p.Start()
			<-p.Exited
			rt.end()
			got := strings.Join(rt.errs, "\n")
			if len(tc.want) == 0 && got != "" {
				t.Errorf("failures for clean output: %s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("failures %q lack %q", got, w)
				}
			}
		})
	}
}
