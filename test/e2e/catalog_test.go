//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestPagination lists repositories and tags page by page, following the
// Link headers the registry sends, as the distribution spec describes.
func TestPagination(t *testing.T) {
	t.Parallel()
	reg := startTarget(t)
	a := reg.API(t)

	repos := []string{"page/a", "page/b", "page/b/nested", "page/c", "page/d-e", "page/d.e", "page/z"}
	img := dockerImage(t, 512, 1)
	for _, r := range repos {
		push(t, reg.Ref(r+":v1"), img)
	}
	tagNames := []string{"1.0", "1.1", "2.0", "alpha", "beta", "latest", "v1"} // v1 pushed above
	for _, tag := range tagNames[:len(tagNames)-1] {
		push(t, reg.Ref("page/a:"+tag), img)
	}

	t.Run("catalog", func(t *testing.T) {
		for _, n := range []int{1, 2, 3, len(repos), 100} {
			t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
				got, pages := a.paginate(fmt.Sprintf("/v2/_catalog?n=%d", n), "repositories")
				if !slices.Equal(got, repos) {
					t.Fatalf("catalog pages hold %v, want %v", got, repos)
				}
				if want := (len(repos) + n - 1) / n; pages < want || pages > want+1 {
					t.Errorf("%d pages of %d, want %d (or one more, empty, page)", pages, n, want)
				}
			})
		}
	})

	t.Run("catalog page bounds", func(t *testing.T) {
		resp := a.do("GET", "/v2/_catalog?n=2", nil, nil).expect(t, http.StatusOK)
		var page struct{ Repositories []string }
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(page.Repositories, repos[:2]) {
			t.Errorf("first page %v, want %v", page.Repositories, repos[:2])
		}
		next := nextLink(resp.Header)
		if !strings.Contains(next, "last=page%2Fb") && !strings.Contains(next, "last=page/b") {
			t.Errorf("Link next %q does not continue after page/b", next)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		resp = a.do("GET", "/v2/_catalog?n=2&last=page/d.e", nil, nil).expect(t, http.StatusOK)
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(page.Repositories, []string{"page/z"}) {
			t.Errorf("page after page/d.e: %v, want [page/z]", page.Repositories)
		}
		if l := resp.Header.Get("Link"); l != "" {
			t.Errorf("last page carries Link %q", l)
		}
	})

	t.Run("tags", func(t *testing.T) {
		for _, n := range []int{1, 2, 4, 100} {
			t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
				got, _ := a.paginate(fmt.Sprintf("/v2/page/a/tags/list?n=%d", n), "tags")
				if !slices.Equal(got, tagNames) {
					t.Fatalf("tag pages hold %v, want %v", got, tagNames)
				}
			})
		}
		resp := a.do("GET", "/v2/page/a/tags/list?n=2&last=2.0", nil, nil).expect(t, http.StatusOK)
		var page struct {
			Name string
			Tags []string
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			t.Fatal(err)
		}
		if page.Name != "page/a" || !slices.Equal(page.Tags, []string{"alpha", "beta"}) {
			t.Errorf("after 2.0: %+v, want page/a [alpha beta]", page)
		}
	})

	t.Run("tags of unknown repository", func(t *testing.T) {
		a.do("GET", "/v2/page/nope/tags/list", nil, nil).expectError(t, http.StatusNotFound, "NAME_UNKNOWN")
	})
}
