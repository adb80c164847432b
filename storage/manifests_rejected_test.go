package storage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestPutManifestRejected(t *testing.T) {
	oci := storage.MediaTypeOCIManifest
	// raw returns a builder for a fixed body.
	raw := func(ct, body string) manifestBuilder {
		return func(*testing.T, *env, *storage.Repository) (string, []byte) { return ct, []byte(body) }
	}
	// image returns a builder for a pushed OCI image with changes applied.
	image := func(ct string, changes fields) manifestBuilder {
		return func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return ct, doc(t, ociImage(t, r).with(changes))
		}
	}
	unpushed := v1.Descriptor{MediaType: mtOCILayer, Digest: digest.FromString("not pushed"), Size: 10}
	cases := []struct {
		name    string
		ref     string // default "v1"
		build   manifestBuilder
		wantErr error
	}{
		{"config not pushed", "", image(oci, fields{"config": v1.Descriptor{MediaType: mtOCIConfig, Digest: digest.FromString("{}x"), Size: 3}}), storage.ErrManifestBlobUnknown},
		{"layer not pushed", "", image(oci, fields{"layers": []v1.Descriptor{unpushed}}), storage.ErrManifestBlobUnknown},
		{"empty config not pushed", "", image(oci, fields{"config": v1.Descriptor{MediaType: mtEmpty, Digest: digest.FromString("{}"), Size: 2}}), storage.ErrManifestBlobUnknown},
		{"layer only in another repository", "", func(t *testing.T, e *env, r *storage.Repository) (string, []byte) {
			other := e.repo(t, "man/other")
			_, layer := pushImageBlobs(t, other, mtOCIConfig, mtOCILayer)
			return oci, doc(t, ociImage(t, r).with(fields{"layers": []v1.Descriptor{layer}}))
		}, storage.ErrManifestBlobUnknown},
		{"Docker layer not pushed", "", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeDockerManifest, doc(t, dockerImage(t, r).with(fields{"layers": []v1.Descriptor{unpushed}}))
		}, storage.ErrManifestBlobUnknown},
		{"index child not pushed", "", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			a := pushChild(t, r, ociImage(t, r), "amd64")
			missing := v1.Descriptor{MediaType: oci, Digest: digest.FromString("no such manifest"), Size: 100}
			return storage.MediaTypeOCIIndex, doc(t, fields{"mediaType": storage.MediaTypeOCIIndex, "manifests": []v1.Descriptor{a, missing}})
		}, storage.ErrManifestBlobUnknown},
		{"index child pushed as a blob only", "", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			child := doc(t, ociImage(t, r))
			desc := pushBlob(t, r, oci, child)
			return storage.MediaTypeOCIIndex, doc(t, fields{"mediaType": storage.MediaTypeOCIIndex, "manifests": []v1.Descriptor{desc}})
		}, storage.ErrManifestBlobUnknown},
		{"Docker list child not pushed", "", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			missing := v1.Descriptor{MediaType: storage.MediaTypeDockerManifest, Digest: digest.FromString("gone"), Size: 100}
			return storage.MediaTypeDockerList, doc(t, fields{"mediaType": storage.MediaTypeDockerList, "manifests": []v1.Descriptor{missing}})
		}, storage.ErrManifestBlobUnknown},
		{"wrong sha256 digest ref", digest.FromString("other").String(), image(oci, nil), storage.ErrDigestMismatch},
		{"wrong sha512 digest ref", digest.SHA512.FromString("other").String(), image(oci, nil), storage.ErrDigestMismatch},
		{"malformed digest ref", "sha256:abc", image(oci, nil), storage.ErrDigestInvalid},
		{"unknown algorithm ref", "md5:d41d8cd98f00b204e9800998ecf8427e", image(oci, nil), storage.ErrDigestInvalid},
		{"invalid tag", ".v1", image(oci, nil), storage.ErrTagInvalid},
		{"not JSON", "", raw(oci, "this is not json"), storage.ErrManifestInvalid},
		{"empty body", "", raw(oci, ""), storage.ErrManifestInvalid},
		{"JSON array", "", raw(oci, "[]"), storage.ErrManifestInvalid},
		{"JSON null", "", raw(oci, "null"), storage.ErrManifestInvalid},
		{"trailing garbage", "", raw(oci, `{"schemaVersion":2}}`), storage.ErrManifestInvalid},
		{"schemaVersion 1", "", image(oci, fields{"schemaVersion": 1}), storage.ErrManifestInvalid},
		{"schemaVersion missing", "", image(oci, fields{"schemaVersion": nil}), storage.ErrManifestInvalid},
		{"schemaVersion as a string", "", image(oci, fields{"schemaVersion": "2"}), storage.ErrManifestInvalid},
		{"Docker schema1 Content-Type", "", image("application/vnd.docker.distribution.manifest.v1+prettyjws", nil), storage.ErrManifestInvalid},
		{"unknown Content-Type", "", image("text/plain", nil), storage.ErrManifestInvalid},
		{"malformed Content-Type", "", image(";;;", nil), storage.ErrManifestInvalid},
		{"config media type as Content-Type", "", image(mtOCIConfig, nil), storage.ErrManifestInvalid},
		{"unknown mediaType without Content-Type", "", image("", fields{"mediaType": mtOCIConfig}), storage.ErrManifestInvalid},
		{"Content-Type OCI manifest, mediaType OCI index", "", image(oci, fields{"mediaType": storage.MediaTypeOCIIndex}), storage.ErrManifestInvalid},
		{"Content-Type OCI manifest, mediaType Docker", "", image(oci, fields{"mediaType": storage.MediaTypeDockerManifest}), storage.ErrManifestInvalid},
		{"Content-Type Docker, mediaType OCI", "", image(storage.MediaTypeDockerManifest, nil), storage.ErrManifestInvalid},
		{"Docker manifest without mediaType", "", image(storage.MediaTypeDockerManifest, fields{"mediaType": nil}), storage.ErrManifestInvalid},
		{"image manifest without config", "", image(oci, fields{"config": nil}), storage.ErrManifestInvalid},
		{"image manifest with manifests", "", image(oci, fields{"manifests": []v1.Descriptor{}}), storage.ErrManifestInvalid},
		{"index with config", "", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			f := ociImage(t, r)
			return storage.MediaTypeOCIIndex, doc(t, fields{"mediaType": storage.MediaTypeOCIIndex, "manifests": []v1.Descriptor{}, "config": f["config"]})
		}, storage.ErrManifestInvalid},
		{"index with layers", "", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			f := ociImage(t, r)
			return storage.MediaTypeOCIIndex, doc(t, fields{"mediaType": storage.MediaTypeOCIIndex, "manifests": []v1.Descriptor{}, "layers": f["layers"]})
		}, storage.ErrManifestInvalid},
		{"descriptor without mediaType", "", image(oci, fields{"layers": []v1.Descriptor{{Digest: digest.FromString("x"), Size: 1}}}), storage.ErrManifestInvalid},
		{"descriptor with a malformed digest", "", image(oci, fields{"layers": []v1.Descriptor{{MediaType: mtOCILayer, Digest: "sha256:zz", Size: 1}}}), storage.ErrManifestInvalid},
		{"descriptor with a negative size", "", image(oci, fields{"layers": []v1.Descriptor{{MediaType: mtOCILayer, Digest: digest.FromString("x"), Size: -1}}}), storage.ErrManifestInvalid},
		{"subject with a malformed digest", "", image(oci, fields{"subject": v1.Descriptor{MediaType: oci, Digest: "sha256:1", Size: 1}}), storage.ErrManifestInvalid},
		{"larger than MaxManifestSize", "", image(oci, fields{"annotations": map[string]string{"pad": strings.Repeat("p", storage.MaxManifestSize)}}), storage.ErrManifestInvalid},
		{"one byte over MaxManifestSize", "", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			f := ociImage(t, r)
			base := len(doc(t, f.with(fields{"annotations": map[string]string{"pad": ""}})))
			return oci, doc(t, f.with(fields{"annotations": map[string]string{"pad": strings.Repeat("p", storage.MaxManifestSize-base+1)}}))
		}, storage.ErrManifestInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				ctx := t.Context()
				r := e.repo(t, "man/bad")
				ct, content := tc.build(t, e, r)
				ref := tc.ref
				if ref == "" {
					ref = "v1"
				}
				m, err := r.PutManifest(ctx, ref, ct, content)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("PutManifest = %+v, %v; want %v", m.Descriptor, err, tc.wantErr)
				}
				if errors.Is(tc.wantErr, storage.ErrDigestMismatch) && !errors.Is(err, storage.ErrDigestInvalid) {
					t.Errorf("%v does not match ErrDigestInvalid", err)
				}
				// Nothing of the refused manifest is stored.
				d := digest.FromBytes(content)
				if _, err := r.GetManifest(ctx, d.String()); !errors.Is(err, storage.ErrManifestUnknown) {
					t.Errorf("GetManifest by digest after a refused put = %v", err)
				}
				if _, err := r.GetManifest(ctx, "v1"); !errors.Is(err, storage.ErrManifestUnknown) {
					t.Errorf("GetManifest(v1) after a refused put = %v", err)
				}
				if tags, _, err := r.Tags(ctx, "", -1); (err != nil && !errors.Is(err, storage.ErrNameUnknown)) || len(tags) != 0 {
					t.Errorf("Tags after a refused put = %v, %v", tags, err)
				}
				if !strings.HasPrefix(tc.name, "index child pushed as a blob") {
					assertAbsent(t, e.d, blobData(d))
				}
			})
		})
	}
}
