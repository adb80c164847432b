package storage_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestDeleteManifest(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		r := e.repo(t, "man/del")
		m1 := pushImage(t, r, "latest", nil)
		for _, tag := range []string{"v1", "stable"} {
			if err := r.Tag(ctx, tag, m1.Descriptor.Digest); err != nil {
				t.Fatalf("Tag(%s): %v", tag, err)
			}
		}
		m2 := pushImage(t, r, "v2", nil)
		// "old" pointed at m1 once, now at m2: it must survive.
		if err := r.Tag(ctx, "old", m1.Descriptor.Digest); err != nil {
			t.Fatal(err)
		}
		if err := r.Tag(ctx, "old", m2.Descriptor.Digest); err != nil {
			t.Fatal(err)
		}
		var im v1.Manifest
		if err := json.Unmarshal(m1.Content, &im); err != nil {
			t.Fatal(err)
		}
		other := e.repo(t, "man/del-other")
		for _, b := range append([]v1.Descriptor{im.Config}, im.Layers...) {
			if _, err := other.MountBlob(ctx, r, b.Digest); err != nil {
				t.Fatal(err)
			}
		}
		putManifest(t, other, "latest", storage.MediaTypeOCIManifest, m1.Content)

		if err := mustRepo(t, e.fresh(t), "man/del").DeleteManifest(ctx, m1.Descriptor.Digest); err != nil {
			t.Fatalf("DeleteManifest: %v", err)
		}
		for _, s := range []*storage.Store{e.s, e.fresh(t)} {
			sr := mustRepo(t, s, "man/del")
			for _, ref := range []string{m1.Descriptor.Digest.String(), "latest", "v1", "stable"} {
				if _, err := sr.GetManifest(ctx, ref); !errors.Is(err, storage.ErrManifestUnknown) {
					t.Errorf("GetManifest(%s) after delete = %v, want ErrManifestUnknown", ref, err)
				}
				if _, err := sr.StatManifest(ctx, ref); !errors.Is(err, storage.ErrManifestUnknown) {
					t.Errorf("StatManifest(%s) after delete = %v, want ErrManifestUnknown", ref, err)
				}
			}
			for _, ref := range []string{m2.Descriptor.Digest.String(), "v2", "old"} {
				if got, err := sr.StatManifest(ctx, ref); err != nil || got.Digest != m2.Descriptor.Digest {
					t.Errorf("StatManifest(%s) = %v, %v; want %s", ref, got.Digest, err, m2.Descriptor.Digest)
				}
			}
		}
		tags, _, err := r.Tags(ctx, "", -1)
		if err != nil || !slices.Equal(tags, []string{"old", "v2"}) {
			t.Errorf("Tags after delete = %v, %v; want [old v2]", tags, err)
		}
		// The config and layers stay for garbage collection to judge.
		if _, err := r.StatBlob(ctx, im.Config.Digest); err != nil {
			t.Errorf("config blob gone with the manifest: %v", err)
		}
		// Another repository's copy is untouched.
		if got, err := other.GetManifest(ctx, "latest"); err != nil || got.Descriptor.Digest != m1.Descriptor.Digest {
			t.Errorf("other repository's manifest: %v, %v", got.Descriptor.Digest, err)
		}
		if err := r.DeleteManifest(ctx, m1.Descriptor.Digest); !errors.Is(err, storage.ErrManifestUnknown) {
			t.Errorf("second DeleteManifest = %v, want ErrManifestUnknown", err)
		}
	})
}

func TestDeleteManifestRejected(t *testing.T) {
	cases := []struct {
		name    string
		d       func(m storage.Manifest) digest.Digest
		wantErr error
	}{
		{"unknown digest", func(storage.Manifest) digest.Digest { return digest.FromString("never pushed") }, storage.ErrManifestUnknown},
		{"sha512 of a sha256 manifest", func(m storage.Manifest) digest.Digest { return digest.SHA512.FromBytes(m.Content) }, storage.ErrManifestUnknown},
		{"malformed digest", func(storage.Manifest) digest.Digest { return "sha256:abc" }, storage.ErrDigestInvalid},
		// A tag passed where a digest belongs must be refused, not
		// followed: the store would delete what the tag points at.
		{"a tag instead of a digest", func(storage.Manifest) digest.Digest { return "latest" }, storage.ErrDigestInvalid},
		{"empty digest", func(storage.Manifest) digest.Digest { return "" }, storage.ErrDigestInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				r := e.repo(t, "man/nodel")
				m := pushImage(t, r, "latest", nil)
				var err error
				noPanic(t, "DeleteManifest", func() { err = r.DeleteManifest(t.Context(), tc.d(m)) })
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("DeleteManifest(%q) = %v, want %v", tc.d(m), err, tc.wantErr)
				}
				if got, err := r.StatManifest(t.Context(), "latest"); err != nil || got.Digest != m.Descriptor.Digest {
					t.Errorf("latest after a refused delete = %v, %v", got.Digest, err)
				}
			})
		})
	}
}

