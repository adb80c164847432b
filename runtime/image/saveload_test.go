package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berthhq/berth/runtime/image"
	legacy "github.com/google/go-containerregistry/pkg/legacy/tarball"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	ggcrvalidate "github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// untar extracts the plain files of an archive into a new directory.
func untar(t *testing.T, b []byte) string {
	t.Helper()
	dir := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			_ = os.MkdirAll(p, 0o755)
			continue
		}
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img := pushImage(t, reg, "team/app:v1", 16<<10, 2)
	idx, _ := pushIndex(t, reg, "team/multi:1", v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	c := newClient(t, reg)
	s1 := newService(t)
	for _, ref := range []string{"team/app:v1", "team/multi:1"} {
		if _, err := s1.Pull(ctx, c, reg.host+"/"+ref, image.WithAllPlatforms()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s1.Tag(ctx, reg.host+"/team/app:v1", "busybox:mine"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s1.Save(ctx, &buf, reg.host+"/team/app:v1", "busybox:mine", reg.host+"/team/multi:1"); err != nil {
		t.Fatal(err)
	}
	archive := buf.Bytes()

	t.Run("an OCI layout", func(t *testing.T) {
		dir := untar(t, archive)
		ii, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := ggcrvalidate.Index(ii); err != nil {
			t.Fatal(err)
		}
		m, _ := ii.IndexManifest()
		var names []string
		for _, d := range m.Manifests {
			names = append(names, d.Annotations["io.containerd.image.name"])
			if d.Annotations["io.containerd.image.name"] == reg.host+"/team/multi:1" && d.Digest.String() != digestOf(t, idx).String() {
				t.Errorf("index saved as %s", d.Digest)
			}
		}
		slices.Sort(names)
		want := []string{reg.host + "/team/app:v1", reg.host + "/team/multi:1", "docker.io/library/busybox:mine"}
		if !slices.Equal(names, want) {
			t.Errorf("index.json names %v, want %v", names, want)
		}
	})
	t.Run("a docker load tarball", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a.tar")
		if err := os.WriteFile(p, archive, 0o644); err != nil {
			t.Fatal(err)
		}
		tag, _ := name.NewTag("busybox:mine")
		got, err := tarball.ImageFromPath(p, &tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := ggcrvalidate.Image(got); err != nil {
			t.Fatal(err)
		}
		gotCfg, _ := got.ConfigName()
		wantCfg, _ := img.ConfigName()
		if gotCfg != wantCfg {
			t.Errorf("config %s, want %s", gotCfg, wantCfg)
		}
		repos, _ := os.ReadFile(filepath.Join(untar(t, archive), "repositories"))
		var r map[string]map[string]string
		if err := json.Unmarshal(repos, &r); err != nil || r["busybox"]["mine"] == "" {
			t.Errorf("repositories = %s", repos)
		}
	})
	t.Run("load keeps names and digests", func(t *testing.T) {
		s2 := newService(t)
		loaded, err := s2.Load(ctx, bytes.NewReader(archive))
		if err != nil {
			t.Fatal(err)
		}
		if len(loaded) != 3 {
			t.Fatalf("loaded %+v", loaded)
		}
		validate(t, s2)
		want, _ := s1.List(ctx)
		got, _ := s2.List(ctx)
		if !slices.Equal(want, got) {
			t.Fatalf("after load:\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("unknown image", func(t *testing.T) {
		if err := s1.Save(ctx, io.Discard, "nope:1"); !errors.Is(err, image.ErrNotFound) {
			t.Fatalf("Save = %v, want ErrNotFound", err)
		}
	})
}

// TestLoadDockerFormats loads archives in docker's formats written by
// other tools than ours.
func TestLoadDockerFormats(t *testing.T) {
	ctx := context.Background()
	img, err := random.Image(8<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("example.com/team/app:v1")
	cfgName, _ := img.ConfigName()
	tests := []struct {
		name  string
		write func(w io.Writer) error
		// sameLayers: the archive keeps the compressed layers, so the
		// loaded manifest lists the same layer digests.
		sameLayers bool
	}{
		{"docker save before 25 (<id>/layer.tar)", func(w io.Writer) error { return legacy.Write(tag, img, w) }, false},
		{"docker load tarball (manifest.json, .tar.gz layers)", func(w io.Writer) error { return tarball.Write(tag, img, w) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.write(&buf); err != nil {
				t.Fatal(err)
			}
			s := newService(t)
			loaded, err := s.Load(ctx, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != 1 || loaded[0].Name != tag.String() {
				t.Fatalf("loaded %+v", loaded)
			}
			validate(t, s)
			d, err := s.Inspect(ctx, tag.String())
			if err != nil {
				t.Fatal(err)
			}
			if d.ID.String() != cfgName.String() {
				t.Errorf("config %s, want %s", d.ID, cfgName)
			}
			if tt.sameLayers && !slices.Equal(layerOf(d.Manifest.Layers), layerDigests(t, img)) {
				t.Errorf("layers %v, want %v", layerOf(d.Manifest.Layers), layerDigests(t, img))
			}
		})
	}
}

func layerOf(ds []ocispec.Descriptor) []digest.Digest {
	var out []digest.Digest
	for _, d := range ds {
		out = append(out, d.Digest)
	}
	return out
}
