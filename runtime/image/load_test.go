package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthhq/berth/runtime/image"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// entry is one tar entry of a hand-built archive.
type entry struct {
	name     string
	typ      byte
	body     []byte
	linkname string
}

// buildTar writes entries as a tar.
func buildTar(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.linkname}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerTar returns an uncompressed layer holding one file.
func layerTar(t *testing.T, file, content string) []byte {
	t.Helper()
	return buildTar(t, []entry{{name: file, body: []byte(content)}})
}

// legacyArchive builds docker's pre-25 save format by hand: two layer
// directories, the second layer.tar a symlink to the first (docker writes
// shared layers so), a config named by its digest, manifest.json and
// repositories.
func legacyArchive(t *testing.T, extra ...entry) []byte {
	t.Helper()
	layer := layerTar(t, "hello.txt", "hello")
	diff := digest.FromBytes(layer)
	cfg, _ := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diff, diff}},
	})
	cfgHex := digest.FromBytes(cfg).Encoded()
	manifest, _ := json.Marshal([]map[string]any{{
		"Config": cfgHex + ".json", "RepoTags": []string{"hand/built:1"},
		"Layers": []string{"aaa/layer.tar", "bbb/layer.tar"},
	}})
	entries := []entry{
		{name: "aaa/", typ: tar.TypeDir},
		{name: "aaa/VERSION", body: []byte("1.0")},
		{name: "aaa/json", body: []byte(`{"id":"aaa"}`)},
		{name: "aaa/layer.tar", body: layer},
		{name: "bbb/", typ: tar.TypeDir},
		{name: "bbb/layer.tar", typ: tar.TypeSymlink, linkname: "../aaa/layer.tar"},
		{name: cfgHex + ".json", body: cfg},
		{name: "manifest.json", body: manifest},
		{name: "repositories", body: []byte(`{"hand/built":{"1":"bbb"}}`)},
	}
	return buildTar(t, append(entries, extra...))
}

func TestLoadHandBuilt(t *testing.T) {
	ctx := context.Background()
	archive := legacyArchive(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(archive)
	_ = zw.Close()
	for name, b := range map[string][]byte{"plain": archive, "gzip-compressed": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			s := newService(t)
			loaded, err := s.Load(ctx, bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != 1 || loaded[0].Name != "docker.io/hand/built:1" {
				t.Fatalf("loaded %+v", loaded)
			}
			validate(t, s)
			d, err := s.Inspect(ctx, "hand/built:1")
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Manifest.Layers) != 2 || d.Manifest.Layers[0].Digest != d.Manifest.Layers[1].Digest ||
				d.Manifest.Layers[0].MediaType != ocispec.MediaTypeImageLayer {
				t.Fatalf("manifest layers %+v", d.Manifest.Layers)
			}
		})
	}
}

// TestLoadRefuses feeds Load unsafe or inconsistent archives: each is
// refused, nothing is tagged and nothing is written outside the store.
func TestLoadRefuses(t *testing.T) {
	ctx := context.Background()
	good := []byte("content")
	other := digest.FromString("something else")
	badLayer := layerTar(t, "hello.txt", "tampered")
	tests := []struct {
		name    string
		archive func(t *testing.T) []byte
		want    error
	}{
		{"absolute path", func(t *testing.T) []byte { return legacyArchive(t, entry{name: "/tmp/evil", body: good}) }, image.ErrInvalidArchive},
		{"dot-dot", func(t *testing.T) []byte { return legacyArchive(t, entry{name: "../evil", body: good}) }, image.ErrInvalidArchive},
		{"dot-dot inside", func(t *testing.T) []byte { return legacyArchive(t, entry{name: "blobs/../../evil", body: good}) }, image.ErrInvalidArchive},
		{"symlink to an absolute path", func(t *testing.T) []byte {
			return legacyArchive(t, entry{name: "evil", typ: tar.TypeSymlink, linkname: "/etc/passwd"})
		}, image.ErrInvalidArchive},
		{"symlink out of the archive", func(t *testing.T) []byte {
			return legacyArchive(t, entry{name: "a/evil", typ: tar.TypeSymlink, linkname: "../../etc/passwd"})
		}, image.ErrInvalidArchive},
		{"hard link out of the archive", func(t *testing.T) []byte {
			return legacyArchive(t, entry{name: "evil", typ: tar.TypeLink, linkname: "../outside"})
		}, image.ErrInvalidArchive},
		{"device node", func(t *testing.T) []byte {
			return legacyArchive(t, entry{name: "dev", typ: tar.TypeChar})
		}, image.ErrInvalidArchive},
		{"blob that is not its digest", func(t *testing.T) []byte {
			return buildTar(t, []entry{{name: "blobs/sha256/" + other.Encoded(), body: good}})
		}, image.ErrDigestMismatch},
		{"layer that is not its diff ID", func(t *testing.T) []byte {
			b := legacyArchive(t)
			return bytes.Replace(b, layerTar(t, "hello.txt", "hello"), badLayer, 1)
		}, image.ErrDigestMismatch},
		{"manifest.json naming a missing layer", func(t *testing.T) []byte {
			b := legacyArchive(t)
			return bytes.Replace(b, []byte(`"bbb/layer.tar"`), []byte(`"ccc/layer.tar"`), 1)
		}, image.ErrInvalidArchive},
		{"index.json naming a missing manifest", func(t *testing.T) []byte {
			idx, _ := json.Marshal(ocispec.Index{Manifests: []ocispec.Descriptor{{
				MediaType: ocispec.MediaTypeImageManifest, Digest: other, Size: 10,
				Annotations: map[string]string{"io.containerd.image.name": "x/y:1"},
			}}})
			return buildTar(t, []entry{{name: "oci-layout", body: []byte(`{"imageLayoutVersion":"1.0.0"}`)}, {name: "index.json", body: idx}})
		}, image.ErrInvalidArchive},
		{"no metadata", func(t *testing.T) []byte { return buildTar(t, []entry{{name: "x", body: good}}) }, image.ErrInvalidArchive},
		{"not a tar", func(t *testing.T) []byte { return []byte("hello, this is not a tar archive at all") }, image.ErrInvalidArchive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			s := newServiceAt(t, filepath.Join(root, "store", "content"))
			_, err := s.Load(ctx, bytes.NewReader(tt.archive(t)))
			t.Log(err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Load = %v, want %v", err, tt.want)
			}
			if list, _ := s.List(ctx); len(list) != 0 {
				t.Fatalf("a refused archive tagged %+v", list)
			}
			_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
				if err == nil && (fi.Name() == "evil" || fi.Name() == "outside" || fi.Name() == "dev") {
					t.Errorf("wrote %s", p)
				}
				return nil
			})
			validate(t, s)
		})
	}
}