func TestUntag(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		r := e.repo(t, "man/untag")
		m := pushImage(t, r, "latest", nil)
		if err := r.Tag(ctx, "v1", m.Descriptor.Digest); err != nil {
			t.Fatal(err)
		}
		if err := r.Untag(ctx, "latest"); err != nil {
			t.Fatalf("Untag: %v", err)
		}
		if _, err := r.GetManifest(ctx, "latest"); !errors.Is(err, storage.ErrManifestUnknown) {
			t.Errorf("GetManifest(latest) after Untag = %v", err)
		}
		for _, ref := range []string{m.Descriptor.Digest.String(), "v1"} {
			if got, err := mustRepo(t, e.fresh(t), "man/untag").GetManifest(ctx, ref); err != nil || got.Descriptor.Digest != m.Descriptor.Digest {
				t.Errorf("GetManifest(%s) after Untag = %v, %v", ref, got.Descriptor.Digest, err)
			}
		}
		if tags, _, err := r.Tags(ctx, "", -1); err != nil || !slices.Equal(tags, []string{"v1"}) {
			t.Errorf("Tags = %v, %v; want [v1]", tags, err)
		}
		if err := r.Untag(ctx, "latest"); !errors.Is(err, storage.ErrManifestUnknown) {
			t.Errorf("second Untag = %v, want ErrManifestUnknown", err)
		}
		if err := r.Untag(ctx, "-bad"); !errors.Is(err, storage.ErrTagInvalid) {
			t.Errorf("Untag(-bad) = %v, want ErrTagInvalid", err)
		}
		if err := r.Untag(ctx, "v1"); err != nil {
			t.Fatal(err)
		}
		if tags, _, err := r.Tags(ctx, "", -1); err != nil || len(tags) != 0 {
			t.Errorf("Tags with every tag removed = %v, %v; want []", tags, err)
		}
	})
}

func TestTagMoves(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		r := e.repo(t, "man/retag")
		m1 := pushImage(t, r, "latest", nil)
		m2 := pushImage(t, r, "latest", nil)
		for _, s := range []*storage.Store{e.s, e.fresh(t)} {
			got, err := mustRepo(t, s, "man/retag").GetManifest(ctx, "latest")
			if err != nil || got.Descriptor.Digest != m2.Descriptor.Digest {
				t.Errorf("latest = %s, %v; want %s", got.Descriptor.Digest, err, m2.Descriptor.Digest)
			}
		}
		if _, err := r.GetManifest(ctx, m1.Descriptor.Digest.String()); err != nil {
			t.Errorf("the untagged manifest is gone: %v", err)
		}
		if err := r.Tag(ctx, "latest", m1.Descriptor.Digest); err != nil {
			t.Fatal(err)
		}
		if got, err := r.Resolve(ctx, "latest"); err != nil || got != m1.Descriptor.Digest {
			t.Errorf("Resolve(latest) = %s, %v; want %s", got, err, m1.Descriptor.Digest)
		}
	})
}

func TestTagRejected(t *testing.T) {
	cases := []struct {
		name    string
		tag     string
		d       func(m storage.Manifest) digest.Digest
		wantErr error
	}{
		{"invalid tag", "-x", func(m storage.Manifest) digest.Digest { return m.Descriptor.Digest }, storage.ErrTagInvalid},
		{"tag too long", string(make([]byte, 200)), func(m storage.Manifest) digest.Digest { return m.Descriptor.Digest }, storage.ErrTagInvalid},
		{"malformed digest", "v1", func(storage.Manifest) digest.Digest { return "sha256:abc" }, storage.ErrDigestInvalid},
		{"not a digest", "v1", func(storage.Manifest) digest.Digest { return "latest" }, storage.ErrDigestInvalid},
		// Tag's contract: d "must be in the repository".
		{"manifest not in the repository", "v1", func(storage.Manifest) digest.Digest { return digest.FromString("nothing") }, storage.ErrManifestUnknown},
		{"blob that is not a manifest", "v1", func(m storage.Manifest) digest.Digest { return firstLayer(m) }, storage.ErrManifestUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				r := e.repo(t, "man/tag")
				m := pushImage(t, r, "latest", nil)
				var err error
				noPanic(t, "Tag", func() { err = r.Tag(t.Context(), tc.tag, tc.d(m)) })
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("Tag(%q, %q) = %v, want %v", tc.tag, tc.d(m), err, tc.wantErr)
				}
				if tags, _, err := r.Tags(t.Context(), "", -1); err != nil || !slices.Equal(tags, []string{"latest"}) {
					t.Errorf("Tags after a refused Tag = %q, %v; want [latest]", tags, err)
				}
			})
		})
	}
}

// firstLayer returns the digest of the first layer of the image manifest m.
func firstLayer(m storage.Manifest) digest.Digest {
	var im v1.Manifest
	if err := json.Unmarshal(m.Content, &im); err != nil || len(im.Layers) == 0 {
		return ""
	}
	return im.Layers[0].Digest
}
