package testsupport

import (
	"bytes"
	"sync"
	"time"
)

// Buffer is a goroutine-safe byte sink for a child process's output (its
// stderr, the server log), which a test can wait on.
type Buffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	kick chan struct{} // closed, and replaced, on each write
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.b.Write(p)
	if b.kick != nil {
		close(b.kick)
		b.kick = nil
	}
	return n, err
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WaitFor waits until cond holds for what was written, re-checking on each
// write, for at most d or until stop closes; it reports whether cond held.
func (b *Buffer) WaitFor(d time.Duration, stop <-chan struct{}, cond func(string) bool) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		b.mu.Lock()
		ok := cond(b.b.String())
		if b.kick == nil {
			b.kick = make(chan struct{})
		}
		kick := b.kick
		b.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-kick:
		case <-stop:
			return cond(b.String())
		case <-timer.C:
			return false
		}
	}
}
