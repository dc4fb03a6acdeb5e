package mock

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// tenantID is the one account the mock serves.
const tenantID = "tnt_mock"

// mockDomain is the domain of every URL the mock hands out. The .invalid
// TLD is reserved (RFC 2606), so a mock URL can never reach a real host.
const mockDomain = "miosa.invalid"

// state is the whole in-memory account. All access goes through the Mock's
// mutex; nothing here locks on its own.
type state struct {
	seq int

	computers   registry[computer]
	sandboxes   registry[sandbox]
	templates   registry[sandboxTemplate]
	deployments registry[deployment]
	buckets     registry[bucket]
	databases   registry[database]
	workspaces  registry[workspace]
	cronJobs    registry[cronJob]
	volumes     registry[volume]
	webhooks    registry[webhook]
	functions   registry[function]
	apiKeys     registry[apiKey]

	branding branding
}

func newState() *state {
	s := &state{}
	s.seedTemplates()
	s.branding = branding{AppName: "MIOSA"}
	return s
}

// newID returns a fresh ID such as cmp_0007k2j9x8qa (prefix, a counter that
// keeps IDs unique and sortable, a random tail so they look real) and the
// counter value, which orders resources for cursor pagination.
func (s *state) newID(prefix string) (string, int) {
	s.seq++
	return fmt.Sprintf("%s%04d%s", prefix, s.seq, randString(8)), s.seq
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func randString(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(alnum[rand.IntN(len(alnum))])
	}
	return b.String()
}

func randHex(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[rand.IntN(16)]
	}
	return string(b)
}

// seqd is a resource that knows its creation order.
type seqd interface{ seqNo() int }

// meta is embedded in every stored resource: its creation order and its
// pending status change. Both are unexported, so they never reach JSON.
type meta struct {
	seq int
	tr  transition
}

func (m *meta) seqNo() int { return m.seq }

// registry is an insertion-ordered map of resources by ID.
type registry[T any] struct {
	byID  map[string]*T
	order []string
}

func (r *registry[T]) put(id string, v *T) {
	if r.byID == nil {
		r.byID = map[string]*T{}
	}
	if _, dup := r.byID[id]; !dup {
		r.order = append(r.order, id)
	}
	r.byID[id] = v
}

func (r *registry[T]) get(id string) (*T, bool) {
	v, ok := r.byID[id]
	return v, ok
}

func (r *registry[T]) remove(id string) bool {
	if _, ok := r.byID[id]; !ok {
		return false
	}
	delete(r.byID, id)
	for i, o := range r.order {
		if o == id {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
	return true
}

// all returns the resources in creation order, never nil (a JSON list
// must be [] rather than null).
func (r *registry[T]) all() []*T {
	out := make([]*T, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.byID[id])
	}
	return out
}

func (r *registry[T]) len() int { return len(r.order) }

// filter keeps the items for which keep returns true; the result is never nil.
func filter[T any](items []T, keep func(T) bool) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		if keep(it) {
			out = append(out, it)
		}
	}
	return out
}

// slugify makes a URL-safe slug from a name ("My App" → "my-app").
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
