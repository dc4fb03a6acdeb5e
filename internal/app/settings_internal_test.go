package app

import (
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// TestSettingsNameTheAppsSettings: the runtime's advice texts name no
// setting of their own; the app gives them its environment variables, and
// over HTTP the Authorization header each caller sends instead of the key
// variable (which HTTP mode ignores).
func TestSettingsNameTheAppsSettings(t *testing.T) {
	tests := []struct {
		mode               runtime.Mode
		missing, rejected  []string
		notMissing, notRej string
	}{
		{runtime.ModeStdio, []string{"MIOSA_API_KEY is not set", "msk_u_"}, []string{"MIOSA_API_KEY", "API Keys"}, "Authorization", "Authorization"},
		{runtime.ModeHTTP, []string{"Authorization: Bearer msk_u_"}, []string{"Authorization: Bearer msk_u_", "API Keys"}, "MIOSA_API_KEY", "MIOSA_API_KEY"},
	}
	for _, tt := range tests {
		st := settings(tt.mode)
		if st.APIURL != "MIOSA_API_URL" || st.Timeout != "MIOSA_TIMEOUT_MS" {
			t.Errorf("mode %d: APIURL %q, Timeout %q: want the environment variables", tt.mode, st.APIURL, st.Timeout)
		}
		for _, w := range tt.missing {
			if !strings.Contains(st.KeyMissing, w) {
				t.Errorf("mode %d: KeyMissing %q lacks %q", tt.mode, st.KeyMissing, w)
			}
		}
		for _, w := range tt.rejected {
			if !strings.Contains(st.KeyRejected, w) {
				t.Errorf("mode %d: KeyRejected %q lacks %q", tt.mode, st.KeyRejected, w)
			}
		}
		if strings.Contains(st.KeyMissing, tt.notMissing) || strings.Contains(st.KeyRejected, tt.notRej) {
			t.Errorf("mode %d: advice names the other mode's way to send the key: %+v", tt.mode, st)
		}
	}
}

// TestHTTPErrorLogIsScrubbed: the HTTP server's own log of connection
// errors (net/http writes it, with a panic's value or a peer's bytes) never
// carries the configured key, in either log format.
func TestHTTPErrorLogIsScrubbed(t *testing.T) {
	const key = "msk_u_errorlog_Zt4Kq9Wm2Lp7Vx"
	for _, format := range []string{"text", "json"} {
		var stderr strings.Builder
		cfg := Config{APIKey: runtime.NewAPIKey(key), LogFormat: format}
		in := &instance{cfg: cfg, log: newLogger(&stderr, 0, format, cfg.APIKey)}
		httpErrorLog(in, Env{Stderr: &stderr}).Printf("http: panic serving 127.0.0.1:1: token %s (its tail %s)", key, key[len(key)-12:])
		if got := stderr.String(); got == "" || strings.Contains(got, key[len("msk_u_"):len("msk_u_")+10]) || strings.Contains(got, key[len(key)-10:]) {
			t.Errorf("%s: the error log reads %q", format, got)
		}
	}
}
