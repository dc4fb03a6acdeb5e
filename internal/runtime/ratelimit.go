package runtime

import (
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a per-API-key token bucket for tool calls. PerSecond <= 0
// disables it (the default: the MIOSA API enforces its own limits).
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// keyLimiter keeps one limiter per sha256 of the key, never the key itself.
type keyLimiter struct {
	cfg RateLimit
	mu  sync.Mutex
	m   map[[32]byte]*rate.Limiter
}

func newKeyLimiter(cfg RateLimit) *keyLimiter {
	if cfg.PerSecond <= 0 {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(cfg.PerSecond))
	}
	return &keyLimiter{cfg: cfg, m: map[[32]byte]*rate.Limiter{}}
}

// reserve takes a token for key; it returns how long to wait when none is
// available (and takes nothing).
func (l *keyLimiter) reserve(k APIKey) time.Duration {
	if l == nil {
		return 0
	}
	h := sha256.Sum256([]byte(k.Reveal()))
	l.mu.Lock()
	lim, ok := l.m[h]
	if !ok {
		if len(l.m) > 10000 {
			clear(l.m) // bound memory; callers just get fresh buckets
		}
		lim = rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)
		l.m[h] = lim
	}
	l.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d
	}
	return 0
}
