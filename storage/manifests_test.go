package storage_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/inmemory"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// manifestBuilder pushes whatever a manifest needs into r and returns the
// Content-Type to send it with and its bytes.
type manifestBuilder func(t *testing.T, e *env, r *storage.Repository) (contentType string, content []byte)

func TestPutManifest(t *testing.T) {
	cases := []struct {
		name     string
		build    manifestBuilder
		wantType string
	}{
		{"OCI manifest", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIManifest, doc(t, ociImage(t, r))
		}, storage.MediaTypeOCIManifest},
		{"OCI manifest, Content-Type with parameters", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIManifest + "; charset=utf-8", doc(t, ociImage(t, r))
		}, storage.MediaTypeOCIManifest},
		{"OCI manifest without mediaType", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIManifest, doc(t, ociImage(t, r).with(fields{"mediaType": nil}))
		}, storage.MediaTypeOCIManifest},
		{"OCI manifest without mediaType or Content-Type", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return "", doc(t, ociImage(t, r).with(fields{"mediaType": nil}))
		}, storage.MediaTypeOCIManifest},
		{"OCI manifest sent as application/json", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return "application/json", doc(t, ociImage(t, r))
		}, storage.MediaTypeOCIManifest},
		{"OCI manifest without layers", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIManifest, doc(t, ociImage(t, r).with(fields{"layers": []v1.Descriptor{}}))
		}, storage.MediaTypeOCIManifest},
		{"OCI manifest with a foreign layer", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			f := ociImage(t, r)
			foreign := v1.Descriptor{MediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
				Digest: digest.FromString("never pushed"), Size: 12, URLs: []string{"https://example.com/layer"}}
			return storage.MediaTypeOCIManifest, doc(t, f.with(fields{"layers": append(f["layers"].([]v1.Descriptor), foreign)}))
		}, storage.MediaTypeOCIManifest},
		{"OCI manifest of exactly the maximum size", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			f := ociImage(t, r)
			base := len(doc(t, f.with(fields{"annotations": map[string]string{"pad": ""}})))
			pad := strings.Repeat("p", storage.MaxManifestSize-base)
			return storage.MediaTypeOCIManifest, doc(t, f.with(fields{"annotations": map[string]string{"pad": pad}}))
		}, storage.MediaTypeOCIManifest},
		{"OCI index", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			a, b := pushChild(t, r, ociImage(t, r), "amd64"), pushChild(t, r, ociImage(t, r), "arm64")
			return storage.MediaTypeOCIIndex, doc(t, fields{"mediaType": storage.MediaTypeOCIIndex, "manifests": []v1.Descriptor{a, b}})
		}, storage.MediaTypeOCIIndex},
		{"OCI index without mediaType or Content-Type", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			a := pushChild(t, r, ociImage(t, r), "amd64")
			return "", doc(t, fields{"manifests": []v1.Descriptor{a}})
		}, storage.MediaTypeOCIIndex},
		{"OCI index without mediaType", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			a := pushChild(t, r, ociImage(t, r), "amd64")
			return storage.MediaTypeOCIIndex, doc(t, fields{"manifests": []v1.Descriptor{a}})
		}, storage.MediaTypeOCIIndex},
		{"empty OCI index", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeOCIIndex, doc(t, fields{"mediaType": storage.MediaTypeOCIIndex, "manifests": []v1.Descriptor{}})
		}, storage.MediaTypeOCIIndex},
		{"index of an index", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			a := pushChild(t, r, ociImage(t, r), "amd64")
			inner := pushChild(t, r, fields{"mediaType": storage.MediaTypeOCIIndex, "manifests": []v1.Descriptor{a}}, "amd64")
			inner.Platform = nil
			return storage.MediaTypeOCIIndex, doc(t, fields{"mediaType": storage.MediaTypeOCIIndex, "manifests": []v1.Descriptor{inner}})
		}, storage.MediaTypeOCIIndex},
		{"Docker manifest", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return storage.MediaTypeDockerManifest, doc(t, dockerImage(t, r))
		}, storage.MediaTypeDockerManifest},
		{"Docker manifest without Content-Type", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			return "", doc(t, dockerImage(t, r))
		}, storage.MediaTypeDockerManifest},
		{"Docker manifest with a foreign layer", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			f := dockerImage(t, r)
			foreign := v1.Descriptor{MediaType: mtDockerForeign, Digest: digest.FromString("windows base layer"), Size: 1 << 30,
				URLs: []string{"https://mcr.microsoft.com/v2/windows/blobs/x"}}
			return storage.MediaTypeDockerManifest, doc(t, f.with(fields{"layers": []v1.Descriptor{foreign, f["layers"].([]v1.Descriptor)[0]}}))
		}, storage.MediaTypeDockerManifest},
		{"Docker manifest list", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			a, b := pushChild(t, r, dockerImage(t, r), "amd64"), pushChild(t, r, dockerImage(t, r), "arm64")
			return storage.MediaTypeDockerList, doc(t, fields{"mediaType": storage.MediaTypeDockerList, "manifests": []v1.Descriptor{a, b}})
		}, storage.MediaTypeDockerList},
		{"artifact manifest", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			subject := pushImage(t, r, "", nil).Descriptor
			blob := pushBlob(t, r, "application/vnd.example.sbom+json", []byte(`{"packages":[]}`))
			return storage.MediaTypeOCIManifest, doc(t, fields{
				"mediaType":    storage.MediaTypeOCIManifest,
				"artifactType": "application/vnd.example.sbom+json",
				"config":       emptyConfig(t, r),
				"layers":       []v1.Descriptor{blob},
				"subject":      v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
				"annotations":  map[string]string{"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
			})
		}, storage.MediaTypeOCIManifest},
		{"artifact manifest with the empty descriptor as layer", func(t *testing.T, _ *env, r *storage.Repository) (string, []byte) {
			empty := emptyConfig(t, r)
			return storage.MediaTypeOCIManifest, doc(t, fields{
				"mediaType": storage.MediaTypeOCIManifest, "artifactType": "application/vnd.example.signature",
				"config": empty, "layers": []v1.Descriptor{empty},
			})
		}, storage.MediaTypeOCIManifest},
	}
	refKinds := []struct {
		name string
		ref  func(content []byte) string
		alg  digest.Algorithm
	}{
		{"by tag", func([]byte) string { return "v1" }, digest.SHA256},
		{"by digest", func(c []byte) string { return digest.FromBytes(c).String() }, digest.SHA256},
		{"by sha512 digest", func(c []byte) string { return digest.SHA512.FromBytes(c).String() }, digest.SHA512},
	}
	for _, tc := range cases {
		for _, rk := range refKinds {
			t.Run(tc.name+"/"+rk.name, func(t *testing.T) {
				forEachDriver(t, func(t *testing.T, e *env) {
					r := e.repo(t, "man/put")
					ct, content := tc.build(t, e, r)
					ref, d := rk.ref(content), rk.alg.FromBytes(content)
					m := putManifest(t, r, ref, ct, content)
					checkManifest(t, "PutManifest", m, d, tc.wantType, content)
					refs := []string{d.String()}
					if ref == "v1" {
						refs = append(refs, "v1")
					}
					for _, s := range []*storage.Store{e.s, e.fresh(t)} {
						fr := mustRepo(t, s, "man/put")
						for _, ref := range refs {
							got, err := fr.GetManifest(t.Context(), ref)
							if err != nil {
								t.Fatalf("GetManifest(%s): %v", ref, err)
							}
							checkManifest(t, "GetManifest("+ref+")", got, d, tc.wantType, content)
							desc, err := fr.StatManifest(t.Context(), ref)
							if err != nil || desc.MediaType != tc.wantType || desc.Digest != d || desc.Size != int64(len(content)) {
								t.Errorf("StatManifest(%s) = %+v, %v", ref, desc, err)
							}
							if got, err := fr.Resolve(t.Context(), ref); err != nil || got != d {
								t.Errorf("Resolve(%s) = %s, %v; want %s", ref, got, err, d)
							}
						}
					}
					tags, _, err := r.Tags(t.Context(), "", -1)
					if want := len(refs) - 1; err != nil || len(tags) != want {
						t.Errorf("Tags = %v, %v; want %d", tags, err, want)
					}
					if ref != "v1" {
						if _, err := r.GetManifest(t.Context(), "v1"); !errors.Is(err, storage.ErrManifestUnknown) {
							t.Errorf("GetManifest(v1) of a manifest pushed by digest = %v", err)
						}
					}
				})
			})
		}
	}
}

