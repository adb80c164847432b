package image_test

import (
	"context"
	"errors"
	"testing"

	"github.com/berthhq/berth/runtime/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
)

func TestImages(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img := pushImage(t, reg, "team/app:v1", 16<<10, 2)
	s := newService(t)
	c := newClient(t, reg)
	src := reg.host + "/team/app:v1"
	if _, err := s.Pull(ctx, c, src); err != nil {
		t.Fatal(err)
	}
	cfgName, _ := img.ConfigName()
	id := digest.Digest(cfgName.String())
	wantSize := func() int64 {
		m, _ := img.Manifest()
		raw, _ := img.RawManifest()
		n := m.Config.Size + int64(len(raw))
		for _, l := range m.Layers {
			n += l.Size
		}
		return n
	}()

	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	got := list[0]
	cfg, _ := img.ConfigFile()
	if got.Name != src || got.Repository != reg.host+"/team/app" || got.Tag != "v1" || got.ID != id ||
		got.Digest != digestOf(t, img) || got.Size != wantSize || !got.Created.Equal(cfg.Created.Time) {
		t.Fatalf("List = %+v; want id %s, size %d, created %v", got, id, wantSize, cfg.Created)
	}

	if err := s.Tag(ctx, id.Encoded()[:12], "busybox:mine"); err != nil { // by ID prefix
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "busybox:mine", "docker.io/library/busybox:copy"); err != nil { // by short name
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "busybox:mine", "busybox@"+id.String()); err == nil {
		t.Error("tagged with a digest reference")
	}
	list, _ = s.List(ctx)
	if len(list) != 3 || list[1].Name != "docker.io/library/busybox:copy" || list[2].Name != "docker.io/library/busybox:mine" {
		t.Fatalf("List = %+v", list)
	}

	d, err := s.Inspect(ctx, "busybox:mine")
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != id || len(d.Names) != 3 || d.Manifest.Config.Digest != id || len(d.Manifest.Layers) != 2 ||
		d.Config.OS != cfg.OS || len(d.RawConfig) == 0 {
		t.Fatalf("Inspect = %+v", d)
	}

	tests := []struct {
		name    string
		ref     string
		force   bool
		want    int // names removed
		wantErr error
	}{
		{"unknown", "nope:1", false, 0, image.ErrNotFound},
		{"ID of an image with several names", id.Encoded()[:12], false, 0, image.ErrConflict},
		{"one name", "busybox:copy", false, 1, nil},
		{"the same name again", "busybox:copy", false, 0, image.ErrNotFound},
		{"ID, forced", "sha256:" + id.Encoded()[:8], true, 2, nil},
	}
	for _, tt := range tests {
		t.Run("remove "+tt.name, func(t *testing.T) {
			removed, err := s.Remove(ctx, tt.ref, tt.force)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Remove = %v, want %v", err, tt.wantErr)
			}
			if len(removed) != tt.want {
				t.Errorf("removed %v, want %d names", removed, tt.want)
			}
		})
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Fatalf("left %+v", list)
	}
	freed, err := s.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if freed.Bytes != wantSize || len(freed.Blobs) != 4 {
		t.Fatalf("Prune freed %d bytes in %d blobs, want %d in 4", freed.Bytes, len(freed.Blobs), wantSize)
	}
	validate(t, s)
}

func TestListIndex(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	host := image.HostPlatform()
	idx, imgs := pushIndex(t, reg, "team/multi:1",
		v1.Platform{OS: host.OS, Architecture: host.Architecture, Variant: host.Variant}, v1.Platform{OS: "linux", Architecture: "s390x"})
	s := newService(t)
	if _, err := s.Pull(ctx, newClient(t, reg), reg.host+"/team/multi:1", image.WithAllPlatforms()); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if list[0].ID != digestOf(t, idx) {
		t.Errorf("ID = %s, want the index digest", list[0].ID)
	}
	d, err := s.Inspect(ctx, reg.host+"/team/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	hostImg := imgs[v1.Platform{OS: host.OS, Architecture: host.Architecture, Variant: host.Variant}.String()]
	if d.Index == nil || len(d.Index.Manifests) != 2 || d.ManifestDescriptor.Digest != digestOf(t, hostImg) {
		t.Fatalf("Inspect = index %v, manifest %s", d.Index, d.ManifestDescriptor.Digest)
	}
}
