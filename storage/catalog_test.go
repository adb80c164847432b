package storage_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/storage"
)

func TestCatalog(t *testing.T) {
	// Pushed in this order; "a-b" sorts before "a/b" ('-' < '/').
	repos := []string{"z", "a/b/c", "a-b", "a/b", "a", "0", "library/alpine", "a.b", "a_b"}
	all := []string{"0", "a", "a-b", "a.b", "a/b", "a/b/c", "a_b", "library/alpine", "z"}
	cases := []struct {
		name string
		last string
		n    int
		want []string
		more bool
	}{
		{"all", "", -1, all, false},
		{"first page", "", 4, all[:4], true},
		{"page after a nested name", "a/b", 2, []string{"a/b/c", "a_b"}, true},
		{"page after a parent", "a", 3, []string{"a-b", "a.b", "a/b"}, true},
		{"last page", "a_b", 5, []string{"library/alpine", "z"}, false},
		{"n equals the rest", "a_b", 2, []string{"library/alpine", "z"}, false},
		{"last not a repository", "b", -1, []string{"library/alpine", "z"}, false},
		{"last after everything", "zz", 10, []string{}, false},
		{"one", "", 1, []string{"0"}, true},
	}
	forEachDriver(t, func(t *testing.T, e *env) {
		for _, name := range repos {
			pushImage(t, e.repo(t, name), "latest", nil)
		}
		// Not repositories for the catalog: no _manifests directory.
		pushBlob(t, e.repo(t, "only/layers"), mtOCILayer, []byte("layer"))
		if _, err := e.repo(t, "only/uploads").NewUpload(t.Context()); err != nil {
			t.Fatal(err)
		}
		u, err := e.repo(t, "a/b/pending").NewUpload(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.Append(t.Context(), strings.NewReader("partial"), 0); err != nil {
			t.Fatal(err)
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, more, err := e.fresh(t).Catalog(t.Context(), tc.last, tc.n)
				if err != nil {
					t.Fatalf("Catalog: %v", err)
				}
				if !slices.Equal(got, tc.want) || more != tc.more {
					t.Errorf("Catalog(%q, %d) = %q, more %v; want %q, more %v", tc.last, tc.n, got, more, tc.want, tc.more)
				}
			})
		}
		t.Run("walk every page", func(t *testing.T) {
			var seen []string
			last := ""
			for range len(all) + 1 {
				page, more, err := e.s.Catalog(t.Context(), last, 2)
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, page...)
				if !more {
					break
				}
				last = page[len(page)-1]
			}
			if !slices.Equal(seen, all) {
				t.Errorf("pages joined = %q, want %q", seen, all)
			}
		})
	})
}

func TestCatalogEmpty(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, e *env)
	}{
		{"nothing stored", func(*testing.T, *env) {}},
		{"only blobs", func(t *testing.T, e *env) { pushBlob(t, e.repo(t, "x"), mtOCILayer, []byte("x")) }},
		{"only an upload", func(t *testing.T, e *env) {
			if _, err := e.repo(t, "x/y").NewUpload(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				tc.setup(t, e)
				got, more, err := e.s.Catalog(t.Context(), "", -1)
				if err != nil || more || len(got) != 0 {
					t.Errorf("Catalog = %q, %v, %v; want nothing", got, more, err)
				}
			})
		})
	}
}

// TestCatalogIndex covers the index kept for S3 (and forced on here for
// every driver): a tree written without it (by registry:2, or an older
// Berth) is indexed on the first catalog request, and repositories that
// other Stores (replicas) create afterwards are listed at once.
func TestCatalogIndex(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		unindexed, err := storage.New(e.d, storage.WithCatalogIndex(false))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"old/one", "old/two", "x"} {
			pushImage(t, mustRepo(t, unindexed, name), "v1", nil)
		}
		if _, err := e.d.Stat(ctx, v2Root+"/_berth/repositories-built"); err == nil {
			t.Fatal("an index exists before any indexed Store ran")
		}
		replicaA, _ := storage.New(e.d, storage.WithCatalogIndex(true))
		replicaB, _ := storage.New(e.d, storage.WithCatalogIndex(true))
		want := []string{"old/one", "old/two", "x"}
		if got, _, err := replicaA.Catalog(ctx, "", -1); err != nil || !slices.Equal(got, want) {
			t.Fatalf("first catalog (builds the index) = %q, %v; want %q", got, err, want)
		}
		if _, err := e.d.Stat(ctx, v2Root+"/_berth/repositories-built"); err != nil {
			t.Fatalf("index not marked built: %v", err)
		}
		// A repository created on replica B shows in replica A's catalog.
		pushImage(t, mustRepo(t, replicaB, "new/three"), "v1", nil)
		want = []string{"new/three", "old/one", "old/two", "x"}
		if got, _, err := replicaA.Catalog(ctx, "", -1); err != nil || !slices.Equal(got, want) {
			t.Fatalf("catalog after a push on another replica = %q, %v; want %q", got, err, want)
		}
		if got, more, err := replicaA.Catalog(ctx, "new/three", 2); err != nil || !slices.Equal(got, want[1:3]) || !more {
			t.Fatalf("page after new/three = %q, more %v, %v; want %q, more", got, more, err, want[1:3])
		}
		// A repository that a registry without the index (registry:2)
		// creates later is indexed by the next upload purge.
		pushImage(t, mustRepo(t, unindexed, "late/four"), "v1", nil)
		if _, err := replicaB.PurgeUploads(ctx, time.Now().Add(-time.Hour), false); err != nil {
			t.Fatal(err)
		}
		want = []string{"late/four", "new/three", "old/one", "old/two", "x"}
		if got, _, err := replicaA.Catalog(ctx, "", -1); err != nil || !slices.Equal(got, want) {
			t.Fatalf("catalog after the purge's refresh = %q, %v; want %q", got, err, want)
		}
		// The index is not the catalog's only truth for the walk: a Store
		// without it still finds every repository.
		if got, _, err := unindexed.Catalog(ctx, "", -1); err != nil || !slices.Equal(got, want) {
			t.Fatalf("walked catalog = %q, %v; want %q", got, err, want)
		}
	})
}
