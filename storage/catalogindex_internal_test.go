package storage

import (
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/berthhq/berth/storage/driver"
)

// The index's encoding keeps the catalog's order and round-trips, and
// encoded names are single valid path components.
func TestIndexNameEncoding(t *testing.T) {
	const alphabet = "-./0123456789_abcdefghijklmnopqrstuvwxyz"
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "a-b", "a.b", "a/b", "a/b/c", "a0", "a9", "a_b", "ab", "z", "library/alpine", "0", "9/9"}
	for range 2000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for _, n := range names {
		e := encodeIndexName(n)
		if got := decodeIndexName(e); got != n {
			t.Fatalf("decode(encode(%q)) = %q", n, got)
		}
		if err := driver.CheckPath("test", "/"+e); err != nil && n != "." && n != ".." {
			t.Fatalf("encode(%q) = %q is not a path component: %v", n, e, err)
		}
	}
	byName := append([]string(nil), names...)
	sort.Strings(byName)
	byKey := append([]string(nil), names...)
	sort.Slice(byKey, func(i, j int) bool { return encodeIndexName(byKey[i]) < encodeIndexName(byKey[j]) })
	for i := range byName {
		if byName[i] != byKey[i] {
			t.Fatalf("order differs at %d: by name %q, by encoded key %q", i, byName[i], byKey[i])
		}
	}
}
