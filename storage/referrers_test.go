package storage_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	atSBOM = "application/vnd.example.sbom+json"
	atSig  = "application/vnd.example.signature"
)

// pushReferrer stores, by digest, an artifact manifest whose subject is
// subject, and returns the descriptor a referrers listing should show.
func pushReferrer(t *testing.T, r *storage.Repository, subject v1.Descriptor, artifactType string, annotations map[string]string) v1.Descriptor {
	t.Helper()
	f := fields{
		"mediaType": storage.MediaTypeOCIManifest,
		"config":    emptyConfig(t, r),
		"layers":    []v1.Descriptor{pushBlob(t, r, "application/octet-stream", randomBytes(t, 64))},
		"subject":   v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
	}
	if artifactType != "" {
		f["artifactType"] = artifactType
	}
	if annotations != nil {
		f["annotations"] = annotations
	}
	content := doc(t, f)
	m := putManifest(t, r, digest.FromBytes(content).String(), storage.MediaTypeOCIManifest, content)
	if m.Subject != subject.Digest {
		t.Errorf("PutManifest: Subject = %s, want %s", m.Subject, subject.Digest)
	}
	want := artifactType
	if want == "" {
		want = mtEmpty // no artifactType: the config's media type stands in
	}
	return v1.Descriptor{MediaType: storage.MediaTypeOCIManifest, Digest: m.Descriptor.Digest,
		Size: int64(len(content)), ArtifactType: want, Annotations: annotations}
}

func TestReferrers(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		r := e.repo(t, "ref/app")
		image := pushImage(t, r, "v1", nil).Descriptor
		other := pushImage(t, r, "v2", nil).Descriptor
		sbom := pushReferrer(t, r, image, atSBOM, map[string]string{"org.example.tool": "syft"})
		sig1 := pushReferrer(t, r, image, atSig, map[string]string{"org.example.key": "one"})
		sig2 := pushReferrer(t, r, image, atSig, nil)
		plain := pushReferrer(t, r, image, "", nil)
		onOther := pushReferrer(t, r, other, atSig, nil)
		// An index can refer to a subject too.
		idx := doc(t, fields{"mediaType": storage.MediaTypeOCIIndex, "artifactType": atSBOM, "manifests": []v1.Descriptor{},
			"subject": v1.Descriptor{MediaType: image.MediaType, Digest: image.Digest, Size: image.Size}})
		im := putManifest(t, r, "sbom-index", storage.MediaTypeOCIIndex, idx)
		index := v1.Descriptor{MediaType: storage.MediaTypeOCIIndex, Digest: im.Descriptor.Digest, Size: int64(len(idx)), ArtifactType: atSBOM}
		// A referrer in another repository is not this one's.
		elsewhere := e.repo(t, "ref/elsewhere")
		pushReferrer(t, elsewhere, image, atSig, nil)

		cases := []struct {
			name         string
			subject      digest.Digest
			artifactType string
			want         []v1.Descriptor
		}{
			{"all of a subject", image.Digest, "", []v1.Descriptor{sbom, sig1, sig2, plain, index}},
			{"filtered by artifactType", image.Digest, atSig, []v1.Descriptor{sig1, sig2}},
			{"filtered, index included", image.Digest, atSBOM, []v1.Descriptor{sbom, index}},
			{"filtered by the config media type", image.Digest, mtEmpty, []v1.Descriptor{plain}},
			{"filter matching nothing", image.Digest, "application/vnd.example.none", []v1.Descriptor{}},
			{"another subject", other.Digest, "", []v1.Descriptor{onOther}},
			{"subject without referrers", onOther.Digest, "", []v1.Descriptor{}},
			{"subject never pushed", digest.FromString("nothing"), "", []v1.Descriptor{}},
			{"sha512 subject never pushed", digest.SHA512.FromString("nothing"), "", []v1.Descriptor{}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, s := range []*storage.Store{e.s, e.fresh(t)} {
					got, err := mustRepo(t, s, "ref/app").Referrers(ctx, tc.subject, tc.artifactType)
					if err != nil {
						t.Fatalf("Referrers: %v", err)
					}
					checkReferrers(t, got, tc.want)
				}
			})
		}
	})
}

