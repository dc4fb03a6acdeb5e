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
