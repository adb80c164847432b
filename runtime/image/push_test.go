package image_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/berthhq/berth/runtime/image"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrvalidate "github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fetchWithGGCR reads ref back with go-containerregistry and validates it
// whole (every blob's digest and size).
func fetchWithGGCR(t *testing.T, ref string) digest.Digest {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	if desc.MediaType.IsIndex() {
		idx, _ := desc.ImageIndex()
		if err := ggcrvalidate.Index(idx); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
	} else {
		img, _ := desc.Image()
		if err := ggcrvalidate.Image(img); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
	}
	return digest.Digest(desc.Digest.String())
}

func TestPush(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img := pushImage(t, reg, "team/app:v1", 32<<10, 3)
	want := digestOf(t, img)
	layers := layerDigests(t, img)
	s := newService(t)
	c := newClient(t, reg)
	if _, err := s.Pull(ctx, c, reg.host+"/team/app:v1"); err != nil {
		t.Fatal(err)
	}

	t.Run("to another repository of the same registry: mounted", func(t *testing.T) {
		dst := reg.host + "/other/app:v2"
		if err := s.Tag(ctx, reg.host+"/team/app:v1", dst); err != nil {
			t.Fatal(err)
		}
		reg.rec.reset()
		ev := &events{}
		res, err := s.Push(ctx, c, dst, image.WithProgress(ev.add))
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != want {
			t.Fatalf("pushed %s, want %s", res.Digest, want)
		}
		if got := fetchWithGGCR(t, dst); got != want {
			t.Fatalf("registry has %s", got)
		}
		// config + layers mounted, nothing uploaded
		if n := reg.rec.count("POST", "mount="); n != len(layers)+1 {
			t.Errorf("%d mount requests, want %d", n, len(layers)+1)
		}
		if n := reg.rec.count("PATCH", "/blobs/uploads/") + reg.rec.count("PUT", "/blobs/uploads/"); n != 0 {
			t.Errorf("%d upload requests, want none", n)
		}
		for _, l := range layers {
			if got := ev.statuses(l); got[len(got)-1] != "Mounted from" {
				t.Errorf("layer %s: %v", l, got)
			}
		}
	})
	t.Run("again: every layer already there", func(t *testing.T) {
		reg.rec.reset()
		ev := &events{}
		if _, err := s.Push(ctx, c, reg.host+"/other/app:v2", image.WithProgress(ev.add)); err != nil {
			t.Fatal(err)
		}
		if n := reg.rec.count("POST", "/blobs/uploads/"); n != 0 {
			t.Errorf("%d POSTs to uploads, want none", n)
		}
		for _, l := range layers {
			if got := ev.statuses(l); !slices.Contains(got, "Layer already exists") {
				t.Errorf("layer %s: %v", l, got)
			}
		}
	})

	tests := []struct {
		name    string
		opts    []image.Option
		patches bool // chunked uploads expected
	}{
		{"to another registry: uploaded whole", nil, false},
		{"to another registry: uploaded in chunks", []image.Option{image.WithChunking(1024, 4096)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg2 := newRegistry(t)
			dst := reg2.host + "/team/app:v1"
			if err := s.Tag(ctx, reg.host+"/team/app:v1", dst); err != nil {
				t.Fatal(err)
			}
			ev := &events{}
			res, err := s.Push(ctx, newClient(t, reg2), dst, append(tt.opts, image.WithProgress(ev.add))...)
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != want || fetchWithGGCR(t, dst) != want {
				t.Fatalf("pushed %s, want %s", res.Digest, want)
			}
			if n := reg2.rec.count("POST", "mount="); n != 0 {
				t.Errorf("%d mounts on a registry the blobs never came from", n)
			}
			if patches := reg2.rec.count("PATCH", "/blobs/uploads/"); (patches > 0) != tt.patches {
				t.Errorf("%d PATCH requests", patches)
			}
			for _, l := range layers {
				got := ev.statuses(l)
				if got[0] != "Preparing" || !slices.Contains(got, "Pushing") || got[len(got)-1] != "Pushed" {
					t.Errorf("layer %s: %v", l, got)
				}
			}
		})
	}
	t.Run("unknown image", func(t *testing.T) {
		if _, err := s.Push(ctx, c, reg.host+"/nope:1"); !errors.Is(err, image.ErrNotFound) {
			t.Fatalf("Push = %v, want ErrNotFound", err)
		}
	})
}

func TestPushIndex(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	idx, _ := pushIndex(t, reg, "team/multi:1",
		v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	want := digestOf(t, idx)
	c := newClient(t, reg)

	t.Run("whole index", func(t *testing.T) {
		s := newService(t)
		if _, err := s.Pull(ctx, c, reg.host+"/team/multi:1", image.WithAllPlatforms()); err != nil {
			t.Fatal(err)
		}
		reg2 := newRegistry(t)
		dst := reg2.host + "/copy/multi:1"
		if err := s.Tag(ctx, reg.host+"/team/multi:1", dst); err != nil {
			t.Fatal(err)
		}
		res, err := s.Push(ctx, newClient(t, reg2), dst)
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != want || fetchWithGGCR(t, dst) != want {
			t.Fatalf("pushed %s, want the index %s", res.Digest, want)
		}
	})
	t.Run("one platform pulled: that manifest is pushed", func(t *testing.T) {
		s := newService(t)
		res, err := s.Pull(ctx, c, reg.host+"/team/multi:1", image.WithPlatform(ocispec.Platform{OS: "linux", Architecture: "arm64"}))
		if err != nil {
			t.Fatal(err)
		}
		pushed, err := s.Push(ctx, c, reg.host+"/team/multi:1")
		if err != nil {
			t.Fatal(err)
		}
		if pushed.Digest != res.Image.Digest {
			t.Fatalf("pushed %s, want the platform manifest %s", pushed.Digest, res.Image.Digest)
		}
	})
}