// checkReferrers compares listings, ordered by digest as Referrers orders them.
func checkReferrers(t *testing.T, got, want []v1.Descriptor) {
	t.Helper()
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b v1.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	if got == nil {
		t.Errorf("Referrers returned nil, want an empty list for the JSON manifests array")
	}
	if len(got) != len(want) {
		t.Fatalf("Referrers = %d descriptors %v, want %d %v", len(got), digests(got), len(want), digests(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Digest != w.Digest || g.MediaType != w.MediaType || g.Size != w.Size || g.ArtifactType != w.ArtifactType ||
			!maps.Equal(g.Annotations, w.Annotations) {
			t.Errorf("referrer %d = %+v, want %+v", i, g, w)
		}
	}
}

func digests(ds []v1.Descriptor) []digest.Digest {
	out := make([]digest.Digest, len(ds))
	for i, d := range ds {
		out[i] = d.Digest
	}
	return out
}

func TestReferrersAfterDelete(t *testing.T) {
	cases := []struct {
		name   string
		delete func(t *testing.T, r *storage.Repository, subject, gone v1.Descriptor)
		want   int // referrers left of the two
	}{
		{"referrer deleted", func(t *testing.T, r *storage.Repository, _, gone v1.Descriptor) {
			if err := r.DeleteManifest(t.Context(), gone.Digest); err != nil {
				t.Fatal(err)
			}
		}, 1},
		{"subject deleted", func(t *testing.T, r *storage.Repository, subject, _ v1.Descriptor) {
			if err := r.DeleteManifest(t.Context(), subject.Digest); err != nil {
				t.Fatal(err)
			}
		}, 2},
		{"subject untagged", func(t *testing.T, r *storage.Repository, _, _ v1.Descriptor) {
			if err := r.Untag(t.Context(), "v1"); err != nil {
				t.Fatal(err)
			}
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				r := e.repo(t, "ref/del")
				subject := pushImage(t, r, "v1", nil).Descriptor
				keep := pushReferrer(t, r, subject, atSig, nil)
				gone := pushReferrer(t, r, subject, atSBOM, nil)
				tc.delete(t, r, subject, gone)
				want := []v1.Descriptor{keep, gone}[:tc.want]
				for _, s := range []*storage.Store{e.s, e.fresh(t)} {
					got, err := mustRepo(t, s, "ref/del").Referrers(t.Context(), subject.Digest, "")
					if err != nil {
						t.Fatal(err)
					}
					checkReferrers(t, got, want)
				}
				if tc.want == 1 {
					// The index entry went with the manifest, not just the manifest.
					p := repoDir("ref/del") + "/_referrers/sha256/" + subject.Digest.Encoded() + "/sha256/" + gone.Digest.Encoded()
					assertAbsent(t, e.d, p)
				}
			})
		})
	}
}

func TestReferrersMalformedSubject(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		for _, d := range []digest.Digest{"", "sha256:abc", "latest"} {
			var err error
			noPanic(t, "Referrers", func() { _, err = e.repo(t, "ref/bad").Referrers(t.Context(), d, "") })
			if !errors.Is(err, storage.ErrDigestInvalid) {
				t.Errorf("Referrers(%q) = %v, want ErrDigestInvalid", d, err)
			}
		}
	})
}

// A referrer stored under a sha512 digest is listed with that digest.
func TestReferrersSHA512(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		r := e.repo(t, "ref/sha512")
		subject := pushImage(t, r, "", nil).Descriptor
		content := doc(t, fields{"mediaType": storage.MediaTypeOCIManifest, "artifactType": atSig,
			"config": emptyConfig(t, r), "layers": []v1.Descriptor{},
			"subject": v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}})
		d := digest.SHA512.FromBytes(content)
		putManifest(t, r, d.String(), storage.MediaTypeOCIManifest, content)
		want := []v1.Descriptor{{MediaType: storage.MediaTypeOCIManifest, Digest: d, Size: int64(len(content)), ArtifactType: atSig}}
		for _, s := range []*storage.Store{e.s, e.fresh(t)} {
			got, err := mustRepo(t, s, "ref/sha512").Referrers(t.Context(), subject.Digest, "")
			if err != nil {
				t.Fatal(err)
			}
			checkReferrers(t, got, want)
		}
		if err := r.DeleteManifest(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		got, err := r.Referrers(t.Context(), subject.Digest, "")
		if err != nil {
			t.Fatal(err)
		}
		checkReferrers(t, got, nil)
	})
}
