package runtime

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRecovererLogIsScrubbed: a panic in the HTTP transport is logged with
// its value, which may quote the request; the caller's key, from its
// Authorization header, is redacted from that record (there is no call
// context yet to carry it).
func TestRecovererLogIsScrubbed(t *testing.T) {
	const key = "msk_u_recover_Tb7Kx2Qm9Wd4Lz"
	var logs bytes.Buffer
	s := NewServer(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := s.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("bad request carrying Bearer " + key)
	}))
	for _, auth := range []string{"Bearer " + key, key} {
		logs.Reset()
		req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("Authorization %q: status %d, want 500", auth, rec.Code)
		}
		out := logs.String()
		if !strings.Contains(out, "panic in HTTP handler") || !strings.Contains(out, "Bearer msk_u_"+Redacted) {
			t.Errorf("Authorization %q: the panic is not logged, scrubbed: %s", auth, out)
		}
		if strings.Contains(out, SecretOf(key)[:MinSecretFragment]) {
			t.Errorf("Authorization %q: the log leaks the key: %s", auth, out)
		}
	}
}
