package runtime

import (
	"errors"
	"fmt"
	"strings"
)

// AuthError is why a request carries no usable key. Code is its RFC 6750
// §3.1 error code: "" when the request has no credentials at all (§3: the
// challenge then names no error), "invalid_request" when the Authorization
// header is malformed.
type AuthError struct {
	Code string
	msg  string
}

func (e *AuthError) Error() string { return e.msg }

// ParseBearer extracts a key from an Authorization header value. It accepts
// only "Bearer <key>"; the error (an *AuthError) says what to send instead.
func ParseBearer(h string) (APIKey, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return APIKey{}, &AuthError{msg: "missing Authorization header: send `Authorization: Bearer msk_u_…` with your MIOSA API key"}
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return APIKey{}, &AuthError{Code: "invalid_request", msg: "malformed Authorization header: the value must start with `Bearer msk_u_` (the word Bearer, a space, then the key), not the bare key"}
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return APIKey{}, &AuthError{Code: "invalid_request", msg: "malformed Authorization header: expected `Bearer msk_u_…` with a single key"}
	}
	return NewAPIKey(tok), nil
}

// AuthRealm is the realm of the server's Bearer challenges.
const AuthRealm = "miosa-mcp"

// BearerChallenge is the WWW-Authenticate value for a 401 (RFC 6750 §3):
// the Bearer scheme, the realm, the error code when there is one, and the
// reason as error_description, so a client can tell the person to send a
// key. It names no authorization server or resource metadata: the key is a
// MIOSA API key, not an OAuth token, and there is nothing to discover.
func BearerChallenge(err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Bearer realm=%q", AuthRealm)
	var ae *AuthError
	if errors.As(err, &ae) && ae.Code != "" {
		fmt.Fprintf(&b, ", error=%q", ae.Code)
	}
	fmt.Fprintf(&b, `, error_description="%s"`, descriptionChars(err.Error()))
	return b.String()
}

// descriptionChars keeps what RFC 6750 §3 allows in error_description
// (%x20-21 / %x23-5B / %x5D-7E): "…" becomes "...", a double quote or
// backslash becomes ', anything else outside printable ASCII is dropped.
func descriptionChars(s string) string {
	s = strings.ReplaceAll(s, "…", "...")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\'')
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		}
	}
	return b.String()
}
