package storage_test

import (
	"maps"
	"testing"

	"github.com/berthhq/berth/storage"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Whatever PutManifest accepts, every process describes the same way: the
// Store that stored it (which remembers what it parsed) and a new one over
// the same driver (which has only the bytes) agree on media type, size,
// artifactType and annotations.
func TestManifestDescriptionSameInEveryStore(t *testing.T) {
	cases := []struct {
		name  string
		build manifestBuilder
	}{
		{"OCI manifest", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIManifest, doc(t, ociImage(t, r))
		}},
		{"OCI manifest without mediaType", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIManifest, doc(t, ociImage(t, r).with(fields{"mediaType": nil}))
		}},
		{"artifact with annotations", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIManifest, doc(t, fields{"mediaType": storage.MediaTypeOCIManifest,
				"artifactType": atSig, "config": emptyConfig(t, r), "layers": []v1.Descriptor{},
				"annotations": map[string]string{"k": "v"}})
		}},
		{"OCI index without mediaType", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIIndex, doc(t, fields{"manifests": []v1.Descriptor{}})
		}},
		{"Docker manifest", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeDockerManifest, doc(t, dockerImage(t, r))
		}},
		// The spec requires an index's manifests; a body without them
		// sent as an index must be refused or described as an index
		// everywhere, never as an index here and an image manifest there.
		{"index without manifests, with mediaType", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIIndex, doc(t, fields{"mediaType": storage.MediaTypeOCIIndex})
		}},
		{"index without manifests or mediaType", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIIndex, doc(t, fields{})
		}},
		{"index without manifests or mediaType, annotated", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIIndex, doc(t, fields{"annotations": map[string]string{"k": "v"}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				r := e.repo(t, "meta/same")
				ct, content := tc.build(t, e, r)
				m, err := r.PutManifest(t.Context(), "v1", ct, content)
				if err != nil {
					t.Skipf("refused, so nothing to compare: %v", err)
				}
				for _, ref := range []string{"v1", m.Descriptor.Digest.String()} {
					here, err := r.StatManifest(t.Context(), ref)
					if err != nil {
						t.Fatal(err)
					}
					there, err := mustRepo(t, e.fresh(t), "meta/same").StatManifest(t.Context(), ref)
					if err != nil {
						t.Fatal(err)
					}
					if here.MediaType != there.MediaType || here.Size != there.Size ||
						here.ArtifactType != there.ArtifactType || !maps.Equal(here.Annotations, there.Annotations) {
						t.Errorf("StatManifest(%s): storing store says %+v, a new store says %+v", ref, here, there)
					}
				}
			})
		})
	}
}

// Descriptors handed to callers are theirs: changing one does not change
// what the store answers next (the store keeps descriptions in memory).
func TestManifestDescriptorsAreCopies(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		r := e.repo(t, "meta/copy")
		subject := pushImage(t, r, "v1", nil).Descriptor
		ref := pushReferrer(t, r, subject, atSig, map[string]string{"k": "v"})
		mutate := func(d v1.Descriptor) {
			if d.Annotations != nil {
				d.Annotations["k"] = "changed"
				d.Annotations["added"] = "x"
			}
		}
		got, err := r.GetManifest(ctx, ref.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		mutate(got.Descriptor)
		desc, err := r.StatManifest(ctx, ref.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		mutate(desc)
		list, err := r.Referrers(ctx, subject.Digest, "")
		if err != nil || len(list) != 1 {
			t.Fatalf("Referrers = %v, %v", list, err)
		}
		mutate(list[0])
		again, err := r.Referrers(ctx, subject.Digest, "")
		if err != nil || len(again) != 1 {
			t.Fatalf("Referrers = %v, %v", again, err)
		}
		if want := map[string]string{"k": "v"}; !maps.Equal(again[0].Annotations, want) {
			t.Errorf("after callers changed their copies, annotations are %v, want %v", again[0].Annotations, want)
		}
	})
}
