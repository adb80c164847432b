package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestNew(t *testing.T) {
	tests := []struct {
		host       string
		opts       []Option
		wantScheme string // "" for an error
	}{
		{"localhost:5000", nil, "http"},
		{"LOCALHOST", nil, "http"},
		{"127.0.0.1:5000", nil, "http"},
		{"127.1.2.3", nil, "http"},
		{"[::1]:5000", nil, "http"},
		{"registry.example.com", nil, "https"},
		{"10.0.0.5:5000", nil, "https"},
		{"localhost:5000", []Option{WithPlainHTTP(false)}, "https"},
		{"registry.example.com", []Option{WithPlainHTTP(true)}, "http"},
		{"", nil, ""},
		{"https://registry.example.com", nil, ""},
		{"registry.example.com/path", nil, ""},
		{"user@registry.example.com", nil, ""},
		{"registry.example.com?x", nil, ""},
		{"a b", nil, ""},
		{"localhost:5000", []Option{WithCredentials(nil)}, ""},
		{"localhost:5000", []Option{WithTransport(nil)}, ""},
		{"localhost:5000", []Option{WithTransportOptions(WithScopes(""))}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			c, err := New(tt.host, tt.opts...)
			if tt.wantScheme == "" {
				if err == nil {
					t.Fatalf("New(%q) succeeded", tt.host)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.base.Scheme != tt.wantScheme || c.Host() != tt.host {
				t.Errorf("scheme %q host %q, want %q %q", c.base.Scheme, c.Host(), tt.wantScheme, tt.host)
			}
		})
	}
}

func TestUserAgent(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	c, err := New(f.host(), WithUserAgent("ctl/1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.agents) < 3 { // 401, token, retry
		t.Fatalf("%d requests", len(f.agents))
	}
	for _, ua := range f.agents {
		if ua != "ctl/1.0" {
			t.Errorf("User-Agent %q, want ctl/1.0 on registry and token requests alike", ua)
		}
	}
}

func TestManifests(t *testing.T) {
	f := newFake(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	const mt = "application/vnd.oci.image.manifest.v1+json"
	d, err := c.PutManifest(ctx, "team/app", "v1", mt, manifestBody)
	if err != nil {
		t.Fatal(err)
	}
	if d != digest.FromBytes(manifestBody) {
		t.Errorf("PutManifest digest %s", d)
	}
	for _, ref := range []string{"v1", d.String()} {
		desc, err := c.HeadManifest(ctx, "team/app", ref)
		if err != nil {
			t.Fatal(err)
		}
		if desc.Digest != d || desc.Size != int64(len(manifestBody)) || desc.MediaType != mt {
			t.Errorf("HeadManifest(%s) = %+v", ref, desc)
		}
		gotMT, gotD, body, err := c.GetManifest(ctx, "team/app", ref)
		if err != nil {
			t.Fatal(err)
		}
		if gotMT != mt || gotD != d || !bytes.Equal(body, manifestBody) {
			t.Errorf("GetManifest(%s) = %q %s %q", ref, gotMT, gotD, body)
		}
	}
	if err := c.DeleteManifest(ctx, "team/app", d.String()); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = c.GetManifest(ctx, "team/app", d.String())
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Code != "MANIFEST_UNKNOWN" {
		t.Errorf("GetManifest after delete = %v, want MANIFEST_UNKNOWN", err)
	}
	if want := "get manifest team/app@" + d.String() + ": MANIFEST_UNKNOWN: manifest unknown to registry"; err.Error() != want {
		t.Errorf("error line %q, want %q", err, want)
	}
	if _, err := c.HeadManifest(ctx, "team/app", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("HeadManifest of a missing tag = %v", err)
	}
	if err := c.DeleteManifest(ctx, "team/app", d.String()); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
}

func TestManifestDigestChecks(t *testing.T) {
	ctx := context.Background()
	other := digest.FromString("something else")
	t.Run("put under a wrong digest", func(t *testing.T) {
		c := newTestClient(t, newFake(t), nil)
		_, err := c.PutManifest(ctx, "app", other.String(), "application/json", manifestBody)
		if !errors.Is(err, ErrDigestMismatch) {
			t.Errorf("PutManifest = %v, want ErrDigestMismatch", err)
		}
	})
	t.Run("registry serves other bytes", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Docker-Content-Digest", other.String())
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			_, _ = w.Write(manifestBody)
		}))
		t.Cleanup(srv.Close)
		c, _ := New(strings.TrimPrefix(srv.URL, "http://"))
		for _, ref := range []string{"latest", other.String()} {
			if _, _, _, err := c.GetManifest(ctx, "app", ref); !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("GetManifest(%s) = %v, want ErrDigestMismatch", ref, err)
			}
		}
	})
	t.Run("too large", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(bytes.Repeat([]byte("x"), MaxManifestSize+1))
		}))
		t.Cleanup(srv.Close)
		c, _ := New(strings.TrimPrefix(srv.URL, "http://"))
		if _, _, _, err := c.GetManifest(ctx, "app", "latest"); err == nil || !strings.Contains(err.Error(), "larger") {
			t.Errorf("GetManifest = %v, want a size error", err)
		}
	})
}

