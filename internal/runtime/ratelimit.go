package runtime

import (
	"container/list"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a per-API-key token bucket for tool calls. PerSecond <= 0
// disables it (the default: the MIOSA API enforces its own limits).
type RateLimit struct {
	PerSecond float64
	Burst     int
	// MaxKeys bounds the table of buckets (DefaultRateLimitKeys).
	MaxKeys int
}

// DefaultRateLimitKeys is how many API keys the rate limiter tracks at once
// (about 200 bytes each).
const DefaultRateLimitKeys = 10_000

// keyLimiter keeps one bucket per sha256 of the key, never the key itself.
// The table is bounded, and an attacker cannot flush it with junk keys: to
// make room it only ever drops a bucket that has refilled completely (a
// full bucket is the same as a fresh one, so dropping it forgets nothing).
// The least recently used bucket is the one tried. When it is not full yet,
// a new key is refused (every tracked key is still limited) until it is.
type keyLimiter struct {
	cfg RateLimit
	mu  sync.Mutex
	m   map[[32]byte]*list.Element
	lru *list.List // of *bucket, most recently used first
	now func() time.Time
}

type bucket struct {
	key [32]byte
	lim *rate.Limiter
}

func newKeyLimiter(cfg RateLimit) *keyLimiter {
	if cfg.PerSecond <= 0 {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(cfg.PerSecond))
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultRateLimitKeys
	}
	return &keyLimiter{cfg: cfg, m: map[[32]byte]*list.Element{}, lru: list.New(), now: time.Now}
}

// rateLimited is why a call was refused and how long to wait.
type rateLimited struct {
	wait    time.Duration
	tooMany int // >0: the table is full (this many keys) and all are still limited
}

func (r *rateLimited) Error() string {
	secs := int(r.wait.Seconds() + 0.999)
	if r.tooMany > 0 {
		return fmt.Sprintf("Rate limited by this MCP server: too many distinct API keys are calling it at once (it tracks %d, and all are still limited). Retry after %d seconds.", r.tooMany, secs)
	}
	return fmt.Sprintf("Rate limited by this MCP server: too many tool calls for this API key. Retry after %d seconds.", secs)
}

// reserve takes a token for key; when none is available it returns why and
// how long to wait (and takes nothing).
func (l *keyLimiter) reserve(k APIKey) *rateLimited {
	if l == nil {
		return nil
	}
	h := hashKey(k)
	now := l.now()
	l.mu.Lock()
	e, ok := l.m[h]
	if ok {
		l.lru.MoveToFront(e)
	} else {
		if l.lru.Len() >= l.cfg.MaxKeys {
			oldest := l.lru.Back()
			b := oldest.Value.(*bucket)
			if missing := float64(l.cfg.Burst) - b.lim.TokensAt(now); missing > 0 {
				l.mu.Unlock()
				return &rateLimited{tooMany: l.cfg.MaxKeys, wait: time.Duration(missing / l.cfg.PerSecond * float64(time.Second))}
			}
			l.lru.Remove(oldest)
			delete(l.m, b.key)
		}
		e = l.lru.PushFront(&bucket{key: h, lim: rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)})
		l.m[h] = e
	}
	lim := e.Value.(*bucket).lim
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &rateLimited{wait: d}
	}
	return nil
}

func hashKey(k APIKey) [32]byte { return sha256.Sum256([]byte(k.Reveal())) }
