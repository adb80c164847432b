package storage

import (
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestMetaCache(t *testing.T) {
	d := func(s string) digest.Digest { return digest.FromString(s) }
	cases := []struct {
		name string
		max  int
		ops  []string // "+x" puts x, "?x" gets x expecting a hit, "!x" expects a miss
	}{
		{"hit after put", 2, []string{"+a", "?a", "!b"}},
		{"older generation still served", 2, []string{"+a", "+b", "+c", "?a", "?b", "?c"}},
		{"two rotations drop the cold", 2, []string{"+a", "+b", "+c", "+d", "+e", "!a", "!b", "?e"}},
		{"a hit keeps an entry young", 2, []string{"+a", "+b", "+c", "?a", "+d", "+e", "?a", "!b"}},
		{"overwrite", 1, []string{"+a", "+a", "?a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newMetaCache(tc.max)
			for i, op := range tc.ops {
				key := d(op[1:])
				switch op[0] {
				case '+':
					c.put(key, manifestMeta{MediaType: op[1:]})
				case '?', '!':
					m, ok := c.get(key)
					if ok != (op[0] == '?') || (ok && m.MediaType != op[1:]) {
						t.Fatalf("op %d %s: get = %+v, %v", i, op, m, ok)
					}
				}
			}
		})
	}
}
