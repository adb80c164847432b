package token

import (
	"sync"
	"time"
)

// tokenCache remembers verified tokens by their exact text. Entries are
// only ever added after a full verification and are checked for expiry on
// every hit; when the cache is full, expired entries go first, then
// arbitrary ones, so it never holds more than max.
type tokenCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]*verified
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, m: make(map[string]*verified)}
}

// get returns the entry for raw, or nil.
func (c *tokenCache) get(raw string) *verified {
	c.mu.RLock()
	t := c.m[raw]
	c.mu.RUnlock()
	return t
}

// remove forgets raw.
func (c *tokenCache) remove(raw string) {
	c.mu.Lock()
	delete(c.m, raw)
	c.mu.Unlock()
}

// put remembers t for raw, making room first when the cache is full.
func (c *tokenCache) put(raw string, t *verified, now time.Time, leeway time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[raw]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !e.current(now, leeway) {
				delete(c.m, k)
			}
		}
		// Still full: drop an eighth, in map order (effectively random).
		for k := range c.m {
			if len(c.m) < c.max-c.max/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[raw] = t
}

// len returns the number of entries.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
