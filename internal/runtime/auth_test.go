package runtime_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// challengeRE is RFC 6750 §3's WWW-Authenticate grammar for what the server
// sends: Bearer, realm, an optional error code, and error_description made
// of %x20-21 / %x23-5B / %x5D-7E.
var challengeRE = regexp.MustCompile(`^Bearer realm="miosa-mcp"(, error="(invalid_request|invalid_token|insufficient_scope)")?, error_description="([\x20\x21\x23-\x5b\x5d-\x7e]+)"$`)

func TestBearerChallenge(t *testing.T) {
	tests := []struct {
		name, header, code string
	}{
		{"missing", "", ""},
		{"blank", "   ", ""},
		{"bare key", "msk_u_abc", "invalid_request"},
		{"wrong scheme", "Basic msk_u_abc", "invalid_request"},
		{"no key", "Bearer ", "invalid_request"},
		{"two keys", "Bearer msk_u_a msk_u_b", "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runtime.ParseBearer(tt.header)
			var ae *runtime.AuthError
			if !errors.As(err, &ae) || ae.Code != tt.code {
				t.Fatalf("ParseBearer(%q) = %v, want an AuthError with code %q", tt.header, err, tt.code)
			}
			ch := runtime.BearerChallenge(err)
			m := challengeRE.FindStringSubmatch(ch)
			if m == nil {
				t.Fatalf("challenge %q does not match RFC 6750 §3", ch)
			}
			if m[2] != tt.code {
				t.Errorf("error code %q, want %q", m[2], tt.code)
			}
			if !strings.Contains(m[3], "Bearer msk_u_") {
				t.Errorf("error_description %q does not say what to send", m[3])
			}
		})
	}
	// Characters RFC 6750 forbids in error_description never get through.
	ch := runtime.BearerChallenge(errors.New(`a "quoted" back\slash, ünïcode… and a tab	end`))
	if !challengeRE.MatchString(ch) || !strings.Contains(ch, `a 'quoted' back'slash, ncode... and a tabend`) {
		t.Errorf("challenge %q", ch)
	}
}