func checkManifest(t *testing.T, what string, m storage.Manifest, d digest.Digest, mediaType string, content []byte) {
	t.Helper()
	if m.Descriptor.Digest != d || m.Descriptor.MediaType != mediaType || m.Descriptor.Size != int64(len(content)) {
		t.Errorf("%s: descriptor %s %s %d, want %s %s %d", what,
			m.Descriptor.Digest, m.Descriptor.MediaType, m.Descriptor.Size, d, mediaType, len(content))
	}
	if !bytes.Equal(m.Content, content) {
		t.Errorf("%s: content differs from what was put", what)
	}
}

// countingDriver counts the calls that reach the driver.
type countingDriver struct {
	driver.Driver
	calls atomic.Int64
}

func (c *countingDriver) GetContent(ctx context.Context, p string) ([]byte, error) {
	c.calls.Add(1)
	return c.Driver.GetContent(ctx, p)
}

func (c *countingDriver) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	c.calls.Add(1)
	return c.Driver.Stat(ctx, p)
}

// A HEAD by tag costs one storage round trip (the tag's link) once the
// manifest's description is known, and by digest one (the revision link):
// on S3 each is a request, and HEADs are what every pull starts with.
func TestStatManifestRoundTrips(t *testing.T) {
	cd := &countingDriver{Driver: inmemory.New()}
	s, err := storage.New(cd)
	if err != nil {
		t.Fatal(err)
	}
	repo := mustRepo(t, s, "rt/app")
	d := pushImage(t, repo, "v1", nil).Descriptor.Digest
	for _, ref := range []string{"v1", d.String()} {
		cd.calls.Store(0)
		desc, err := repo.StatManifest(t.Context(), ref)
		if err != nil || desc.Digest != d {
			t.Fatalf("StatManifest(%s) = %v, %v", ref, desc.Digest, err)
		}
		if n := cd.calls.Load(); n != 1 {
			t.Errorf("StatManifest(%s) made %d driver calls, want 1", ref, n)
		}
	}
	// A deleted manifest is gone by tag and by digest at once.
	if err := repo.DeleteManifest(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"v1", d.String()} {
		if _, err := repo.StatManifest(t.Context(), ref); !errors.Is(err, storage.ErrManifestUnknown) {
			t.Errorf("StatManifest(%s) after delete = %v, want ErrManifestUnknown", ref, err)
		}
	}
}
