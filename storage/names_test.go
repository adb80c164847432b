package storage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
)

var nameCases = []struct {
	name  string
	in    string
	valid bool
}{
	{"single component", "alpine", true},
	{"nested", "library/alpine", true},
	{"deeply nested", "a/b/c/d", true},
	{"digits only", "0/1", true},
	{"period separator", "a.b", true},
	{"underscore separator", "a_b", true},
	{"double underscore separator", "a__b", true},
	{"dash separator", "a-b", true},
	{"several dashes", "a---b", true},
	{"separators in nested components", "my.org/sub_team/app-1", true},
	{"exactly max length", strings.Repeat("a", storage.MaxNameLength), true},
	{"exactly max length nested", strings.Repeat("a/", 127) + "a", true},
	{"empty", "", false},
	{"uppercase", "Alpine", false},
	{"uppercase in nested component", "library/alpinE", false},
	{"too long", strings.Repeat("a", storage.MaxNameLength+1), false},
	{"too long nested", strings.Repeat("ab/", 85) + "a", false},
	{"leading slash", "/alpine", false},
	{"trailing slash", "alpine/", false},
	{"double slash", "a//b", false},
	{"leading dash", "-alpine", false},
	{"trailing dash", "alpine-", false},
	{"leading period", ".alpine", false},
	{"leading underscore", "_alpine", false},
	{"component named like the tree", "a/_manifests", false},
	{"triple underscore", "a___b", false},
	{"double period", "a..b", false},
	{"dot dot", "..", false},
	{"dot dot component", "a/../b", false},
	{"dot component", "a/./b", false},
	{"colon", "alpine:latest", false},
	{"at sign", "alpine@sha256", false},
	{"space", "al pine", false},
	{"backslash", `a\b`, false},
	{"non-ascii", "alpïne", false},
}

func TestValidName(t *testing.T) {
	for _, tc := range nameCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := storage.ValidName(tc.in); got != tc.valid {
				t.Errorf("ValidName(%q) = %v, want %v", tc.in, got, tc.valid)
			}
		})
	}
}

func TestValidTag(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		valid bool
	}{
		{"simple", "latest", true},
		{"version", "v1.2.3", true},
		{"uppercase", "Latest", true},
		{"leading digit", "1.0", true},
		{"leading underscore", "_x", true},
		{"all separators", "1.0-rc.1_b--c..d", true},
		{"single character", "a", true},
		{"exactly 128", strings.Repeat("a", 128), true},
		{"129", strings.Repeat("a", 129), false},
		{"empty", "", false},
		{"leading period", ".x", false},
		{"leading dash", "-x", false},
		{"colon", "a:b", false},
		{"slash", "a/b", false},
		{"at sign", "a@b", false},
		{"plus", "1.0+build", false},
		{"space", "a b", false},
		{"non-ascii", "é", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := storage.ValidTag(tc.in); got != tc.valid {
				t.Errorf("ValidTag(%q) = %v, want %v", tc.in, got, tc.valid)
			}
		})
	}
}

func TestRepository(t *testing.T) {
	for _, tc := range nameCases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				r, err := e.s.Repository(tc.in)
				if !tc.valid {
					if !errors.Is(err, storage.ErrNameInvalid) {
						t.Fatalf("Repository(%q) = %v, %v; want ErrNameInvalid", tc.in, r, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Repository(%q): %v", tc.in, err)
				}
				if r.Name() != tc.in {
					t.Errorf("Name() = %q, want %q", r.Name(), tc.in)
				}
				ok, err := r.Exists(t.Context())
				if err != nil || ok {
					t.Errorf("Exists of a new repository = %v, %v; want false", ok, err)
				}
			})
		})
	}
}

func TestNewNilDriver(t *testing.T) {
	if s, err := storage.New(nil); err == nil {
		t.Fatalf("New(nil) = %v, want an error", s)
	}
}

func TestParseReference(t *testing.T) {
	valid := digest.FromString("x")
	cases := []struct {
		name    string
		ref     string
		tag     string
		digest  digest.Digest
		wantErr error
	}{
		{"tag", "latest", "latest", "", nil},
		{"sha256 digest", valid.String(), "", valid, nil},
		{"sha512 digest", digest.SHA512.FromString("x").String(), "", digest.SHA512.FromString("x"), nil},
		{"short digest", "sha256:abc", "", "", storage.ErrDigestInvalid},
		{"uppercase hex", "sha256:" + strings.ToUpper(valid.Encoded()), "", "", storage.ErrDigestInvalid},
		{"unknown algorithm", "md5:d41d8cd98f00b204e9800998ecf8427e", "", "", storage.ErrDigestInvalid},
		{"name:tag", "alpine:latest", "", "", storage.ErrDigestInvalid},
		{"empty", "", "", "", storage.ErrTagInvalid},
		{"bad tag", ".hidden", "", "", storage.ErrTagInvalid},
		{"long tag", strings.Repeat("t", 129), "", "", storage.ErrTagInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tag, d, err := storage.ParseReference(tc.ref)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ParseReference(%q) error = %v, want %v", tc.ref, err, tc.wantErr)
				}
				return
			}
			if err != nil || tag != tc.tag || d != tc.digest {
				t.Errorf("ParseReference(%q) = %q, %q, %v; want %q, %q", tc.ref, tag, d, err, tc.tag, tc.digest)
			}
		})
	}
}

// The longest valid names and tags fit the filesystem's limits (a single
// path component of 255 bytes) and the stores' round trips.
func TestLongNames(t *testing.T) {
	cases := []struct{ name, repo, tag string }{
		{"longest single component", strings.Repeat("r", storage.MaxNameLength), strings.Repeat("t", 128)},
		{"longest nested", strings.Repeat("ab/", 84) + "abc", "_" + strings.Repeat("9", 127)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				if !storage.ValidName(tc.repo) || !storage.ValidTag(tc.tag) {
					t.Fatalf("fixture invalid: %d-byte name, %d-byte tag", len(tc.repo), len(tc.tag))
				}
				r := e.repo(t, tc.repo)
				m := pushImage(t, r, tc.tag, nil)
				got, err := mustRepo(t, e.fresh(t), tc.repo).GetManifest(t.Context(), tc.tag)
				if err != nil || got.Descriptor.Digest != m.Descriptor.Digest {
					t.Errorf("GetManifest = %v, %v", got.Descriptor.Digest, err)
				}
				if tags, _, err := r.Tags(t.Context(), "", -1); err != nil || len(tags) != 1 || tags[0] != tc.tag {
					t.Errorf("Tags = %q, %v", tags, err)
				}
				if repos, _, err := e.s.Catalog(t.Context(), "", -1); err != nil || len(repos) != 1 || repos[0] != tc.repo {
					t.Errorf("Catalog = %q, %v", repos, err)
				}
			})
		})
	}
}
