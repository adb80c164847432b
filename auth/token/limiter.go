package token

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (a client address or a user name)
// in fixed windows. A key with max failures inside its window is blocked
// until the window, which starts at its first failure, has passed. Memory
// is bounded: at most size keys are kept; when full, expired windows are
// dropped first, then arbitrary ones.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	size   int
	m      map[string]*failures
}

// failures is one key's window.
type failures struct {
	start time.Time
	count int
}

func newLimiter(max int, window time.Duration, size int) *limiter {
	return &limiter{max: max, window: window, size: size, m: make(map[string]*failures)}
}

// blocked reports whether any of keys is blocked at now, and for how long
// the longest block still runs.
func (l *limiter) blocked(now time.Time, keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		f, ok := l.m[k]
		if !ok || f.count < l.max {
			continue
		}
		if left := f.start.Add(l.window).Sub(now); left > 0 {
			wait = max(wait, left)
		}
	}
	return wait, wait > 0
}

// fail records a failure for each of keys at now.
func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		f, ok := l.m[k]
		if !ok {
			l.makeRoom(now)
			f = &failures{start: now}
			l.m[k] = f
		} else if now.Sub(f.start) >= l.window {
			f.start, f.count = now, 0
		}
		f.count++
	}
}

// reset forgets key's failures (a user who just logged in).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

// makeRoom frees a slot when the map is full. Called with mu held.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.m) < l.size {
		return
	}
	for k, f := range l.m {
		if now.Sub(f.start) >= l.window {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < l.size {
			break
		}
		delete(l.m, k)
	}
}
