package testsupport

import (
	"os"
	"strings"
)

// ChildEnv is a clean environment for a spawned server: nothing MIOSA_* (or
// OTEL_*, or anything else) leaks in from the developer's shell, only PATH,
// a HOME, the temporary directory, the race detector's options, and what
// the test sets (KEY=VALUE). A MIOSA_API_KEY it sets is registered with
// the key scanner.
func ChildEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	for _, v := range []string{"TMPDIR", "GORACE"} {
		if s := os.Getenv(v); s != "" {
			env = append(env, v+"="+s)
		}
	}
	for _, kv := range extra {
		if k, ok := strings.CutPrefix(kv, "MIOSA_API_KEY="); ok {
			RegisterKey(k)
		}
	}
	return append(env, extra...)
}

// WithoutMIOSA is env without the MIOSA_* variables: for a program (the
// demo) that runs the server against the mock with the caller's other
// settings, but never with a real key, API URL or tool selection.
func WithoutMIOSA(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MIOSA_") {
			out = append(out, kv)
		}
	}
	return out
}
