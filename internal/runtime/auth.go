package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// APIKey is a MIOSA API key. Its String, GoString and LogValue never reveal
// it, so it cannot leak through fmt, %v in errors, or structured logs.
type APIKey struct{ v string }

// NewAPIKey wraps a raw key.
func NewAPIKey(s string) APIKey { return APIKey{v: s} }

// Empty reports whether no key is set.
func (k APIKey) Empty() bool { return k.v == "" }

// Reveal returns the raw key; only the request editor calls it.
func (k APIKey) Reveal() string { return k.v }

func (k APIKey) String() string   { return k.redacted() }
func (k APIKey) GoString() string { return k.redacted() }

// LogValue implements slog.LogValuer.
func (k APIKey) LogValue() slog.Value { return slog.StringValue(k.redacted()) }

func (k APIKey) redacted() string {
	if k.v == "" {
		return "<unset>"
	}
	return "msk_…[redacted]"
}

// WithAPIKey stores the caller's key in ctx. Nothing else holds it: the
// shared client, server and caches never see it (per-request isolation).
func WithAPIKey(ctx context.Context, k APIKey) context.Context {
	return context.WithValue(ctx, keyAPIKey, k)
}

// APIKeyFrom returns the key stored in ctx, if any.
func APIKeyFrom(ctx context.Context) APIKey {
	k, _ := ctx.Value(keyAPIKey).(APIKey)
	return k
}

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

// errRequestRefused marks requests the editor refused to send.
var errRequestRefused = errors.New("request refused")

// Editor returns the request editor registered once on the generated
// client. For every request it (1) refuses any host other than the
// configured API host, so the key is never sent elsewhere, (2) refuses paths
// that escaped the API base path or contain dot segments, as sent or once or
// twice percent-decoded, and (3) sets the Authorization header from the
// caller's context.
func Editor(base *url.URL) func(ctx context.Context, req *http.Request) error {
	basePath := strings.TrimSuffix(base.EscapedPath(), "/") + "/"
	return func(ctx context.Context, req *http.Request) error {
		if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
			return fmt.Errorf("%w: host %s is not the configured API host", errRequestRefused, req.URL.Host)
		}
		p := req.URL.EscapedPath()
		if !strings.HasPrefix(p, basePath) {
			return fmt.Errorf("%w: path escapes the API base path", errRequestRefused)
		}
		if hasDotSegment(p) {
			return fmt.Errorf("%w: path contains a dot segment", errRequestRefused)
		}
		// A proxy in front of the API may decode the path once, and the API
		// decode it again: neither decoded form may hold a dot segment or a
		// backslash (Call.Path and Call.PathLike refuse such values first).
		for i, form := 0, p; i < 2; i++ {
			d, err := url.PathUnescape(form)
			if err != nil || d == form {
				break
			}
			if hasDotSegment(d) || strings.Contains(d, `\`) {
				return fmt.Errorf("%w: path contains a dot segment or a backslash once percent-decoded", errRequestRefused)
			}
			form = d
		}
		k := APIKeyFrom(ctx)
		if k.Empty() {
			return fmt.Errorf("%w: no API key", errRequestRefused)
		}
		req.Header.Set("Authorization", "Bearer "+k.Reveal())
		return nil
	}
}