func TestInvalidNames(t *testing.T) {
	c := newTestClient(t, newFake(t), nil)
	ctx := context.Background()
	tests := []struct{ repo, ref string }{
		{"../etc", "v1"}, {"Upper", "v1"}, {"a?b", "v1"}, {"", "v1"}, {"host:5000/app", "v1"},
		{"app", "../x"}, {"app", "a/b"}, {"app", ""}, {"app", "sha256:short"}, {"app", ".hidden"},
	}
	for _, tt := range tests {
		if _, _, _, err := c.GetManifest(ctx, tt.repo, tt.ref); err == nil {
			t.Errorf("GetManifest(%q, %q) accepted", tt.repo, tt.ref)
		}
	}
	if _, _, err := c.GetBlob(ctx, "app", "sha256:nothex"); err == nil {
		t.Error("GetBlob accepted a bad digest")
	}
}

func TestTags(t *testing.T) {
	f := newFake(t)
	f.pageSize = 3
	var want []string
	for i := range 10 {
		tag := fmt.Sprintf("v%02d", i)
		want = append(want, tag)
		f.putManifest("app", tag, manifestBody)
	}
	c := newTestClient(t, f, nil)
	got, err := c.Tags(context.Background(), "app")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Tags = %q, want %q", got, want)
	}
	if n := f.count(http.MethodGet, "/v2/app/tags/list"); n != 4 {
		t.Errorf("%d pages fetched, want 4", n)
	}
	if _, err := c.Tags(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tags of a missing repository = %v", err)
	}
}

func TestCatalog(t *testing.T) {
	f := newFake(t)
	f.pageSize = 2
	for _, r := range []string{"a", "b", "c", "d", "e"} {
		f.putManifest(r, "v1", manifestBody)
	}
	c := newTestClient(t, f, nil)
	tests := []struct {
		n    int
		want []string
	}{
		{0, []string{"a", "b", "c", "d", "e"}},
		{3, []string{"a", "b", "c"}},
		{10, []string{"a", "b", "c", "d", "e"}},
	}
	for _, tt := range tests {
		got, err := c.Catalog(context.Background(), tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Catalog(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestPagingGuards(t *testing.T) {
	tests := []struct {
		name, link string
	}{
		{"loop", `</v2/app/tags/list?last=a>; rel="next"`},
		{"other host", `<http://elsewhere.example/v2/app/tags/list?last=a>; rel="next"`},
		{"not http", `<file:///etc/passwd>; rel="next"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Link", tt.link)
				fmt.Fprint(w, `{"name":"app","tags":["a"]}`)
			}))
			t.Cleanup(srv.Close)
			c, _ := New(strings.TrimPrefix(srv.URL, "http://"))
			if _, err := c.Tags(context.Background(), "app"); err == nil {
				t.Error("Tags followed the link")
			}
		})
	}
}

func TestNextLink(t *testing.T) {
	tests := []struct{ header, want string }{
		{`</v2/a/tags/list?n=2&last=b>; rel="next"`, "/v2/a/tags/list?n=2&last=b"},
		{`</x>; rel=next`, "/x"},
		{`</prev>; rel="prev", </next>; rel="next"`, "/next"},
		{`</prev>; rel="prev",</next>; type="json"; rel="next other"`, "/next"},
		{`</x>; rel="prev"`, ""},
		{`garbage`, ""},
		{`<unterminated; rel="next"`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := nextLink(http.Header{"Link": {tt.header}}); got != tt.want {
			t.Errorf("nextLink(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestWithSinglePOSTUploads(t *testing.T) {
	for _, on := range []bool{false, true} {
		c, err := New("localhost:5000", WithSinglePOSTUploads(on))
		if err != nil || c.singlePOST != on {
			t.Errorf("WithSinglePOSTUploads(%v): %v, %v", on, c.singlePOST, err)
		}
	}
}
