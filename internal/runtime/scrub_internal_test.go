package runtime

import (
	"context"
	"regexp"
	"testing"
)

// TestCallScrubber: a call reuses the scrubber its context carries only
// when it was built for exactly the call's key; any other key gets its
// own, which scrubs that key.
func TestCallScrubber(t *testing.T) {
	const k1, k2 = "msk_u_first_0123456789abcdef", "msk_u_second_0123456789abcdef"
	session := NewScrubber(NewAPIKey(k1))
	both := NewScrubber(NewAPIKey(k1), NewAPIKey(k2))
	tests := []struct {
		name      string
		ctxScrub  *Scrubber // in the context (nil: none)
		key       string
		wantReuse bool
	}{
		{"the session's key", session, k1, true},
		{"another key than the context's scrubber", session, k2, false},
		{"no scrubber in the context", nil, k1, false},
		{"a scrubber built for several keys", both, k1, false},
		{"no key", session, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := WithAPIKey(context.Background(), NewAPIKey(tc.key))
			if tc.ctxScrub != nil {
				ctx = withScrubber(ctx, tc.ctxScrub)
			}
			sc := callScrubber(ctx)
			if reused := sc != nil && sc == tc.ctxScrub; reused != tc.wantReuse {
				t.Fatalf("reused %v, want %v", reused, tc.wantReuse)
			}
			if tc.key != "" && sc.String("x "+tc.key+" y") == "x "+tc.key+" y" {
				t.Fatalf("the call's scrubber leaves its own key in place")
			}
			if tc.key == "" && sc != nil {
				t.Fatalf("a call without a key got a scrubber")
			}
		})
	}
}

// keyPrefixRE is the rule SecretOf implements by hand.
var keyPrefixRE = regexp.MustCompile(`^msk_[a-z]+_`)

func TestSecretOf(t *testing.T) {
	for _, k := range []string{"msk_u_abc", "msk_live_abc_def", "msk__abc", "msk_U_abc", "msk_u", "msk_u_", "msk_", "sk_u_abc", "", "msk_abc", "msk_é_x", "xmsk_u_a"} {
		if got, want := SecretOf(k), k[len(keyPrefixRE.FindString(k)):]; got != want {
			t.Errorf("SecretOf(%q) = %q, want %q", k, got, want)
		}
	}
}

// FuzzSecretOf: SecretOf agrees with ^msk_[a-z]+_ for any key.
func FuzzSecretOf(f *testing.F) {
	for _, k := range []string{"msk_u_abc", "msk_live_x_y", "msk__", "msk_u"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		if got, want := SecretOf(k), k[len(keyPrefixRE.FindString(k)):]; got != want {
			t.Fatalf("SecretOf(%q) = %q, want %q", k, got, want)
		}
	})
}
