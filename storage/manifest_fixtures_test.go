package storage_test

import (
	"encoding/hex"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifests are built by hand as JSON objects so that tests control every
// field, absent ones included. A nil value removes a field.
type fields map[string]any

// doc renders f as a manifest, with schemaVersion 2 unless f says otherwise.
func doc(t *testing.T, f fields) []byte {
	t.Helper()
	m := map[string]any{"schemaVersion": 2}
	for k, v := range f {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return jsonBytes(t, m)
}

// with returns a copy of f with the changes applied.
func (f fields) with(changes fields) fields {
	out := fields{}
	for k, v := range f {
		out[k] = v
	}
	for k, v := range changes {
		out[k] = v
	}
	return out
}

// pushImageBlobs pushes a config and one layer of the given media types
// into r, with random content so that every image is distinct.
func pushImageBlobs(t *testing.T, r *storage.Repository, configType, layerType string) (config, layer v1.Descriptor) {
	t.Helper()
	salt := hex.EncodeToString(randomBytes(t, 8))
	config = pushBlob(t, r, configType, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"salt":"`+salt+`"}`))
	layer = pushBlob(t, r, layerType, randomBytes(t, 512))
	return config, layer
}

// ociImage pushes the blobs of an OCI image into r and returns its
// manifest's fields.
func ociImage(t *testing.T, r *storage.Repository) fields {
	t.Helper()
	config, layer := pushImageBlobs(t, r, mtOCIConfig, mtOCILayer)
	return fields{"mediaType": storage.MediaTypeOCIManifest, "config": config, "layers": []v1.Descriptor{layer}}
}

// dockerImage pushes the blobs of a Docker schema2 image into r and returns
// its manifest's fields.
func dockerImage(t *testing.T, r *storage.Repository) fields {
	t.Helper()
	config, layer := pushImageBlobs(t, r, mtDockerConfig, mtDockerLayer)
	return fields{"mediaType": storage.MediaTypeDockerManifest, "config": config, "layers": []v1.Descriptor{layer}}
}

// putManifest stores content under ref and returns what PutManifest says.
func putManifest(t *testing.T, r *storage.Repository, ref, contentType string, content []byte) storage.Manifest {
	t.Helper()
	m, err := r.PutManifest(t.Context(), ref, contentType, content)
	if err != nil {
		t.Fatalf("PutManifest(%s, %s): %v\n%s", ref, contentType, err, content)
	}
	return m
}

// pushChild stores the manifest f by digest in r and returns the
// descriptor an index lists it with.
func pushChild(t *testing.T, r *storage.Repository, f fields, arch string) v1.Descriptor {
	t.Helper()
	content := doc(t, f)
	mt := f["mediaType"].(string)
	m := putManifest(t, r, digest.FromBytes(content).String(), mt, content)
	return v1.Descriptor{
		MediaType: mt,
		Digest:    m.Descriptor.Digest,
		Size:      m.Descriptor.Size,
		Platform:  &v1.Platform{Architecture: arch, OS: "linux"},
	}
}

// pushImage stores a new OCI image in r under ref (a tag, or "" for by
// digest) and returns its manifest.
func pushImage(t *testing.T, r *storage.Repository, ref string, extra fields) storage.Manifest {
	t.Helper()
	content := doc(t, ociImage(t, r).with(extra))
	if ref == "" {
		ref = digest.FromBytes(content).String()
	}
	return putManifest(t, r, ref, storage.MediaTypeOCIManifest, content)
}

// emptyConfig pushes the OCI empty descriptor's blob, "{}", into r.
func emptyConfig(t *testing.T, r *storage.Repository) v1.Descriptor {
	t.Helper()
	return pushBlob(t, r, mtEmpty, []byte("{}"))
}
