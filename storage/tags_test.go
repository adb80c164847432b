package storage_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/berthhq/berth/storage"
)

func TestTagsPagination(t *testing.T) {
	// Stored out of order; "V2" sorts before the lowercase tags in byte
	// order, as registry:2 and the distribution spec's lexical order have it.
	stored := []string{"v1.0", "latest", "a", "V2", "b", "v1", "c"}
	all := []string{"V2", "a", "b", "c", "latest", "v1", "v1.0"}
	cases := []struct {
		name string
		last string
		n    int
		want []string
		more bool
	}{
		{"all", "", -1, all, false},
		{"first page", "", 3, all[:3], true},
		{"middle page", "b", 2, []string{"c", "latest"}, true},
		{"last page", "latest", 10, []string{"v1", "v1.0"}, false},
		{"page ending exactly at the end", "c", 3, []string{"latest", "v1", "v1.0"}, false},
		{"n equals the count", "", len(all), all, false},
		{"n beyond the count", "", 100, all, false},
		{"one", "", 1, []string{"V2"}, true},
		{"last not a tag", "bb", 2, []string{"c", "latest"}, true},
		{"last before everything", "0", -1, all, false},
		{"last is the final tag", "v1.0", 5, []string{}, false},
		{"last after everything", "zzz", -1, []string{}, false},
		{"n zero", "", 0, []string{}, true},
	}
	forEachDriver(t, func(t *testing.T, e *env) {
		r := e.repo(t, "tags/page")
		m := pushImage(t, r, "", nil)
		for _, tag := range stored {
			if err := r.Tag(t.Context(), tag, m.Descriptor.Digest); err != nil {
				t.Fatalf("Tag(%s): %v", tag, err)
			}
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, more, err := mustRepo(t, e.fresh(t), "tags/page").Tags(t.Context(), tc.last, tc.n)
				if err != nil {
					t.Fatalf("Tags: %v", err)
				}
				if !slices.Equal(got, tc.want) || (tc.n != 0 && more != tc.more) {
					t.Errorf("Tags(%q, %d) = %q, more %v; want %q, more %v", tc.last, tc.n, got, more, tc.want, tc.more)
				}
			})
		}
		t.Run("walk every page", func(t *testing.T) {
			var seen []string
			last := ""
			for range len(all) + 1 {
				page, more, err := r.Tags(t.Context(), last, 2)
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

func TestTagsRepositoryStates(t *testing.T) {
	cases := []struct {
		name    string
		repo    string
		setup   func(t *testing.T, e *env)
		want    []string
		wantErr error
	}{
		{"unknown repository", "tags/none", func(*testing.T, *env) {}, nil, storage.ErrNameUnknown},
		{"manifest pushed by digest only", "tags/digest", func(t *testing.T, e *env) {
			pushImage(t, e.repo(t, "tags/digest"), "", nil)
		}, []string{}, nil},
		{"every tag removed", "tags/untagged", func(t *testing.T, e *env) {
			r := e.repo(t, "tags/untagged")
			pushImage(t, r, "v1", nil)
			if err := r.Untag(t.Context(), "v1"); err != nil {
				t.Fatal(err)
			}
		}, []string{}, nil},
		{"tagged", "tags/one", func(t *testing.T, e *env) {
			pushImage(t, e.repo(t, "tags/one"), "v1", nil)
		}, []string{"v1"}, nil},
		// "a" is only a path prefix of "a/b"; registry:2 has no repository
		// "a" and the distribution API answers NAME_UNKNOWN for it.
		{"parent of a nested repository", "tags", func(t *testing.T, e *env) {
			pushImage(t, e.repo(t, "tags/child"), "v1", nil)
		}, nil, storage.ErrNameUnknown},
		{"name that prefixes another", "tags/chi", func(t *testing.T, e *env) {
			pushImage(t, e.repo(t, "tags/child"), "v1", nil)
		}, nil, storage.ErrNameUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				tc.setup(t, e)
				got, more, err := mustRepo(t, e.fresh(t), tc.repo).Tags(t.Context(), "", -1)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Errorf("Tags = %q, %v; want %v", got, err, tc.wantErr)
					}
					return
				}
				if err != nil || more || !slices.Equal(got, tc.want) || got == nil {
					t.Errorf("Tags = %#v, %v, %v; want %q", got, more, err, tc.want)
				}
			})
		})
	}
}

func TestRepositoryExists(t *testing.T) {
	cases := []struct {
		name  string
		repo  string
		setup func(t *testing.T, e *env)
		want  bool
	}{
		{"nothing stored", "ex/a", func(*testing.T, *env) {}, false},
		{"has a manifest", "ex/a", func(t *testing.T, e *env) { pushImage(t, e.repo(t, "ex/a"), "v1", nil) }, true},
		{"has a blob", "ex/a", func(t *testing.T, e *env) { pushBlob(t, e.repo(t, "ex/a"), mtOCILayer, []byte("x")) }, true},
		{"only a nested repository below", "ex", func(t *testing.T, e *env) { pushImage(t, e.repo(t, "ex/a"), "v1", nil) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				tc.setup(t, e)
				got, err := e.repo(t, tc.repo).Exists(t.Context())
				if err != nil || got != tc.want {
					t.Errorf("Exists(%s) = %v, %v; want %v", tc.repo, got, err, tc.want)
				}
			})
		})
	}
}
