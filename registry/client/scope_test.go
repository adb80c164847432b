package client

import (
	"net/http"
	"slices"
	"testing"
)

func TestNormalizeScopes(t *testing.T) {
	tests := []struct {
		name string
		in   [][]string
		want []string
	}{
		{"empty", nil, nil},
		{"actions sorted", [][]string{{"repository:a:push,pull"}}, []string{"repository:a:pull,push"}},
		{"merged across lists", [][]string{{"repository:a:pull"}, {"repository:a:push", "repository:b:pull"}},
			[]string{"repository:a:pull,push", "repository:b:pull"}},
		{"duplicates dropped", [][]string{{"repository:a:pull,pull", "repository:a:pull"}}, []string{"repository:a:pull"}},
		{"host with port in name", [][]string{{"repository:localhost:5000/a:pull"}}, []string{"repository:localhost:5000/a:pull"}},
		{"catalog", [][]string{{CatalogScope}}, []string{CatalogScope}},
		{"odd entries kept verbatim", [][]string{{"weird", "a::", "weird"}}, []string{"a::", "weird"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalizeScopes(tt.in...); !slices.Equal(got, tt.want) {
				t.Errorf("normalizeScopes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequestScopes(t *testing.T) {
	tests := []struct {
		method, path string
		want         string // the one inferred scope, or the class when none
	}{
		{http.MethodGet, "/v2/", classLogin},
		{http.MethodGet, "/v2/_catalog", CatalogScope},
		{http.MethodGet, "/v2/team/app/manifests/latest", "repository:team/app:pull"},
		{http.MethodHead, "/v2/app/blobs/sha256:abc", "repository:app:pull"},
		{http.MethodGet, "/v2/app/tags/list", "repository:app:pull"},
		{http.MethodGet, "/v2/app/referrers/sha256:abc", "repository:app:pull"},
		{http.MethodPut, "/v2/app/manifests/v1", "repository:app:pull,push"},
		{http.MethodDelete, "/v2/app/manifests/sha256:abc", "repository:app:delete"},
		{http.MethodDelete, "/v2/app/blobs/sha256:abc", "repository:app:delete"},
		{http.MethodPost, "/v2/app/blobs/uploads/", "repository:app:pull,push"},
		{http.MethodGet, "/v2/app/blobs/uploads/123", "repository:app:pull,push"},
		{http.MethodDelete, "/v2/app/blobs/uploads/123", "repository:app:pull,push"},
		{http.MethodGet, "/v2/a/blobs/manifests/v1", "repository:a/blobs:pull"},
		{http.MethodPost, "/v2/a/blobs/blobs/uploads/", "repository:a/blobs:pull,push"},
		{http.MethodGet, "/v2/odd", classOther},
		{http.MethodGet, "/other", classOther},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			class, scopes := requestScopes(tt.method, tt.path)
			if class != tt.want {
				t.Errorf("class = %q, want %q", class, tt.want)
			}
			if len(scopes) > 0 && (len(scopes) != 1 || scopes[0] != class) {
				t.Errorf("scopes = %q, want [%q]", scopes, class)
			}
		})
	}
}
