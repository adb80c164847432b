package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/image"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func commitLayer(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("hello")
	for _, h := range []*tar.Header{
		{Name: "srv/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "srv/new.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))},
		{Name: "etc/.wh.group", Typeflag: tar.TypeReg, Mode: 0o644},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCommit(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	pushImage(t, reg, "team/base:v1", 1024, 2)
	s := newService(t)
	baseRef := reg.host + "/team/base:v1"
	if _, err := s.Pull(ctx, newClient(t, reg), baseRef); err != nil {
		t.Fatal(err)
	}
	base, err := s.Inspect(ctx, baseRef)
	if err != nil {
		t.Fatal(err)
	}
	layer := commitLayer(t)
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := s.Commit(ctx, baseRef, bytes.NewReader(layer), image.CommitOptions{
		Message: "msg", Author: "jane", Cmd: []string{"/bin/app", "-v"}, Ref: "team/new:v2", Created: created,
	})
	if err != nil {
		t.Fatal(err)
	}
	validate(t, s)
	if want := digest.FromBytes(layer); res.DiffID != want {
		t.Errorf("diff ID %s, want %s", res.DiffID, want)
	}
	got, err := s.Inspect(ctx, "team/new:v2")
	if err != nil {
		t.Fatal(err)
	}
	if got.ManifestDescriptor.Digest != res.Manifest.Digest || got.ManifestDescriptor.MediaType != base.ManifestDescriptor.MediaType {
		t.Errorf("manifest %+v, want %+v with the base's media type", got.ManifestDescriptor, res.Manifest)
	}
	if n := len(got.Manifest.Layers); n != len(base.Manifest.Layers)+1 || got.Manifest.Layers[n-1].Digest != res.Layer.Digest ||
		!slices.EqualFunc(got.Manifest.Layers[:n-1], base.Manifest.Layers, func(a, b ocispec.Descriptor) bool { return a.Digest == b.Digest }) {
		t.Errorf("layers %+v: want the base's plus %s", got.Manifest.Layers, res.Layer.Digest)
	}
	cfg := got.Config
	if !slices.Equal(cfg.RootFS.DiffIDs, append(slices.Clone(base.Config.RootFS.DiffIDs), res.DiffID)) {
		t.Errorf("diff IDs %v", cfg.RootFS.DiffIDs)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"/bin/app", "-v"}) || cfg.Author != "jane" || !cfg.Created.Equal(created) {
		t.Errorf("config: cmd %q author %q created %v", cfg.Config.Cmd, cfg.Author, cfg.Created)
	}
	h := cfg.History[len(cfg.History)-1]
	if h.CreatedBy != "ctl commit" || h.Comment != "msg" || h.Author != "jane" || !h.Created.Equal(created) {
		t.Errorf("history entry %+v", h)
	}
	// The stored layer is the gzipped tar.
	r, err := s.Store().Open(ctx, res.Layer.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(zr); err != nil || !bytes.Equal(b, layer) {
		t.Errorf("layer blob does not decompress to the tar (err %v)", err)
	}

	// On top of a commit, by ID: the base's Cmd is kept.
	res2, err := s.Commit(ctx, res.ID.String(), bytes.NewReader(layer), image.CommitOptions{Ref: "team/new:v3"})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := s.Inspect(ctx, res2.ID.Encoded()[:12])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d2.Names, []string{"docker.io/team/new:v3"}) || !slices.Equal(d2.Config.Config.Cmd, cfg.Config.Cmd) || len(d2.Config.RootFS.DiffIDs) != len(cfg.RootFS.DiffIDs)+1 {
		t.Errorf("second commit: names %v cmd %q diff IDs %v", d2.Names, d2.Config.Config.Cmd, d2.Config.RootFS.DiffIDs)
	}
	validate(t, s)

	if _, err := s.Commit(ctx, "nope:v1", bytes.NewReader(layer), image.CommitOptions{}); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("unknown base: %v, want ErrNotFound", err)
	}
}
