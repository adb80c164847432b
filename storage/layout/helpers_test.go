package layout_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/berthhq/berth/storage/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// newLayout returns a layout in a fresh directory.
func newLayout(t *testing.T) *layout.Layout {
	t.Helper()
	l, err := layout.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// blob returns n random bytes and their descriptor.
func blob(t *testing.T, mediaType string, n int) ([]byte, ocispec.Descriptor) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b, ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(n)}
}

// put stores b as desc.
func put(t *testing.T, l *layout.Layout, desc ocispec.Descriptor, b []byte) {
	t.Helper()
	if err := l.Put(context.Background(), desc, bytes.NewReader(b)); err != nil {
		t.Fatalf("put %s: %v", desc.Digest, err)
	}
}

// putJSON stores v as a blob of mediaType and returns its descriptor.
func putJSON(t *testing.T, l *layout.Layout, mediaType string, v any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	put(t, l, d, b)
	return d
}

// image stores a config, n layers and a manifest and returns the
// manifest's descriptor and every blob's.
func image(t *testing.T, l *layout.Layout, n int) (ocispec.Descriptor, []ocispec.Descriptor) {
	t.Helper()
	salt, _ := blob(t, "", 8)
	cfgBytes, _ := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config:   ocispec.ImageConfig{Labels: map[string]string{"salt": fmt.Sprintf("%x", salt)}},
	})
	cfg := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfgBytes), Size: int64(len(cfgBytes))}
	put(t, l, cfg, cfgBytes)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg}
	m.SchemaVersion = 2
	all := []ocispec.Descriptor{cfg}
	for i := 0; i < n; i++ {
		b, d := blob(t, ocispec.MediaTypeImageLayerGzip, 1000+i)
		put(t, l, d, b)
		m.Layers = append(m.Layers, d)
		all = append(all, d)
	}
	md := putJSON(t, l, ocispec.MediaTypeImageManifest, m)
	return md, append(all, md)
}
