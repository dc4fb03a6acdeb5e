package runtime

import (
	"fmt"
	"testing"
	"time"
)

// TestKeyLimiterEvictsOnlyFullBuckets: with the table full, a new key takes
// the place of a bucket only once that bucket has refilled completely; until
// then the new key is refused and every tracked key keeps its state.
func TestKeyLimiterEvictsOnlyFullBuckets(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newKeyLimiter(RateLimit{PerSecond: 1, Burst: 2, MaxKeys: 3})
	l.now = func() time.Time { return now }
	key := func(i int) APIKey { return NewAPIKey(fmt.Sprintf("msk_u_key_%d", i)) }
	victim := key(0)
	for range 2 {
		if rl := l.reserve(victim); rl != nil {
			t.Fatalf("within the burst: %v", rl)
		}
	}
	if rl := l.reserve(victim); rl == nil || rl.tooMany != 0 {
		t.Fatalf("over the burst: %v", rl)
	}
	// Two junk keys fill the table; more are refused, the victim stays limited.
	for i := 1; i <= 2; i++ {
		if rl := l.reserve(key(i)); rl != nil {
			t.Fatalf("key %d: %v", i, rl)
		}
	}
	for i := 3; i < 100; i++ {
		rl := l.reserve(key(i))
		if rl == nil || rl.tooMany != 3 || rl.wait <= 0 {
			t.Fatalf("junk key %d with the table full of limited buckets: %v", i, rl)
		}
	}
	if rl := l.reserve(victim); rl == nil {
		t.Fatal("junk keys flushed the victim's bucket")
	}
	// A second later the victim has one token again.
	now = now.Add(time.Second)
	if rl := l.reserve(victim); rl != nil {
		t.Fatalf("after a refill of one token: %v", rl)
	}
	// Two seconds on, key 1 (the least recently used) is full again and
	// makes room for a new key; the victim is still tracked.
	now = now.Add(2 * time.Second)
	if rl := l.reserve(key(50)); rl != nil {
		t.Fatalf("a new key once a bucket refilled: %v", rl)
	}
	if _, ok := l.m[hashKey(key(1))]; ok {
		t.Error("the full least recently used bucket was not the one dropped")
	}
	if _, ok := l.m[hashKey(victim)]; !ok {
		t.Error("the victim's bucket was dropped")
	}
}
