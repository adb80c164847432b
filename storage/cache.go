package storage

import (
	"sync"

	"github.com/opencontainers/go-digest"
)

// manifestMeta is what a HEAD or a referrers listing needs of a manifest.
// Content is immutable under its digest, so this can be kept in memory by
// every process without coordination; whether a repository still holds the
// manifest is always asked of the driver.
type manifestMeta struct {
	MediaType    string
	Size         int64
	ArtifactType string
	Annotations  map[string]string
	Subject      digest.Digest
}

// metaCache is a bounded map with two generations: when the young one
// fills, it becomes the old one and the previous old one is dropped. Hits in
// the old generation move back into the young one, so hot entries stay.
type metaCache struct {
	mu         sync.Mutex
	max        int
	young, old map[digest.Digest]manifestMeta
}

func newMetaCache(max int) *metaCache {
	return &metaCache{max: max, young: map[digest.Digest]manifestMeta{}}
}

func (c *metaCache) get(d digest.Digest) (manifestMeta, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.young[d]; ok {
		return m, true
	}
	m, ok := c.old[d]
	if ok {
		c.putLocked(d, m)
	}
	return m, ok
}

func (c *metaCache) put(d digest.Digest, m manifestMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(d, m)
}

func (c *metaCache) putLocked(d digest.Digest, m manifestMeta) {
	if len(c.young) >= c.max {
		c.old, c.young = c.young, make(map[digest.Digest]manifestMeta, c.max)
	}
	c.young[d] = m
}
